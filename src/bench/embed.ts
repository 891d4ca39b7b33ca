/**
 * `glmkit bench embed --preset tiny`: sentence embeddings/s of the encoder (bidirectional mean
 * pooling, normalised; batch 32 of 32-token texts) against the same model's plain forward (hidden
 * states only, causal) on the same ids, so the pooling's cost is the difference.
 */
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { noGrad } from '../tensor/autograd.js';
import { getBackend } from '../tensor/backend/index.js';
import { nativeInfo, setNativeThreads } from '../tensor/backend/native.js';
import { Tensor } from '../tensor/tensor.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { Rng } from '../util/rng.js';
import { SentenceEncoder } from '../embed/encoder.js';
import { medianSeconds } from './timing.js';

export interface BenchEmbedOptions {
  threads?: number;
  json: boolean;
  quick: boolean;
  preset?: string;
  batch?: number;
  seqLen?: number;
}

export async function benchEmbed(opts: BenchEmbedOptions, print: (line: string) => void): Promise<{ embeddingsPerS: number }> {
  if (opts.threads) setNativeThreads(opts.threads);
  const preset = opts.preset ?? 'tiny';
  const cfg = { ...loadPreset(preset), padTokenId: null, eosTokenId: null, bosTokenId: null };
  const B = opts.batch ?? 32, T = opts.seqLen ?? 32;
  const reps = opts.quick ? 2 : 10;
  const lm = new GlmForCausalLM(cfg, { seed: 0 });
  // the tokenizer is not used on token rows; the encoder only needs one to exist
  const enc = new SentenceEncoder(lm, trainBpeFromTexts(['a b'], { vocabSize: 300 }), { pooling: 'mean', normalize: true, bidirectional: true, maxSeqLength: T }, 0);
  const rng = new Rng(0);
  const rows = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(cfg.vocabSize)));
  const ids = Tensor.ids(rows.flat(), [B, T]);
  const embedS = medianSeconds(() => void enc.embedIds(rows, B), reps);
  const forwardS = medianSeconds(() => void noGrad(() => lm.model.forward(ids)), reps);
  const threads = nativeInfo()?.threads ?? 1;
  const result = {
    bench: 'embed', preset, params: lm.numParameters(), batch: B, seq_len: T, threads, backend: getBackend().describe(),
    embeddings_per_s: Math.round(B / embedS), embed_tokens_per_s: Math.round((B * T) / embedS), forward_tokens_per_s: Math.round((B * T) / forwardS),
    embed_ms_median: +(embedS * 1000).toFixed(1), forward_ms_median: +(forwardS * 1000).toFixed(1),
  };
  print(opts.json ? JSON.stringify(result) : `${preset}: ${result.embeddings_per_s} embeddings/s (batch ${B} x ${T} tokens, ${result.embed_tokens_per_s} tokens/s; plain forward ${result.forward_tokens_per_s} tokens/s; ${threads} threads)`);
  return { embeddingsPerS: B / embedS };
}
