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

export function sampleToken(logits: Float32Array, opts: SamplingOptions, rng: Rng): { token: number; logprob: number } {
  const temperature = opts.temperature ?? 1;
  const V = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return { token: best, logprob: tokenLogprob(logits, best, 1) };
  }
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  const probs = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) z += probs[i] = Math.exp((logits[i] - max) / temperature);
  for (let i = 0; i < V; i++) probs[i] /= z;
  const topK = opts.topK ?? 0, topP = opts.topP ?? 1;
  let candidates: number[];
  if (topK > 0 || topP < 1) {
    candidates = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
    if (topK > 0) candidates = candidates.slice(0, topK);
    if (topP < 1) {
      let acc = 0, n = 0;
      while (n < candidates.length && acc < topP) acc += probs[candidates[n++]];
      candidates = candidates.slice(0, Math.max(1, n));
    }
  } else {
    candidates = [];
  }
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
    let u = rng.random();
    token = V - 1;
    for (let i = 0; i < V; i++) {
      u -= probs[i];
      if (u < 0) {
        token = i;
        break;
      }
    }
  }
  return { token, logprob: Math.log(probs[token]) };
}
