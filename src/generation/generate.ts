/**
 * Batched generation with a KV cache: left-pad the prompts, prefill once, then decode all
 * sequences in lockstep until each hits a stop token or its token budget. Log-probabilities are
 * recorded at sampling time (the rollout engine of the RL trainers builds on this).
 */
import type { KVCache } from './kv-cache.js';
import { ConfigError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { withPackedWeights } from '../tensor/ops/packed-weights.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { GlmMoe } from '../models/glm/moe.js';
import { checkSampling, sampleToken, sampleableIds, type SamplingOptions } from './sampler.js';
import { generateParallel, parallelShares } from './parallel-generate.js';

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
  /**
   * false: no log-probs (GenerateResult.logprobs rows stay empty), which spares greedy decoding a
   * log-sum-exp over the vocabulary per token; the tokens are the same (default true)
   */
  logprobs?: boolean;
}

export interface GenerateResult {
  /** new tokens per prompt (including the stop token when one ended it) */
  tokens: number[][];
  /** log-probability of each new token under the sampling distribution (empty with `logprobs: false`) */
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
  const base = streamBase(opts);
  const shares = parallelShares(model, prompts.length, opts);
  if (shares) return generateParallel(model, prompts, opts, base, shares);
  return generateSequences(model, prompts, opts, base, prompts.map((_, b) => b));
}

/**
 * One random stream per sequence: sequence `i` samples from Rng(`${base}:${i}`), `base` drawn once
 * per call from the caller's rng or seed (`streamBase`). A sequence's draws then depend on its index
 * in the call alone, not on the other rows of its batch, on rows leaving the batch, or on which
 * thread decodes it (src/generation/parallel-generate.ts); its logits can still move in the last
 * bits with the batch's shape.
 */
export function sequenceStreams(base: number, indices: readonly number[]): Rng[] {
  return indices.map((i) => new Rng(`${base}:${i}`));
}

/** The random stream of a one-prompt `generate()` call with this seed (the serving engines' per-request stream). */
export function requestStream(seed: number): Rng {
  return sequenceStreams(new Rng(seed).nextU32(), [0])[0];
}

/** The per-call base of `sequenceStreams`: one draw from `opts.rng` (advancing it), else from `opts.seed`. */
export function streamBase(opts: GenerateOptions): number {
  return (opts.rng ?? new Rng(opts.seed ?? 0)).nextU32();
}

/**
 * `generate` of the prompts whose indices in the whole call are `indices` (their random streams),
 * on this thread: left padding, one prefill, the cached lockstep decode.
 */
export function generateSequences(model: GlmForCausalLM, prompts: readonly (readonly number[])[], opts: GenerateOptions, base: number, indices: readonly number[]): GenerateResult {
  const B = prompts.length;
  const { ids, mask, T } = leftPad(prompts, opts.padId ?? 0);
  const out = emptyResult(B);
  if (B === 0 || opts.maxNewTokens === 0) return out;
  const moe = opts.recordRouting ? model.moeLayers() : [];
  if (moe.length > 0) out.routing = prompts.map(() => []);
  for (const m of moe) m.recordRouting = true;
  try {
  noGrad(() => withPackedWeights(() => {
    const cache = model.createCache(B, T + opts.maxNewTokens);
    // Prefill: only the last position's logits are needed.
    const { hidden } = model.model.forward(new Tensor(ids, [B, T]), { cache, attentionMask: mask });
    if (out.routing) out.promptRouting = prompts.map((p, b) => p.map((_, i) => routingRow(moe, b * T + T - p.length + i)));
    decodeLoop(model.logits(lastPositions(hidden, B, T)), textStep(model, cache, out, moe), opts, sequenceStreams(base, indices), out);
  }));
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
 * Gives the tokens `generate(model, n copies of prefix, opts)` gives (the same per-sequence random
 * streams), at 1/n of the prefill cost. No routing record (`recordRouting`
 * is refused).
 */
export function generateFromSharedPrefix(model: GlmForCausalLM, prefix: readonly number[], n: number, opts: GenerateOptions): GenerateResult {
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`generateFromSharedPrefix: expected a number of sequences >= 0, got ${n}`);
  if (opts.recordRouting) throw new ConfigError('generateFromSharedPrefix: recordRouting is not supported; use generate() with copies of the prompt');
  checkGenerate(model, [prefix], opts);
  const out = emptyResult(n);
  if (n === 0 || opts.maxNewTokens === 0) return out;
  const streams = sequenceStreams(streamBase(opts), Array.from({ length: n }, (_, b) => b));
  const P = prefix.length;
  noGrad(() => withPackedWeights(() => {
    const once = model.createCache(1, P);
    const { hidden } = model.model.forward(new Tensor(Int32Array.from(prefix), [1, P]), { cache: once, attentionMask: new Int32Array(P).fill(1) });
    const last = lastPositions(hidden, 1, P).data as Float32Array;
    const cache = model.createCache(n, P + opts.maxNewTokens);
    cache.broadcastFrom(once, 0);
    const H = last.length, rows = new Float32Array(n * H);
    for (let b = 0; b < n; b++) rows.set(last, b * H);
    decodeLoop(model.logits(new Tensor(rows, [n, H])), textStep(model, cache, out, []), opts, streams, out);
  }));
  return out;
}

/**
 * One decode step of a cached model: feed `next` [rows] (rows with `stepMask` 0 have finished; their
 * token is padding and must not enter the cache) and return the logits [rows, V] after it. A step
 * with `keepRows` lets the loop drop finished rows: afterwards batch row i is the old row `keep[i]`.
 */
export interface DecodeStep {
  (next: Int32Array, stepMask: Int32Array): Tensor;
  keepRows?: (keep: readonly number[]) => void;
}

/**
 * The lockstep decode after a prefill, shared by every generation path: `firstLogits` [B, V] are the
 * prefill's last-position logits the first tokens are sampled from; `step` feeds the sampled tokens
 * and gives the next logits. Fills `out` (tokens, log-probs, finish reasons; a `routing` list in it
 * gets a null per token, which `step` may fill in). When the step can drop rows, finished rows leave
 * the batch once a quarter of it has stopped, so a batch whose longest answer runs to the budget
 * does not decode every finished row to the end. Sequence b samples from `streams[b]` alone
 * (`sequenceStreams`), so its tokens are those of the full batch.
 */
export function decodeLoop(firstLogits: Tensor, step: DecodeStep, opts: GenerateOptions, streams: readonly Rng[], out: GenerateResult): void {
  const [B, V] = firstLogits.shape;
  const limit = sampleableIds(V, opts.vocabLimit);
  const stops = new Set(opts.stopTokens ?? []);
  const pad = opts.padId ?? 0;
  const withLogprobs = opts.logprobs !== false;
  const done = new Array<boolean>(B).fill(false);
  let logits = firstLogits; // [live.length, V]
  let live = Array.from({ length: B }, (_, b) => b); // batch row i is sequence live[i]
  for (let s = 0; s < opts.maxNewTokens; s++) {
    let next = new Int32Array(live.length), stepMask = new Int32Array(live.length);
    for (let i = 0; i < live.length; i++) {
      const b = live[i];
      if (done[b]) {
        next[i] = pad;
        continue;
      }
      const { token, logprob } = sampleToken((logits.data as Float32Array).subarray(i * V, i * V + limit), opts, streams[b], withLogprobs);
      out.tokens[b].push(token);
      if (withLogprobs) out.logprobs[b].push(logprob);
      out.routing?.[b].push(null);
      next[i] = token;
      stepMask[i] = 1;
      if (stops.has(token)) {
        done[b] = true;
        out.finishReason[b] = 'stop';
      }
    }
    if (done.every(Boolean) || s === opts.maxNewTokens - 1) break;
    const keep = live.map((_, i) => i).filter((i) => stepMask[i]);
    if (step.keepRows && keep.length <= (3 * live.length) / 4) {
      step.keepRows(keep);
      next = Int32Array.from(keep, (i) => next[i]);
      stepMask = new Int32Array(keep.length).fill(1);
      live = keep.map((i) => live[i]);
    }
    logits = step(next, stepMask);
  }
}

/**
 * The text model's cached decode step over `cache` [B rows], able to drop finished rows; with `moe`
 * layers given it records the routing of each fed-back token in `out.routing`.
 */
function textStep(model: GlmForCausalLM, cache: KVCache, out: GenerateResult, moe: readonly GlmMoe[]): DecodeStep {
  let rows = Array.from({ length: cache.batch }, (_, b) => b); // batch row i is sequence rows[i]
  const step: DecodeStep = (next, stepMask) => {
    const R = rows.length;
    const { hidden } = model.model.forward(new Tensor(next, [R, 1]), { cache, attentionMask: stepMask });
    if (out.routing) rows.forEach((b, i) => { if (stepMask[i]) out.routing![b][out.routing![b].length - 1] = routingRow(moe, i); });
    return model.logits(lastPositions(hidden, R, 1));
  };
  step.keepRows = (keep) => {
    cache = cache.keepRows(keep);
    rows = keep.map((i) => rows[i]);
  };
  return step;
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
