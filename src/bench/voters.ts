/**
 * SEQA-style sampling speed (part of `glmkit bench generate`): N voters of a fixed number of tokens
 * sampled after one prefix (temperature 1, top-p 0.9, no stop token, so every voter has exactly that
 * many tokens), the prefix prefilled once and its KV cache shared by the N rows
 * (`generateFromSharedPrefix`). Beside it: the same N voters with the prefix prefilled per row
 * (`generate` over N copies), and the same model's plain forward (hidden states, no cache) over N rows
 * of prefix + voter tokens, in tokens/s.
 */
import type { GlmForCausalLM } from '../models/glm/model.js';
import { generate, generateFromSharedPrefix } from '../generation/generate.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';

export interface VoterBenchOptions {
  /** voters per prefix */
  voters: number;
  /** tokens per voter */
  voterTokens: number;
  /** prefix tokens */
  prefixTokens: number;
  /** timed repetitions (the median is reported) after one warm-up */
  reps: number;
  /** ids are drawn below this (the tokenizer's vocabulary) */
  vocabLimit?: number;
}

export interface VoterBenchResult {
  voters: number;
  voter_tokens: number;
  prefix_tokens: number;
  reps: number;
  /** voters/s with the prefix prefilled once (shared KV cache) */
  voters_per_s: number;
  /** voters/s with the prefix prefilled in every row */
  voters_per_s_unshared: number;
  /** new tokens/s of the shared path */
  voter_tokens_per_s: number;
  /** the plain forward over N rows of prefix + voter tokens */
  forward_tokens_per_s: number;
  shared_ms_median: number;
  unshared_ms_median: number;
}

function medianSeconds(run: () => void, reps: number): number {
  run(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    run();
    times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function benchVoters(model: GlmForCausalLM, opts: VoterBenchOptions): VoterBenchResult {
  const { voters: N, voterTokens: K, prefixTokens: P, reps } = opts;
  const V = opts.vocabLimit ?? model.config.vocabSize;
  const rng = new Rng(7);
  const prefix = Array.from({ length: P }, () => rng.int(V));
  const sampling = { maxNewTokens: K, temperature: 1, topP: 0.9, seed: 1, vocabLimit: V };
  const shared = medianSeconds(() => void generateFromSharedPrefix(model, prefix, N, sampling), reps);
  const unshared = medianSeconds(() => void generate(model, Array.from({ length: N }, () => prefix), sampling), reps);
  const ids = Tensor.ids(Array.from({ length: N * (P + K) }, () => rng.int(V)), [N, P + K]);
  const forward = medianSeconds(() => void noGrad(() => model.model.forward(ids)), reps);
  return {
    voters: N, voter_tokens: K, prefix_tokens: P, reps,
    voters_per_s: +(N / shared).toFixed(1),
    voters_per_s_unshared: +(N / unshared).toFixed(1),
    voter_tokens_per_s: Math.round((N * K) / shared),
    forward_tokens_per_s: Math.round((N * (P + K)) / forward),
    shared_ms_median: +(shared * 1000).toFixed(1),
    unshared_ms_median: +(unshared * 1000).toFixed(1),
  };
}
