/**
 * Weight interpolation of two modules of one architecture: model <- (1 - alpha) * model + alpha * other,
 * tensor by tensor (WiSE-FT's merge of a fine-tuned model back towards the model it came from; the
 * long-context stage mixes the SFT model's weights into its long-context model to give back
 * short-context ability, docs/long-context.md "Merging the SFT weights back").
 */
import { CheckpointError, ConfigError } from '../errors.js';
import { fmt, shapesEqual } from '../tensor/shape.js';
import type { Module } from './module.js';

/** Mixes `other`'s weights into `model` in place with weight `alpha` in [0, 1]; every tensor must match by name, shape and dtype float32. */
export function interpolateInto(model: Module, other: Module, alpha: number, source = 'the other model'): void {
  if (!(alpha >= 0 && alpha <= 1)) throw new ConfigError(`merge weight must be in [0, 1], got ${alpha}`);
  const theirs = other.stateDict();
  const own = model.stateDict();
  for (const name of theirs.keys()) if (!own.has(name)) throw new CheckpointError(`${source}: tensor '${name}' has no counterpart in the model; merge models of the same architecture`);
  for (const [name, t] of own) {
    const o = theirs.get(name);
    if (!o) throw new CheckpointError(`${source}: missing tensor '${name}'; merge models of the same architecture`);
    if (!shapesEqual(o.shape, t.shape)) throw new CheckpointError(`${source}: tensor '${name}' has shape ${fmt(o.shape)}, expected ${fmt(t.shape)}`);
    if (t.dtype !== 'f32' || o.dtype !== 'f32') throw new ConfigError(`merge: tensor '${name}' is ${t.dtype === 'f32' ? o.dtype : t.dtype}; merge float32 models (load them without --dtype bf16)`);
    const a = t.data as Float32Array, b = o.data as Float32Array;
    for (let i = 0; i < a.length; i++) a[i] = (1 - alpha) * a[i] + alpha * b[i];
  }
}
