/**
 * Learning-rate schedules and the batch-size warm-up (docs/methods.md §3: GLM-4.5 warms the LR up, then
 * decays it with a cosine from 2.5e-4 to 2.5e-5, and warms the batch size up).
 *
 * A schedule is a function of `step`, the 1-based number of the update about to be applied (1 for
 * the first update, N for the last of N). All LR schedules share the warm-up: lr(s) = peakLr * s /
 * warmupSteps for s <= warmupSteps (so lr(0) = 0 and the first update already moves), then decay
 * from peakLr at s = warmupSteps to minLr at s = totalSteps, and stay at minLr after totalSteps.
 */
import { ConfigError } from '../errors.js';

export type LrSchedule = (step: number) => number;

export interface WarmupDecayOptions {
  peakLr: number;
  /** floor reached at totalSteps (default 0) */
  minLr?: number;
  /** linear warm-up length in updates (default 0: start at peakLr) */
  warmupSteps?: number;
  totalSteps: number;
}

function check(name: string, o: WarmupDecayOptions): { peak: number; min: number; warm: number; total: number } {
  const peak = o.peakLr, min = o.minLr ?? 0, warm = o.warmupSteps ?? 0, total = o.totalSteps;
  if (!(Number.isFinite(peak) && peak >= 0)) throw new ConfigError(`${name}: peakLr must be a finite number >= 0, got ${peak}`);
  if (!(Number.isFinite(min) && min >= 0 && min <= peak)) throw new ConfigError(`${name}: minLr must be in [0, peakLr = ${peak}], got ${min}`);
  if (!(Number.isInteger(warm) && warm >= 0)) throw new ConfigError(`${name}: warmupSteps must be an integer >= 0, got ${warm}`);
  if (!(Number.isInteger(total) && total >= warm)) throw new ConfigError(`${name}: totalSteps must be an integer >= warmupSteps = ${warm}, got ${total}`);
  return { peak, min, warm, total };
}

/** Builds warm-up + decay where `shape(t)` goes from 1 at t = 0 to 0 at t = 1. */
function warmupThen(name: string, o: WarmupDecayOptions, shape: (t: number) => number): LrSchedule {
  const { peak, min, warm, total } = check(name, o);
  return (step: number) => {
    const s = Math.max(step, 0);
    if (s < warm) return (peak * s) / warm;
    if (s >= total) return total === warm ? peak : min;
    const t = (s - warm) / (total - warm);
    return min + (peak - min) * shape(t);
  };
}

/**
 * Linear warm-up from 0 to peakLr over warmupSteps, then cosine decay to minLr at totalSteps, flat
 * after: lr = minLr + (peakLr - minLr) * (1 + cos(pi * t)) / 2, t = (step - warmup) / (total - warmup).
 * With totalSteps == warmupSteps there is no decay phase and the LR stays at peakLr after warm-up.
 */
export function warmupCosine(o: WarmupDecayOptions): LrSchedule {
  return warmupThen('warmupCosine', o, (t) => 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** Linear warm-up, then linear decay from peakLr to minLr at totalSteps, flat after. */
export function linear(o: WarmupDecayOptions): LrSchedule {
  return warmupThen('linear', o, (t) => 1 - t);
}

/** Linear warm-up over warmupSteps (default 0), then lr forever. */
export function constant(o: { lr: number; warmupSteps?: number }): LrSchedule {
  const { peak, warm } = check('constant', { peakLr: o.lr, minLr: o.lr, warmupSteps: o.warmupSteps ?? 0, totalSteps: o.warmupSteps ?? 0 });
  return (step: number) => {
    const s = Math.max(step, 0);
    return s < warm ? (peak * s) / warm : peak;
  };
}

export type ScheduleKind = 'cosine' | 'linear' | 'constant';

/** The schedule named `kind` (what a trainer config's `lr_scheduler` selects); constant ignores minLr and totalSteps. */
export function lrSchedule(kind: ScheduleKind, o: WarmupDecayOptions): LrSchedule {
  switch (kind) {
    case 'cosine':
      return warmupCosine(o);
    case 'linear':
      return linear(o);
    case 'constant':
      return constant({ lr: o.peakLr, warmupSteps: o.warmupSteps });
    default:
      throw new ConfigError(`lrSchedule: unknown schedule '${String(kind)}'; expected 'cosine', 'linear' or 'constant'`);
  }
}

export interface BatchWarmupOptions {
  /** batch size at step 0 (units are the caller's: sequences or micro-batches per update) */
  start: number;
  /** batch size reached at `steps` and kept after */
  end: number;
  /** length of the ramp in updates (0: `end` from the start) */
  steps: number;
  /** round down to a multiple of this (e.g. the micro-batch size); default 1; never below `multiple` */
  multiple?: number;
}

/**
 * Batch-size warm-up: a linear ramp from `start` at step 0 to `end` at `steps`, flat after, rounded
 * down to a multiple of `multiple` (and at least `multiple`). The trainer calls it with the same
 * 1-based update number as the LR schedule and takes that many sequences (or micro-batches of
 * gradient accumulation) for the update. Returns an integer.
 */
export function batchWarmup(o: BatchWarmupOptions): (step: number) => number {
  const mult = o.multiple ?? 1;
  if (!(Number.isInteger(mult) && mult >= 1)) throw new ConfigError(`batchWarmup: multiple must be an integer >= 1, got ${mult}`);
  if (!(Number.isInteger(o.start) && o.start >= 1)) throw new ConfigError(`batchWarmup: start must be an integer >= 1, got ${o.start}`);
  if (!(Number.isInteger(o.end) && o.end >= 1)) throw new ConfigError(`batchWarmup: end must be an integer >= 1, got ${o.end}`);
  if (!(Number.isInteger(o.steps) && o.steps >= 0)) throw new ConfigError(`batchWarmup: steps must be an integer >= 0, got ${o.steps}`);
  return (step: number) => {
    const t = o.steps === 0 ? 1 : Math.min(Math.max(step, 0) / o.steps, 1);
    const raw = o.start + (o.end - o.start) * t;
    // small epsilon so that exact multiples computed in floating point are not rounded down a notch
    return Math.max(mult, Math.floor(raw / mult + 1e-9) * mult);
  };
}
