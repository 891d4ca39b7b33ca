/**
 * Token sampling from one row of logits: temperature, top-k, top-p (nucleus), greedy at
 * temperature 0. Returns the token and its log-probability under the distribution it was drawn
 * from (logits / temperature, before top-k/top-p truncation), which is what RL trainers recompute.
 */
import { ConfigError } from '../errors.js';
import type { Rng } from '../util/rng.js';

export interface SamplingOptions {
  /** 0 = greedy (default 1) */
  temperature?: number;
  /** keep the smallest set of tokens whose probability reaches top_p (default 1 = all) */
  topP?: number;
  /** keep the k most likely tokens (default 0 = all) */
  topK?: number;
}

export function checkSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 1, p = o.topP ?? 1, k = o.topK ?? 0;
  if (!(t >= 0) || !Number.isFinite(t)) throw new ConfigError(`temperature must be a number >= 0, got ${t}`);
  if (!(p > 0 && p <= 1)) throw new ConfigError(`top_p must be in (0, 1], got ${p}`);
  if (!Number.isInteger(k) || k < 0) throw new ConfigError(`top_k must be an integer >= 0, got ${k}`);
}

/**
 * Number of ids sampling may pick from: the model's vocabulary `V`, cut to `limit` (the tokenizer's
 * size) when given. Throws ConfigError for a limit that is not an integer >= 1.
 */
export function sampleableIds(V: number, limit: number | undefined): number {
  const n = Math.min(V, limit ?? V);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`vocabLimit must be an integer >= 1, got ${limit}`);
  return n;
}

/** log-softmax of logits/temperature at `token` (temperature 0 is treated as 1). */
export function tokenLogprob(logits: ArrayLike<number>, token: number, temperature = 1): number {
  const t = temperature > 0 ? temperature : 1;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp((logits[i] - max) / t);
  return (logits[token] - max) / t - Math.log(z);
}

/** softmax(logits / temperature) in float64 (temperature > 0), into `out` when given (length >= V). */
function temperedProbs(logits: Float32Array, temperature: number, out?: Float64Array): Float64Array {
  const V = logits.length;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  const probs = out ? out.subarray(0, V) : new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) z += probs[i] = Math.exp((logits[i] - max) / temperature);
  for (let i = 0; i < V; i++) probs[i] /= z;
  return probs;
}

/**
 * The ids top-k / top-p keep, most likely first (ties by id; empty when neither truncates: every id
 * is kept). With top-p alone only the ids at or above a cutoff are sorted, the cutoff low enough that
 * their mass exceeds top_p (so the nucleus is a prefix of them): the same ids in the same order as
 * sorting the whole vocabulary, at a fraction of the cost when the distribution is peaked.
 */
function candidatesOf(probs: Float64Array, opts: SamplingOptions): number[] {
  const topK = opts.topK ?? 0, topP = opts.topP ?? 1;
  if (!(topK > 0 || topP < 1)) return [];
  let ids: number[] | null = null;
  if (topK === 0) {
    let max = 0;
    for (let i = 0; i < probs.length; i++) if (probs[i] > max) max = probs[i];
    // the margin covers the different summation order of the nucleus loop below (float64 rounding)
    // lower the cutoff until the ids above it hold the nucleus; past half the vocabulary, sort it all
    for (let cut = max / 16; cut > 1e-12; cut /= 64) {
      let mass = 0, count = 0;
      for (let i = 0; i < probs.length; i++) if (probs[i] >= cut) (mass += probs[i]), count++;
      if (count >= probs.length / 2) break;
      if (mass >= topP + 1e-6) {
        ids = [];
        for (let i = 0; i < probs.length; i++) if (probs[i] >= cut) ids.push(i);
        break;
      }
    }
  }
  let candidates = (ids ?? Array.from({ length: probs.length }, (_, i) => i)).sort((a, b) => probs[b] - probs[a] || a - b);
  if (topK > 0) candidates = candidates.slice(0, topK);
  if (topP < 1) {
    let acc = 0, n = 0;
    while (n < candidates.length && acc < topP) acc += probs[candidates[n++]];
    candidates = candidates.slice(0, Math.max(1, n));
  }
  return candidates;
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

let scratchProbs = new Float64Array(0);

/**
 * One token from a row of logits and its log-probability. `withLogprob` false skips the greedy
 * path's log-sum-exp over the vocabulary (logprob NaN, sampled or not): for callers that do not
 * report log-probs.
 */
export function sampleToken(logits: Float32Array, opts: SamplingOptions, rng: Rng, withLogprob = true): { token: number; logprob: number } {
  const temperature = opts.temperature ?? 1;
  if (temperature === 0) {
    const best = argmax(logits);
    return { token: best, logprob: withLogprob ? tokenLogprob(logits, best, 1) : Number.NaN };
  }
  // sampleToken keeps nothing of the probabilities but one value: one buffer serves every call
  if (scratchProbs.length < logits.length) scratchProbs = new Float64Array(logits.length);
  const probs = temperedProbs(logits, temperature, scratchProbs);
  const candidates = candidatesOf(probs, opts);
  let token: number;
  if (candidates.length > 0) {
    let mass = 0;
    for (const c of candidates) mass += probs[c];
    let u = rng.random() * mass;
    token = candidates[candidates.length - 1];
    for (const c of candidates) {
      u -= probs[c];
      if (u < 0) {
        token = c;
        break;
      }
    }
  } else {
    token = sampleFrom(probs, rng);
  }
  return { token, logprob: withLogprob ? Math.log(probs[token]) : Number.NaN };
}

/**
 * The distribution sampleToken draws from, as probabilities over all ids: softmax(logits / T) cut to
 * the top-k / top-p candidates and renormalised; one-hot at the argmax for temperature 0.
 */
export function samplingDistribution(logits: Float32Array, opts: SamplingOptions): Float64Array {
  const temperature = opts.temperature ?? 1;
  if (temperature === 0) {
    const out = new Float64Array(logits.length);
    out[argmax(logits)] = 1;
    return out;
  }
  const probs = temperedProbs(logits, temperature);
  const candidates = candidatesOf(probs, opts);
  if (candidates.length === 0) return probs;
  const out = new Float64Array(logits.length);
  let mass = 0;
  for (const c of candidates) mass += probs[c];
  for (const c of candidates) out[c] = probs[c] / mass;
  return out;
}

/** One draw from a probability vector (its entries sum to 1, up to rounding). */
export function sampleFrom(probs: ArrayLike<number>, rng: Rng): number {
  let u = rng.random();
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    last = i;
    u -= probs[i];
    if (u < 0) return i;
  }
  return last;
}
