/**
 * Optimizer state save / load. Every optimizer exports its per-parameter buffers as named float32
 * arrays, named after the parameter (HF name when the optimizer was given names):
 *
 *   <param name>.exp_avg          AdamW first moment
 *   <param name>.exp_avg_sq       AdamW second moment
 *   <param name>.momentum_buffer  Muon momentum
 *
 * (flat, in the parameter's row-major order) plus a small JSON of scalars, one section per optimizer (`{ adamw: { step, lr, ... }, muon: {...} }`).
 * `saveOptimizerState` writes both into one `optimizer.safetensors` (the scalars go in the header's
 * `__metadata__` under `scalars`, as the trainer's checkpoint does), and `loadOptimizerState` reads them back, so a trainer
 * resumes bit-exactly: float32 buffers round-trip without change and the step counters (which drive
 * AdamW's bias correction) are restored. A parameter that never received a gradient has no state and
 * is simply absent. Optimizers over f64 parameters (tests) export their buffers rounded to float32.
 */
import { CheckpointError, ConfigError } from '../errors.js';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import type { FloatArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** The scalars of one optimizer: its kind, step counter, learning rate and hyperparameters (for reference). */
export interface OptimizerScalars {
  kind: 'adamw' | 'muon';
  step: number;
  lr: number;
  [hyper: string]: number | string | boolean;
}

export interface OptimizerState {
  /** state buffers by name (`<param name>.exp_avg`, ...), flat, in the parameter's row-major order */
  tensors: Map<string, Float32Array>;
  /** one `OptimizerScalars` section per optimizer, keyed by its kind (`adamw`, `muon`); JSON-serialisable */
  scalars: Record<string, unknown>;
}

/** What the trainer needs from any glmkit optimizer (AdamW, Muon, HybridOptimizer). */
export interface Optimizer {
  /** current learning rate (the trainer sets it from the schedule before each update) */
  lr: number;
  /** number of updates applied so far */
  readonly step: number;
  /** one update of every parameter that has a gradient */
  update(): void;
  /** drops every parameter's gradient */
  zeroGrad(): void;
  /** all parameters this optimizer updates */
  parameters(): Tensor[];
  exportState(): OptimizerState;
  importState(state: OptimizerState): void;
}

/** The metadata key that holds the scalars JSON in optimizer.safetensors. */
export const OPTIMIZER_METADATA_KEY = 'scalars';

/** A float32 copy of a state buffer (a plain copy for f32, rounded for f64). */
export function stateCopy(data: FloatArray): Float32Array {
  return data instanceof Float32Array ? data.slice() : Float32Array.from(data);
}

/**
 * Parameter names of groups: the group's `names` when given (must match `params` in length), else
 * positional names `params.<group>.<index>` (stable as long as the optimizer is built the same way).
 * Throws on duplicates, since state is keyed by name.
 */
export function groupParamNames(owner: string, groups: readonly { params: Tensor[]; names?: string[] }[]): Map<Tensor, string> {
  const out = new Map<Tensor, string>();
  const seen = new Set<string>();
  groups.forEach((g, gi) => {
    if (g.names && g.names.length !== g.params.length) {
      throw new ConfigError(`${owner}: param group ${gi} has ${g.params.length} params but ${g.names.length} names; give one name per parameter`);
    }
    g.params.forEach((p, pi) => {
      const name = g.names ? g.names[pi] : `params.${gi}.${pi}`;
      if (seen.has(name)) throw new ConfigError(`${owner}: parameter name '${name}' is used twice; optimizer state is keyed by name, so names must be unique`);
      seen.add(name);
      out.set(p, name);
    });
  });
  return out;
}

/**
 * Copies a saved state buffer into `dst`, checking that it exists with the expected element count.
 * Marks the name as used.
 */
export function readStateInto(state: OptimizerState, name: string, dst: FloatArray, shape: readonly number[], used: Set<string>): void {
  const t = state.tensors.get(name);
  if (!t) throw new CheckpointError(`optimizer state: missing '${name}' (expected shape [${shape.join(', ')}]); the state was saved from a different model or optimizer grouping`);
  if (t.length !== dst.length) {
    throw new CheckpointError(`optimizer state: '${name}' has ${t.length} elements, expected ${dst.length} (shape [${shape.join(', ')}]); the model differs from the run that saved it`);
  }
  dst.set(t);
  used.add(name);
}

/** The section `kind` of the scalars, validated. */
export function scalarsSection(state: OptimizerState, kind: 'adamw' | 'muon'): OptimizerScalars {
  const s = state.scalars[kind] as OptimizerScalars | undefined;
  if (typeof s !== 'object' || s === null || s.kind !== kind) {
    const have = Object.keys(state.scalars).join(', ') || 'none';
    throw new CheckpointError(`optimizer state: no '${kind}' section (found: ${have}); it was saved by a different optimizer`);
  }
  if (!Number.isInteger(s.step) || s.step < 0) throw new CheckpointError(`optimizer state: '${kind}.step' must be an integer >= 0, got ${String(s.step)}`);
  if (typeof s.lr !== 'number' || !Number.isFinite(s.lr)) throw new CheckpointError(`optimizer state: '${kind}.lr' must be a finite number, got ${String(s.lr)}`);
  return s;
}

/** Throws when some saved buffers were not claimed by any parameter (a different model or grouping). */
export function checkAllUsed(state: OptimizerState, used: Set<string>): void {
  const extra = [...state.tensors.keys()].filter((k) => !used.has(k));
  if (extra.length > 0) {
    const list = extra.slice(0, 5).join(', ') + (extra.length > 5 ? `, ... (${extra.length} in all)` : '');
    throw new CheckpointError(
      `optimizer state: buffers with no matching parameter in this optimizer: ${list}; the model or the Muon/AdamW grouping differs from the run that saved it`,
    );
  }
}

/** Tensors (flat F32) + metadata ready for `writeSafetensors`. */
export function stateToSafetensors(state: OptimizerState): { tensors: TensorToWrite[]; metadata: Record<string, string> } {
  const tensors: TensorToWrite[] = [...state.tensors].map(([name, data]) => ({ name, shape: [data.length], data, dtype: 'F32' }));
  return { tensors, metadata: { [OPTIMIZER_METADATA_KEY]: JSON.stringify(state.scalars) } };
}

/** Writes an optimizer's state to `path` (atomically, float32). */
export function saveOptimizerState(path: string, state: OptimizerState): void {
  const { tensors, metadata } = stateToSafetensors(state);
  writeSafetensors(path, tensors, { metadata });
}

/** Reads a file written by `saveOptimizerState`. */
export function loadOptimizerState(path: string): OptimizerState {
  const f = openSafetensors(path);
  try {
    const raw = f.metadata?.[OPTIMIZER_METADATA_KEY];
    if (raw === undefined) throw new CheckpointError(`${path}: no '${OPTIMIZER_METADATA_KEY}' entry in __metadata__; not an optimizer state file written by glmkit`);
    let scalars: unknown;
    try {
      scalars = JSON.parse(raw);
    } catch (e) {
      throw new CheckpointError(`${path}: '${OPTIMIZER_METADATA_KEY}' metadata is not valid JSON (${(e as Error).message})`);
    }
    if (typeof scalars !== 'object' || scalars === null || Array.isArray(scalars)) {
      throw new CheckpointError(`${path}: '${OPTIMIZER_METADATA_KEY}' metadata must be a JSON object of optimizer sections`);
    }
    const tensors = new Map<string, Float32Array>();
    for (const t of f.tensors.values()) {
      if (t.dtype !== 'F32') throw new CheckpointError(`${path}: tensor '${t.name}' is ${t.dtype}; optimizer state is stored as F32`);
      tensors.set(t.name, t.read());
    }
    return { tensors, scalars: scalars as Record<string, unknown> };
  } finally {
    f.close();
  }
}
