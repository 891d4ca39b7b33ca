/**
 * The reader (docs/reading.md): a GLM backbone used as an encoder — the whole input is the prefix of
 * GLM's prefix-bidirectional mask, as the sentence encoder (src/embed/encoder.ts) does — with heads:
 *   - hierarchical sentence attention: token attention inside each sentence, keyed by a query vector
 *     (`tokenAttn`), gives one vector per sentence; query-to-sentence attention (`sentAttn`) gives a
 *     distribution over sentences — the soft evidence of multiple choice, the retrieval of REPT;
 *   - multiple choice: one score per `question + option` row, from the pooled query vector and the
 *     sentence-attention summary of the passage (`mcHidden`, `mcOut`);
 *   - masked spans: a token's state concatenated with the summary retrieved for its query sentence
 *     (`spanProj`), read out by the backbone's LM head;
 *   - Surrounding Sentences Prediction pointers (`prevPtr`, `nextPtr`), bilinear over sentence vectors.
 * Input rows are the passage's sentences, tokenized one by one (so spans are exact), then the query.
 */
import { DataError } from '../../errors.js';
import { Linear } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { Rng } from '../../util/rng.js';
import type { GlmForCausalLM } from '../glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';

/** The reader's heads, saved under `reader.` next to the backbone's HF names. */
export class ReaderHeads extends Module {
  readonly tokenAttn: Linear;
  readonly sentAttn: Linear;
  readonly mcHidden: Linear;
  readonly mcOut: Linear;
  readonly spanProj: Linear;
  readonly prevPtr: Linear;
  readonly nextPtr: Linear;

  constructor(readonly hidden: number, seed = 0) {
    super();
    const init = { rng: new Rng(seed + 7919), std: 0.02 };
    this.tokenAttn = this.child('tokenAttn', new Linear(hidden, hidden, false, init));
    this.sentAttn = this.child('sentAttn', new Linear(hidden, hidden, false, init));
    this.mcHidden = this.child('mcHidden', new Linear(2 * hidden, hidden, true, init));
    this.mcOut = this.child('mcOut', new Linear(hidden, 1, true, init));
    this.spanProj = this.child('spanProj', new Linear(2 * hidden, hidden, true, init));
    this.prevPtr = this.child('prevPtr', new Linear(hidden, hidden, false, init));
    this.nextPtr = this.child('nextPtr', new Linear(hidden, hidden, false, init));
  }
}

/** A tokenized passage: token ids and each sentence's [start, end) span. */
export interface TokenizedPassage {
  ids: number[];
  spans: [number, number][];
}

/** Tokenizes sentences one by one (a space before every sentence but the first). */
export function tokenizeSentences(tok: Tokenizer, sentences: readonly string[]): TokenizedPassage {
  const ids: number[] = [];
  const spans: [number, number][] = [];
  sentences.forEach((s, i) => {
    const t = tok.encode(i === 0 ? s : ` ${s}`);
    if (t.length === 0) throw new DataError(`reader: sentence ${i} has no tokens`);
    spans.push([ids.length, ids.length + t.length]);
    ids.push(...t);
  });
  return { ids, spans };
}

/** Output of sentence attention. */
export interface SentenceAttention {
  /** [B, Q, S, H]: each sentence's vector as attended by each query */
  vectors: Tensor;
  /** [B, Q, S]: query-to-sentence attention logits */
  logits: Tensor;
}

/** Additive mask [S, T]: 0 on each sentence's tokens, -1e9 elsewhere. */
function spanMask(spans: readonly [number, number][], T: number): Tensor {
  const m = new Float32Array(spans.length * T).fill(-1e9);
  spans.forEach(([a, b], s) => m.fill(0, s * T + a, s * T + b));
  return new Tensor(m, [spans.length, T]);
}

/** Mean of hidden [B, T, H] over [start, end) per row -> [B, 1, H]. */
export function spanMean(hidden: Tensor, ranges: readonly [number, number][]): Tensor {
  const [B, T] = hidden.shape;
  const w = new Float32Array(B * T);
  ranges.forEach(([a, b], r) => w.fill(1 / (b - a), r * T + a, r * T + b));
  return F.sum(F.mul(hidden, new Tensor(w, [B, T, 1])), 1, true);
}

export class Reader {
  readonly heads: ReaderHeads;
  readonly padId: number;

  constructor(readonly lm: GlmForCausalLM, readonly tokenizer: Tokenizer, heads?: ReaderHeads, seed = 0) {
    this.heads = heads ?? new ReaderHeads(lm.config.hiddenSize, seed);
    const eos = lm.config.eosTokenId;
    this.padId = lm.config.padTokenId ?? (Array.isArray(eos) ? eos[0] : eos) ?? 0;
  }

  parameters(): Tensor[] {
    return [...this.lm.parameters(), ...this.heads.parameters()];
  }

  zeroGrad(): void {
    this.lm.zeroGrad();
    this.heads.zeroGrad();
  }

  /** Bidirectional hidden states [B, T, H] of right-padded rows. */
  encode(rows: readonly number[][]): Tensor {
    const B = rows.length, T = Math.max(...rows.map((r) => r.length));
    if (T > this.lm.config.maxPositionEmbeddings) throw new DataError(`reader: an input of ${T} tokens exceeds max_position_embeddings ${this.lm.config.maxPositionEmbeddings}; shorten the passage`);
    const ids = new Int32Array(B * T).fill(this.padId), mask = new Int32Array(B * T), lengths = new Int32Array(B);
    rows.forEach((r, b) => {
      r.forEach((t, i) => { ids[b * T + i] = t; mask[b * T + i] = 1; });
      lengths[b] = r.length;
    });
    return this.lm.model.forward(new Tensor(ids, [B, T]), { attentionMask: mask, prefixLen: lengths }).hidden;
  }

  /** Sentence attention of queries [B, Q, H] over the sentences `spans` (shared by the rows). */
  attend(hidden: Tensor, queries: Tensor, spans: readonly [number, number][]): SentenceAttention {
    const [B, T, H] = hidden.shape;
    const Q = queries.shape[1], S = spans.length;
    const scale = 1 / Math.sqrt(H);
    const keys = this.heads.tokenAttn.forward(hidden);
    const tok = F.scale(F.matmul(queries, keys, { transB: true }), scale); // [B, Q, T]
    const att = F.softmax(F.add(F.reshape(tok, [B, Q, 1, T]), spanMask(spans, T)), -1); // [B, Q, S, T]
    const vectors = F.reshape(F.matmul(F.reshape(att, [B, Q * S, T]), hidden), [B, Q, S, H]);
    const logits = F.scale(F.sum(F.mul(this.heads.sentAttn.forward(vectors), F.reshape(queries, [B, Q, 1, H])), -1), scale);
    return { vectors, logits };
  }

  /** Attention-weighted summary [B, Q, H] of sentence vectors under logits [B, Q, S]. */
  summary(att: SentenceAttention): Tensor {
    const [B, Q, S, H] = att.vectors.shape;
    const p = F.reshape(F.softmax(att.logits, -1), [B * Q, 1, S]);
    return F.reshape(F.matmul(p, F.reshape(att.vectors, [B * Q, S, H])), [B, Q, H]);
  }

  /**
   * Multiple choice over one passage: returns option logits [1, nOptions] and each option row's
   * evidence log-distribution over the sentences [nOptions, S].
   */
  choose(passage: TokenizedPassage, question: string, options: readonly string[]): { logits: Tensor; evidenceLogp: Tensor } {
    const rows: number[][] = [], ranges: [number, number][] = [];
    for (const o of options) {
      const q = this.tokenizer.encode(`\n${question} ${o}`);
      rows.push([...passage.ids, ...q]);
      ranges.push([passage.ids.length, passage.ids.length + q.length]);
    }
    const hidden = this.encode(rows);
    const B = options.length, H = hidden.shape[2];
    const q = spanMean(hidden, ranges); // [B, 1, H]
    const att = this.attend(hidden, q, passage.spans);
    const sum = this.summary(att); // [B, 1, H]
    const h = F.tanh(this.heads.mcHidden.forward(F.concat([F.reshape(q, [B, H]), F.reshape(sum, [B, H])], -1)));
    const logits = F.reshape(this.heads.mcOut.forward(h), [1, B]);
    return { logits, evidenceLogp: F.logSoftmax(F.reshape(att.logits, [B, passage.spans.length]), -1) };
  }
}
