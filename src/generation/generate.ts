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
import type { KVCache } from './kv-cache.js';
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
  checkSampling(opts);
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new ConfigError(`maxNewTokens must be an integer >= 0, got ${opts.maxNewTokens}`);
  const V = model.config.vocabSize;
  for (const [i, p] of prompts.entries()) {
    if (p.length === 0) throw new ConfigError(`prompt ${i} is empty; generation needs at least one token`);
    for (const t of p) if (!Number.isInteger(t) || t < 0 || t >= V) throw new ConfigError(`prompt ${i} has token id ${t} outside the vocabulary [0, ${V})`);
  }
  const T = Math.max(0, ...prompts.map((p) => p.length));
  const maxPos = model.config.maxPositionEmbeddings;
  if (T + opts.maxNewTokens > maxPos) {
    throw new ConfigError(`prompt length ${T} + max new tokens ${opts.maxNewTokens} exceeds max_position_embeddings ${maxPos}`);
  }
}

export function generate(model: GlmForCausalLM, prompts: readonly (readonly number[])[], opts: GenerateOptions): GenerateResult {
  checkGenerate(model, prompts, opts);
  if (prompts.length === 0) return { tokens: [], logprobs: [], finishReason: [] };
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const B = prompts.length;
  const T = Math.max(...prompts.map((p) => p.length));
  const pad = opts.padId ?? 0;
  const ids = new Int32Array(B * T).fill(pad), mask = new Int32Array(B * T);
  prompts.forEach((p, b) => {
    for (let t = 0; t < p.length; t++) {
      ids[b * T + T - p.length + t] = p[t];
      mask[b * T + T - p.length + t] = 1;
    }
  });
  const out: GenerateResult = { tokens: prompts.map(() => []), logprobs: prompts.map(() => []), finishReason: prompts.map(() => 'length') };
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
    decodeLoop(model, cache, lastPositions(hidden, B, T), opts, rng, out, moe);
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
  const out: GenerateResult = { tokens: [], logprobs: [], finishReason: [] };
  for (let b = 0; b < n; b++) {
    out.tokens.push([]);
    out.logprobs.push([]);
    out.finishReason.push('length');
  }
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
    decodeLoop(model, cache, new Tensor(rows, [n, H]), opts, rng, out, []);
  });
  return out;
}

/**
 * The lockstep decode after a prefill: `lastRows` [B, H] are the hidden states the first tokens are
 * sampled from, `cache` holds every row's prompt. Fills `out` (tokens, log-probs, finish reasons and,
 * with MoE layers given, the routing of each fed-back token). Finished rows leave the batch once a
 * quarter of it has stopped (the cache keeps the rows still going), so a batch whose longest answer
 * runs to the budget does not decode every finished row to the end; sampling visits the live rows
 * in their original order, as before.
 */
function decodeLoop(model: GlmForCausalLM, cache: KVCache, lastRows: Tensor, opts: GenerateOptions, rng: Rng, out: GenerateResult, moe: readonly GlmMoe[]): void {
  const B = lastRows.shape[0], V = model.config.vocabSize;
  const limit = sampleableIds(V, opts.vocabLimit);
  const stops = new Set(opts.stopTokens ?? []);
  const pad = opts.padId ?? 0;
  const done = new Array<boolean>(B).fill(false);
  let live = Array.from({ length: B }, (_, b) => b); // batch row i of the cache is sequence live[i]
  for (let step = 0; step < opts.maxNewTokens; step++) {
    const logits = model.logits(lastRows); // [live.length, V]
    let next = new Int32Array(live.length), stepMask = new Int32Array(live.length);
    for (let i = 0; i < live.length; i++) {
      const b = live[i];
      if (done[b]) {
        next[i] = pad;
        continue;
      }
      const { token, logprob } = sampleToken((logits.data as Float32Array).subarray(i * V, i * V + limit), opts, rng);
      out.tokens[b].push(token);
      out.logprobs[b].push(logprob);
      out.routing?.[b].push(null);
      next[i] = token;
      stepMask[i] = 1;
      if (stops.has(token)) {
        done[b] = true;
        out.finishReason[b] = 'stop';
      }
    }
    if (done.every(Boolean) || step === opts.maxNewTokens - 1) break;
    const keep = live.map((_, i) => i).filter((i) => stepMask[i]);
    if (keep.length <= (3 * live.length) / 4) {
      cache = cache.keepRows(keep);
      next = Int32Array.from(keep, (i) => next[i]);
      stepMask = new Int32Array(keep.length).fill(1);
      live = keep.map((i) => live[i]);
    }
    const { hidden } = model.model.forward(new Tensor(next, [live.length, 1]), { cache, attentionMask: stepMask });
    lastRows = lastPositions(hidden, live.length, 1);
    if (out.routing) live.forEach((b, i) => stepMask[i] && (out.routing![b][out.routing![b].length - 1] = routingRow(moe, i)));
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
function lastPositions(hidden: Tensor, B: number, T: number): Tensor {
  const H = hidden.shape[2];
  const rows = new Float32Array(B * H);
  for (let b = 0; b < B; b++) rows.set((hidden.data as Float32Array).subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
  return new Tensor(rows, [B, H]);
}
