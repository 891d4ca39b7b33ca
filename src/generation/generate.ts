/**
 * Batched generation with a KV cache: left-pad the prompts, prefill once, then decode all
 * sequences in lockstep until each hits a stop token or its token budget. Log-probabilities are
 * recorded at sampling time (the rollout engine of the RL trainers builds on this).
 */
import { ConfigError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { GlmMoe } from '../models/glm/moe.js';
import { checkSampling, sampleToken, sampleableIds, type SamplingOptions } from './sampler.js';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** token ids that end a sequence (kept in the output) */
  stopTokens?: readonly number[];
  seed?: number;
  rng?: Rng;
  /** id used for left padding (any valid id; padded positions are masked) */
  padId?: number;
  /**
   * sample only ids below this (the tokenizer's vocabulary when the model's embedding is padded past
   * it: padded ids cannot be decoded); log-probs are then under the restricted distribution, which
   * differs from the full one by the padded ids' probability mass (~0 for a trained model)
   */
  vocabLimit?: number;
  /** MoE models: record the experts each fed-back token was routed to (GenerateResult.routing) */
  recordRouting?: boolean;
}

export interface GenerateResult {
  /** new tokens per prompt (including the stop token when one ended it) */
  tokens: number[][];
  /** log-probability of each new token under the sampling distribution */
  logprobs: number[][];
  finishReason: ('stop' | 'length')[];
  /**
   * with `recordRouting` on an MoE model: per prompt, per new token, the experts chosen for it in
   * every MoE layer ([layer0 k0..kK-1, layer1 ...]) when it was fed back; null for a token never fed
   * (the last one)
   */
  routing?: (number[] | null)[][];
  /** with `recordRouting` on an MoE model: per prompt, the experts of each prompt token in the prefill */
  promptRouting?: number[][][];
}

/** Checks the options and the prompts (non-empty, ids in the vocabulary, length + new tokens within the positions). */
function checkGenerate(model: GlmForCausalLM, prompts: readonly (readonly number[])[], opts: GenerateOptions): void {
  checkPrompts(prompts, opts, model.config.vocabSize, model.config.maxPositionEmbeddings);
}

/**
 * The checks every generation path makes: sampling options, maxNewTokens, non-empty prompts of ids
 * in [0, vocabSize), and the longest prompt + new tokens within `maxPositions`.
 */
export function checkPrompts(prompts: readonly (readonly number[])[], opts: GenerateOptions, vocabSize: number, maxPositions: number): void {
  checkSampling(opts);
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new ConfigError(`maxNewTokens must be an integer >= 0, got ${opts.maxNewTokens}`);
  const V = vocabSize;
  for (const [i, p] of prompts.entries()) {
    if (p.length === 0) throw new ConfigError(`prompt ${i} is empty; generation needs at least one token`);
    for (const t of p) if (!Number.isInteger(t) || t < 0 || t >= V) throw new ConfigError(`prompt ${i} has token id ${t} outside the vocabulary [0, ${V})`);
  }
  const T = Math.max(0, ...prompts.map((p) => p.length));
  if (T + opts.maxNewTokens > maxPositions) {
    throw new ConfigError(`prompt length ${T} + max new tokens ${opts.maxNewTokens} exceeds max_position_embeddings ${maxPositions}`);
  }
}

/** Left-padded ids [B * T] (padding `padId`) and the attention mask (1 = token) of a batch of prompts; T = the longest. */
export function leftPad(prompts: readonly (readonly number[])[], padId: number): { ids: Int32Array; mask: Int32Array; T: number } {
  const B = prompts.length;
  const T = Math.max(0, ...prompts.map((p) => p.length));
  const ids = new Int32Array(B * T).fill(padId), mask = new Int32Array(B * T);
  prompts.forEach((p, b) => {
    for (let t = 0; t < p.length; t++) {
      ids[b * T + T - p.length + t] = p[t];
      mask[b * T + T - p.length + t] = 1;
    }
  });
  return { ids, mask, T };
}

/** An empty result for `n` sequences (no tokens yet, finish reason 'length'). */
export function emptyResult(n: number): GenerateResult {
  const out: GenerateResult = { tokens: [], logprobs: [], finishReason: [] };
  for (let b = 0; b < n; b++) {
    out.tokens.push([]);
    out.logprobs.push([]);
    out.finishReason.push('length');
  }
  return out;
}

export function generate(model: GlmForCausalLM, prompts: readonly (readonly number[])[], opts: GenerateOptions): GenerateResult {
  checkGenerate(model, prompts, opts);
  if (prompts.length === 0) return { tokens: [], logprobs: [], finishReason: [] };
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const B = prompts.length;
  const { ids, mask, T } = leftPad(prompts, opts.padId ?? 0);
  const out = emptyResult(B);
  if (opts.maxNewTokens === 0) return out;
  const moe = opts.recordRouting ? model.moeLayers() : [];
  if (moe.length > 0) out.routing = prompts.map(() => []);
  for (const m of moe) m.recordRouting = true;
  try {
  noGrad(() => {
    const cache = model.createCache(B, T + opts.maxNewTokens);
    // Prefill: only the last position's logits are needed.
    const { hidden } = model.model.forward(new Tensor(ids, [B, T]), { cache, attentionMask: mask });
    if (out.routing) out.promptRouting = prompts.map((p, b) => p.map((_, i) => routingRow(moe, b * T + T - p.length + i)));
    const step: DecodeStep = (next, stepMask) => {
      const { hidden } = model.model.forward(new Tensor(next, [B, 1]), { cache, attentionMask: stepMask });
      if (out.routing) for (let b = 0; b < B; b++) if (stepMask[b]) out.routing[b][out.routing[b].length - 1] = routingRow(moe, b);
      return model.logits(lastPositions(hidden, B, 1));
    };
    decodeLoop(model.logits(lastPositions(hidden, B, T)), step, opts, rng, out);
  });
  } finally {
    for (const m of moe) {
      m.recordRouting = false;
      m.lastRouting = null;
    }
  }
  return out;
}

/**
 * `n` continuations of one prompt, e.g. SEQA's voters: the prompt is prefilled once (batch 1), its
 * keys and values are copied into the n rows of the decode cache, and the n rows decode as one batch.
 * Gives the tokens `generate(model, n copies of prefix, opts)` gives (the same sampling order of the
 * seeded RNG: row 0..n-1 at each step), at 1/n of the prefill cost. No routing record (`recordRouting`
 * is refused).
 */
export function generateFromSharedPrefix(model: GlmForCausalLM, prefix: readonly number[], n: number, opts: GenerateOptions): GenerateResult {
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`generateFromSharedPrefix: expected a number of sequences >= 0, got ${n}`);
  if (opts.recordRouting) throw new ConfigError('generateFromSharedPrefix: recordRouting is not supported; use generate() with copies of the prompt');
  checkGenerate(model, [prefix], opts);
  const out = emptyResult(n);
  if (n === 0 || opts.maxNewTokens === 0) return out;
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const P = prefix.length;
  noGrad(() => {
    const once = model.createCache(1, P);
    const { hidden } = model.model.forward(new Tensor(Int32Array.from(prefix), [1, P]), { cache: once, attentionMask: new Int32Array(P).fill(1) });
    const last = lastPositions(hidden, 1, P).data as Float32Array;
    const cache = model.createCache(n, P + opts.maxNewTokens);
    cache.broadcastFrom(once, 0);
    const H = last.length, rows = new Float32Array(n * H);
    for (let b = 0; b < n; b++) rows.set(last, b * H);
    const step: DecodeStep = (next, stepMask) => model.logits(lastPositions(model.model.forward(new Tensor(next, [n, 1]), { cache, attentionMask: stepMask }).hidden, n, 1));
    decodeLoop(model.logits(new Tensor(rows, [n, H])), step, opts, rng, out);
  });
  return out;
}

/**
 * One decode step of a cached model: feed `next` [B] (rows with `stepMask` 0 have finished; their
 * token is padding and must not enter the cache) and return the logits [B, V] after it.
 */
export type DecodeStep = (next: Int32Array, stepMask: Int32Array) => Tensor;

/**
 * The lockstep decode after a prefill, shared by every generation path: `firstLogits` [B, V] are the
 * prefill's last-position logits the first tokens are sampled from; `step` feeds the sampled tokens
 * and gives the next logits. Fills `out` (tokens, log-probs, finish reasons; a `routing` list in it
 * gets a null per token, which `step` may fill in).
 */
export function decodeLoop(firstLogits: Tensor, step: DecodeStep, opts: GenerateOptions, rng: Rng, out: GenerateResult): void {
  const [B, V] = firstLogits.shape;
  const limit = sampleableIds(V, opts.vocabLimit);
  const stops = new Set(opts.stopTokens ?? []);
  const pad = opts.padId ?? 0;
  const done = new Array<boolean>(B).fill(false);
  let logits = firstLogits;
  for (let s = 0; s < opts.maxNewTokens; s++) {
    const next = new Int32Array(B), stepMask = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      if (done[b]) {
        next[b] = pad;
        continue;
      }
      const { token, logprob } = sampleToken((logits.data as Float32Array).subarray(b * V, b * V + limit), opts, rng);
      out.tokens[b].push(token);
      out.logprobs[b].push(logprob);
      out.routing?.[b].push(null);
      next[b] = token;
      stepMask[b] = 1;
      if (stops.has(token)) {
        done[b] = true;
        out.finishReason[b] = 'stop';
      }
    }
    if (done.every(Boolean) || s === opts.maxNewTokens - 1) break;
    logits = step(next, stepMask);
  }
}

/** The experts row `n` of the last forward was routed to, in every MoE layer (layer-major). */
export function routingRow(moe: readonly GlmMoe[], n: number): number[] {
  const row: number[] = [];
  for (const m of moe) {
    const r = m.lastRouting!, K = m.expertsPerToken;
    for (let k = 0; k < K; k++) row.push(r[n * K + k]);
  }
  return row;
}

/** hidden [B, T, H] -> [B, H] at position T-1. */
export function lastPositions(hidden: Tensor, B: number, T: number): Tensor {
  const H = hidden.shape[2];
  const rows = new Float32Array(B * H);
  for (let b = 0; b < B; b++) rows.set((hidden.data as Float32Array).subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
  return new Tensor(rows, [B, H]);
}
