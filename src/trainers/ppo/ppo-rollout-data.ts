/**
 * One PPO rollout's training tensors (on the [B, T] grid of its batch), the mini-batch view of some of
 * its rows, and its JSON form in checkpoints (exact resume).
 */
import { Tensor } from '../../tensor/tensor.js';
import type { SequenceBatch } from '../rl-utils.js';

/** One rollout's training tensors, all laid out on the [B, T] grid of `batch` (0 off the response). */
export interface RolloutData {
  batch: SequenceBatch;
  oldLogp: Float32Array;
  oldValues: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
  /** r(x, y_ref) of each row (0 without the reference baseline): subtracted from the value head */
  baselines: Float32Array;
  /** --rollout-ahead: per-token truncated importance weight min(pi_old / pi_behaviour, C) of the policy loss */
  isWeights?: Float32Array;
  /** MoE: the experts each sampled token was routed to (not saved in checkpoints) */
  routing?: ((number[] | null)[] | undefined)[];
  stats: Record<string, number>;
}

/** A rollout as JSON (float32 values print and parse back exactly). */
export interface SavedRollout {
  shape: number[];
  ids: number[];
  attention_mask: number[];
  loss_mask: number[];
  old_logp: number[];
  old_values: number[];
  advantages: number[];
  returns: number[];
  baselines: number[];
  is_weights?: number[];
  stats: Record<string, number>;
}

export function rolloutToJson(d: RolloutData): SavedRollout {
  return {
    shape: [...d.batch.ids.shape], ids: [...d.batch.ids.data], attention_mask: [...d.batch.attentionMask!], loss_mask: [...d.batch.lossMask],
    old_logp: [...d.oldLogp], old_values: [...d.oldValues], advantages: [...d.advantages], returns: [...d.returns], baselines: [...d.baselines], ...(d.isWeights ? { is_weights: [...d.isWeights] } : {}), stats: d.stats,
  };
}

export function rolloutFromJson(s: SavedRollout): RolloutData {
  return {
    batch: { ids: new Tensor(Int32Array.from(s.ids), s.shape), attentionMask: Int32Array.from(s.attention_mask), lossMask: Float32Array.from(s.loss_mask) },
    oldLogp: Float32Array.from(s.old_logp), oldValues: Float32Array.from(s.old_values), advantages: Float32Array.from(s.advantages),
    returns: Float32Array.from(s.returns), baselines: Float32Array.from(s.baselines), stats: s.stats,
    ...(s.is_weights ? { isWeights: Float32Array.from(s.is_weights) } : {}),
  };
}

/** Rows of a rollout as a smaller rollout (columns trimmed to the longest selected row). */
export function selectRows(d: RolloutData, rows: number[]): RolloutData {
  const [, T] = d.batch.ids.shape;
  let Tm = 1;
  for (const r of rows) for (let t = 0; t < T; t++) if (d.batch.attentionMask![r * T + t]) Tm = Math.max(Tm, t + 1);
  const B = rows.length;
  const pick = <A extends Float32Array | Int32Array>(src: A, make: (n: number) => A): A => {
    const out = make(B * Tm);
    rows.forEach((r, b) => out.set(src.subarray(r * T, r * T + Tm), b * Tm));
    return out;
  };
  const f32 = (n: number) => new Float32Array(n), i32 = (n: number) => new Int32Array(n);
  return {
    batch: { ids: new Tensor(pick(d.batch.ids.data as Int32Array, i32), [B, Tm]), attentionMask: pick(d.batch.attentionMask!, i32), lossMask: pick(d.batch.lossMask, f32) },
    oldLogp: pick(d.oldLogp, f32),
    oldValues: pick(d.oldValues, f32),
    advantages: pick(d.advantages, f32),
    returns: pick(d.returns, f32),
    baselines: Float32Array.from(rows, (r) => d.baselines[r]),
    isWeights: d.isWeights ? pick(d.isWeights, f32) : undefined,
    stats: d.stats,
    routing: d.routing ? rows.map((r) => d.routing![r]) : undefined,
  };
}
