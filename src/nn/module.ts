/**
 * Module: a tree of named parameters (and buffers), like torch.nn.Module. Children and tensors are
 * registered under their camelCase property names; `stateDict()` names them with HF's snake_case
 * (`model.layers.3.selfAttn.qProj.weight` <-> `model.layers.3.self_attn.q_proj.weight`), so no
 * hand-kept mapping table exists.
 */
import { CheckpointError } from '../errors.js';
import { toHalf } from '../io/half.js';
import type { TypedData } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt, shapesEqual } from '../tensor/shape.js';

/** A camelCase module or tensor name in HF's snake_case (`selfAttn` -> `self_attn`). */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export abstract class Module {
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _children = new Map<string, Module>();
  /** false in eval mode (no dropout in GLM; kept for heads that care). */
  training = true;

  /** Registers a trainable parameter (marked requiresGrad) and returns it. */
  protected param(name: string, t: Tensor): Tensor {
    this._params.set(name, t.requireGrad(true));
    return t;
  }

  /** Registers a non-trainable tensor that is saved with the model (e.g. the router's score-correction bias). */
  protected buffer(name: string, t: Tensor): Tensor {
    this._buffers.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this._children.set(name, m);
    return m;
  }

  /** Registers a list of children as `name.0`, `name.1`, ... */
  protected children<M extends Module>(name: string, ms: M[]): M[] {
    const list = new ModuleList(ms);
    this._children.set(name, list);
    return ms;
  }

  /** Trainable parameters with their HF names. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this._params) out.push([prefix + snakeCase(n), t]);
    for (const [n, c] of this._children) out.push(...c.namedParameters(`${prefix}${snakeCase(n)}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters and buffers with their HF names (what a checkpoint holds). */
  stateDict(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, t] of this._params) out.set(prefix + snakeCase(n), t);
    for (const [n, t] of this._buffers) out.set(prefix + snakeCase(n), t);
    for (const [n, c] of this._children) for (const [k, v] of c.stateDict(`${prefix}${snakeCase(n)}.`)) out.set(k, v);
    return out;
  }

  /**
   * Copies tensors into this module's parameters and buffers by HF name. Every entry of the
   * module must be present with the same shape (CheckpointError otherwise); `ignore` says which
   * extra names in `tensors` are fine (returns the names that were not used).
   */
  loadStateDict(tensors: Map<string, { shape: readonly number[]; data: ArrayLike<number> }>, source = 'state dict'): string[] {
    const own = this.stateDict();
    for (const [name, t] of own) {
      const src = tensors.get(name);
      if (!src) throw new CheckpointError(`${source}: missing tensor '${name}' (expected shape ${fmt(t.shape)})`);
      if (!shapesEqual(src.shape, t.shape)) throw new CheckpointError(`${source}: tensor '${name}' has shape ${fmt(src.shape)}, expected ${fmt(t.shape)}`);
      if (t.dtype === 'bf16') (t.data as Uint16Array).set(toHalf(src.data instanceof Float32Array ? src.data : Float32Array.from(src.data), 'bf16'));
      else (t.data as Float32Array).set(src.data);
    }
    return [...tensors.keys()].filter((k) => !own.has(k));
  }

  /**
   * Converts, in place, the parameters `select` picks (by HF name) to `dtype`: 'bf16' stores frozen
   * weights in half the memory (linear and embedding read them directly, src/tensor/ops/bf16.ts;
   * they no longer require gradients); 'f32' widens them back (exact) and makes them trainable
   * again. The Tensor objects stay, so every layer holding one sees the new data. Returns how many
   * parameters changed.
   */
  castParameters(dtype: 'bf16' | 'f32', select: (name: string, t: Tensor) => boolean = () => true): number {
    let changed = 0;
    for (const [name, t] of this.namedParameters()) {
      if (t.dtype === dtype || !select(name, t)) continue;
      const converted = t.to(dtype).data;
      t.requiresGrad = false;
      t.grad = null;
      (t as unknown as { data: TypedData }).data = converted;
      if (dtype === 'f32') t.requireGrad(true);
      changed++;
    }
    return changed;
  }

  /** Bytes the parameters and buffers hold. */
  parameterBytes(): number {
    let n = 0;
    for (const t of this.stateDict().values()) n += t.data.byteLength;
    return n;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  train(on = true): this {
    this.training = on;
    for (const c of this._children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }
}

/** An indexed list of modules (`layers.0`, `layers.1`, ...). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.child(String(i), m));
  }
}

export { Tensor };
