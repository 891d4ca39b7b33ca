/**
 * The sentence encoder (docs/embeddings.md): a GLM backbone whose final hidden states are pooled into
 * one vector per text — the mean over the text's tokens, or the last token's state — optionally
 * L2-normalised. With `bidirectional`, every token sees the whole text: the text is the prefix of
 * GLM's prefix-bidirectional mask (prefixLen = the text's length), so no token is causal.
 * Rows are right-padded; padding never enters the pooled vector.
 */
import { DataError } from '../errors.js';
import * as F from '../tensor/ops/index.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

export type PoolingMode = 'mean' | 'lasttoken';

export interface EncoderConfig {
  pooling: PoolingMode;
  /** L2-normalise the pooled vector */
  normalize: boolean;
  /** the whole input is one bidirectional prefix (no causal mask) */
  bidirectional: boolean;
  /** texts are cut to this many tokens */
  maxSeqLength: number;
}

export const DEFAULT_ENCODER_CONFIG: EncoderConfig = { pooling: 'mean', normalize: true, bidirectional: false, maxSeqLength: 256 };

/** A right-padded batch of token rows. */
export interface IdBatch {
  ids: Tensor;
  attentionMask: Int32Array;
  lengths: Int32Array;
}

/** Pads rows (each non-empty) on the right with `padId`. */
export function padRows(rows: readonly (readonly number[])[], padId: number): IdBatch {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(B * T).fill(padId), mask = new Int32Array(B * T), lengths = new Int32Array(B);
  rows.forEach((r, b) => {
    if (r.length === 0) throw new DataError(`encoder: row ${b} has no tokens; an empty text has no embedding`);
    for (let t = 0; t < r.length; t++) {
      ids[b * T + t] = r[t];
      mask[b * T + t] = 1;
    }
    lengths[b] = r.length;
  });
  return { ids: new Tensor(ids, [B, T]), attentionMask: mask, lengths };
}

/**
 * Pools hidden states [B, T, H] into [B, H] (differentiable): mean over the tokens whose mask is 1,
 * or the state of each row's last token.
 */
export function pool(hidden: Tensor, batch: IdBatch, mode: PoolingMode): Tensor {
  const [B, T, H] = hidden.shape;
  if (mode === 'lasttoken') {
    const last = Int32Array.from(batch.lengths, (l, b) => b * T + l - 1);
    return F.indexSelect(F.reshape(hidden, [B * T, H]), 0, new Tensor(last, [B]));
  }
  const m = new Float32Array(B * T);
  for (let i = 0; i < B * T; i++) m[i] = batch.attentionMask[i];
  const summed = F.sum(F.mul(hidden, new Tensor(m, [B, T, 1])), 1); // [B, H]
  const inv = Float32Array.from(batch.lengths, (l) => 1 / l);
  return F.mul(summed, new Tensor(inv, [B, 1]));
}

/** Row-wise L2 normalisation of [B, H] (differentiable). */
export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  const n = F.sqrt(F.add(F.sum(F.square(x), 1, true), eps));
  return F.div(x, n);
}

/**
 * What SEQA and evaluation need of a sentence encoder: vectors of texts. Two implementations: the
 * local `SentenceEncoder` (an encoder folder run in this process) and `HttpSentenceEncoder`
 * (src/embed/http-encoder.ts, an OpenAI-compatible /v1/embeddings endpoint).
 */
export interface SentenceEmbedder {
  /** what the vectors come from (a folder, a URL and model), for logs and summaries */
  readonly source: string;
  /** One vector per text, in order. */
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
}

export class SentenceEncoder implements SentenceEmbedder {
  constructor(
    readonly lm: GlmForCausalLM,
    readonly tokenizer: Tokenizer,
    readonly config: EncoderConfig,
    readonly padId: number,
    readonly source = 'local encoder',
  ) {}

  get dimension(): number {
    return this.lm.config.hiddenSize;
  }

  /** Token ids of a text, cut to maxSeqLength. */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text).slice(0, this.config.maxSeqLength);
  }

  /** Pooled (and normalised, when configured) vectors [B, H] of token rows, with the autograd graph. */
  forwardIds(rows: readonly (readonly number[])[]): Tensor {
    const batch = padRows(rows.map((r) => r.slice(0, this.config.maxSeqLength)), this.padId);
    const { hidden } = this.lm.model.forward(batch.ids, { attentionMask: batch.attentionMask, prefixLen: this.config.bidirectional ? batch.lengths : null });
    const pooled = pool(hidden, batch, this.config.pooling);
    return this.config.normalize ? l2Normalize(pooled) : pooled;
  }

  /** Vectors of token rows (no graph), in batches. */
  embedIds(rows: readonly (readonly number[])[], batchSize = 32): Float32Array[] {
    const out: Float32Array[] = [];
    const H = this.dimension;
    noGrad(() => {
      for (let i = 0; i < rows.length; i += batchSize) {
        const v = this.forwardIds(rows.slice(i, i + batchSize));
        const d = v.data as Float32Array;
        for (let b = 0; b < v.shape[0]; b++) out.push(Float32Array.from(d.subarray(b * H, (b + 1) * H)));
      }
    });
    return out;
  }

  /** SentenceEmbedder: embed() (batches of 32, as the /v1/embeddings route computes them). */
  async embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    return this.embed(texts);
  }

  /** Vectors of texts (no graph). */
  embed(texts: readonly string[], batchSize = 32): Float32Array[] {
    return this.embedIds(texts.map((t, i) => {
      const ids = this.tokenize(t);
      if (ids.length === 0) throw new DataError(`encoder: text ${i} is empty; an empty text has no embedding`);
      return ids;
    }), batchSize);
  }
}

/** Cosine similarity of two vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb || 1);
}
