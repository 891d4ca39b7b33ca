/**
 * AdamW (decoupled weight decay, bias-corrected moments) over the fused backend kernel: one call
 * per parameter tensor updates the parameter and both moments in place.
 */
import { noGrad } from '../tensor/autograd.js';
import { backendFor } from '../tensor/backend/index.js';
import type { FloatArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkAllUsed, groupParamNames, readStateInto, scalarsSection, stateCopy, type OptimizerState } from './state.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface ParamGroup {
  params: Tensor[];
  /** overrides the optimizer's weight decay for this group (e.g. 0 for norms and biases) */
  weightDecay?: number;
  /** one name per param (HF names), used to key the exported state; default `params.<group>.<index>` */
  names?: string[];
}

export class AdamW {
  readonly groups: ParamGroup[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  step = 0;
  readonly state = new Map<Tensor, { m: FloatArray; v: FloatArray }>();
  /** parameter -> name used in the exported state */
  readonly names: Map<Tensor, string>;

  constructor(params: Tensor[] | ParamGroup[], opts: AdamWOptions) {
    this.groups = params.length > 0 && 'params' in (params[0] as object) ? (params as ParamGroup[]) : [{ params: params as Tensor[] }];
    this.names = groupParamNames('AdamW', this.groups);
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  /** One update of every parameter that has a gradient. */
  update(): void {
    this.step++;
    noGrad(() => {
      for (const g of this.groups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          let s = this.state.get(p);
          if (!s) {
            const Ctor = p.data.constructor as new (n: number) => FloatArray;
            s = { m: new Ctor(p.size), v: new Ctor(p.size) };
            this.state.set(p, s);
          }
          backendFor(p.data).adamw({
            param: p.data as FloatArray, grad: p.grad.data as FloatArray, m: s.m, v: s.v, lr: this.lr,
            beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: g.weightDecay ?? this.weightDecay, step: this.step,
          });
        }
      }
    });
  }

  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.grad = null;
  }

  parameters(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** Moments as `<name>.exp_avg` / `<name>.exp_avg_sq` (float32 copies) and the `adamw` scalars section. */
  exportState(): OptimizerState {
    const tensors: OptimizerState['tensors'] = new Map();
    for (const [p, s] of this.state) {
      const name = this.names.get(p)!;
      tensors.set(`${name}.exp_avg`, stateCopy(s.m));
      tensors.set(`${name}.exp_avg_sq`, stateCopy(s.v));
    }
    const scalars = { adamw: { kind: 'adamw' as const, step: this.step, lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay } };
    return { tensors, scalars };
  }

  /** Restores what `exportState` produced (step, lr, moments); throws CheckpointError on any mismatch. */
  importState(state: OptimizerState): void {
    const used = new Set<string>();
    this.loadState(state, used);
    checkAllUsed(state, used);
  }

  /**
   * Restores step, lr and the moments of every parameter whose `<name>.exp_avg` is present (others
   * start fresh: they had no gradient yet when the state was saved); adds the names read to `used`.
   */
  loadState(state: OptimizerState, used: Set<string>): void {
    const sc = scalarsSection(state, 'adamw');
    this.state.clear();
    for (const [p, name] of this.names) {
      if (!state.tensors.has(`${name}.exp_avg`)) continue;
      const Ctor = p.data.constructor as new (n: number) => FloatArray;
      const s = { m: new Ctor(p.size), v: new Ctor(p.size) };
      readStateInto(state, `${name}.exp_avg`, s.m, p.shape, used);
      readStateInto(state, `${name}.exp_avg_sq`, s.v, p.shape, used);
      this.state.set(p, s);
    }
    this.step = sc.step;
    this.lr = sc.lr;
  }
}
