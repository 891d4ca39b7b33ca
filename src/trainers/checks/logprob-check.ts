/**
 * The sampler-vs-trainer invariant of RL: before the first update on a rollout batch the trainer's
 * log-prob of every sampled token must equal the one the sampler recorded (same temperature, same
 * set of sampleable ids, same top-p/top-k convention), so the importance ratio is exactly 1 and the
 * KL to an identical reference is 0. A mismatch (temperature applied on one side only, a padded
 * vocabulary renormalised on one side only, a template that shifts positions) biases every update
 * without raising an error; this check measures it on the forward pass the trainer makes anyway.
 */
import { TrainingError } from '../../errors.js';

export interface LogprobDeviation {
  /** largest |trainer - sampler| over the compared tokens (0 when none) */
  max: number;
  /** mean |trainer - sampler| */
  mean: number;
  /** tokens compared */
  tokens: number;
  /** [row, completion token] of the largest deviation (-1 when none) */
  worst: [number, number];
}

/**
 * Compares per-token log-probs: `trainer` is a [B, T] grid laid out like a SequenceBatch (completion
 * token t of row b at position offsets[b] + t), `sampler[b][t]` the sampler's record, `mask[b][t]`
 * 1 where the token was sampled (tool observations and forced tokens are not).
 */
export function logprobDeviation(trainer: ArrayLike<number>, T: number, offsets: readonly number[], sampler: readonly (readonly number[])[], mask?: readonly (readonly number[])[]): LogprobDeviation {
  let max = 0, sum = 0, n = 0;
  let worst: [number, number] = [-1, -1];
  sampler.forEach((row, b) => {
    for (let t = 0; t < row.length; t++) {
      if (mask && !mask[b][t]) continue;
      const d = Math.abs(trainer[b * T + offsets[b] + t] - row[t]);
      n++;
      sum += Number.isFinite(d) ? d : Infinity;
      if (!(d <= max)) {
        max = Number.isFinite(d) ? d : Infinity;
        worst = [b, t];
      }
    }
  });
  return { max, mean: n ? sum / n : 0, tokens: n, worst };
}

/** The same on two [B, T] grids of one batch, compared where `mask` is 1 (worst: [row, position]). */
export function gridDeviation(trainer: ArrayLike<number>, sampler: ArrayLike<number>, mask: ArrayLike<number>, T: number): LogprobDeviation {
  let max = 0, sum = 0, n = 0;
  let worst: [number, number] = [-1, -1];
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const d = Math.abs(trainer[i] - sampler[i]);
    n++;
    sum += Number.isFinite(d) ? d : Infinity;
    if (!(d <= max)) {
      max = Number.isFinite(d) ? d : Infinity;
      worst = [Math.floor(i / T), i % T];
    }
  }
  return { max, mean: n ? sum / n : 0, tokens: n, worst };
}

/** Merges two deviations (micro-batches of one step). */
export function mergeDeviation(a: LogprobDeviation | null, b: LogprobDeviation): LogprobDeviation {
  if (!a || a.tokens === 0) return b;
  if (b.tokens === 0) return a;
  const n = a.tokens + b.tokens;
  return { max: Math.max(a.max, b.max), mean: (a.mean * a.tokens + b.mean * b.tokens) / n, tokens: n, worst: b.max > a.max ? b.worst : a.worst };
}

/** The metrics.jsonl fields of a deviation. */
export function deviationMetrics(d: LogprobDeviation): Record<string, number> {
  return { 'check/logprob_max_dev': d.max, 'check/logprob_mean_dev': d.mean };
}

/**
 * Throws TrainingError when the deviation exceeds `tolerance` (used with --strict-checks at step 0,
 * before any update, so nothing is trained on a mismatched ratio). `where` names the method.
 */
export function assertLogprobsAgree(d: LogprobDeviation, tolerance: number, where: string, describe: (row: number) => string): void {
  if (d.max <= tolerance) return;
  throw new TrainingError(
    `${where}: the trainer's log-probs of sampled tokens differ from the sampler's by up to ${d.max.toPrecision(3)} (mean ${d.mean.toPrecision(3)}, tolerance ${tolerance}; worst: ${describe(d.worst[0])}, completion token ${d.worst[1]}) before any update; ` +
      'the sampler and the trainer use different distributions (temperature, top-p/top-k or the sampleable vocabulary). Fix the mismatch, or raise --logprob-tolerance if the difference is rounding',
  );
}
