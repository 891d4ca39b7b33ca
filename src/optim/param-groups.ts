/**
 * GLM-4.5's optimizer split (docs/methods.md §3) and the combined optimizer the trainer uses.
 *
 * Roles, decided from each parameter's HF name and shape:
 *   muon             2-D weight matrices: attention q/k/v/o, MLP gate/up/down (fused gate_up in
 *                    GLM-4), every expert and shared expert, the MoE router `mlp.gate.weight`, and
 *                    the MTP `eh_proj`. With `muon: false` these go to `adamw` instead.
 *   adamw            the word embedding `embed_tokens`, the output head `lm_head`, the MTP head
 *                    `shared_head.head` and the sequence-classification `score` head (2-D, but they
 *                    map tokens/labels rather than mix features, so Muon's orthogonalisation does not
 *                    fit them), and any tensor with more than 2 dims; weight decay applies.
 *   adamw_no_decay   1-D tensors: biases and RMSNorm weights (input/post-attention/sandwich norms,
 *                    q_norm/k_norm, enorm/hnorm, final norm); no weight decay.
 *
 * `HybridOptimizer` drives a Muon and an AdamW together behind one `Optimizer` interface: one `lr`
 * (GLM-4.5 uses one schedule and the same peak LR for both, Muon's update being scaled to AdamW's RMS),
 * one `update()`, one `zeroGrad()`, one state export/import.
 */
import { ConfigError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { AdamW, type ParamGroup } from './adamw.js';
import { Muon, type MuonOptions } from './muon.js';
import { checkAllUsed, type Optimizer, type OptimizerState } from './state.js';

export type ParamRole = 'muon' | 'adamw' | 'adamw_no_decay';

/** Names of the 2-D parameters kept on AdamW: embeddings and output heads. */
export const ADAMW_MATRIX_PATTERN = /(^|\.)(embed_tokens|lm_head|shared_head\.head|score)\.weight$/;

/** The role of one parameter (see the file comment). */
export function paramRole(name: string, shape: readonly number[], useMuon: boolean): ParamRole {
  if (shape.length <= 1) return 'adamw_no_decay';
  if (shape.length === 2 && useMuon && !ADAMW_MATRIX_PATTERN.test(name)) return 'muon';
  return 'adamw';
}

export interface GlmParamGroupOptions {
  /** true: GLM-4.5's Muon + AdamW split; false: everything on AdamW */
  muon: boolean;
  /** weight decay of the Muon group and of AdamW's decayed group (norms and biases get 0) */
  weightDecay: number;
}

export interface GlmParamGroups {
  /** the Muon group (null when `muon` is false or the model has no such matrix) */
  muon: ParamGroup | null;
  /** AdamW groups: decayed (embeddings, heads) and not decayed (norms, biases); empty ones are left out */
  adamw: ParamGroup[];
  /** every parameter name and its role, in the model's order */
  roles: Map<string, ParamRole>;
}

/** Splits a model's named parameters into the Muon group and AdamW's decay / no-decay groups. */
export function glmParamGroups(model: { namedParameters(): [string, Tensor][] }, opts: GlmParamGroupOptions): GlmParamGroups {
  const muon: ParamGroup = { params: [], names: [], weightDecay: opts.weightDecay };
  const decay: ParamGroup = { params: [], names: [], weightDecay: opts.weightDecay };
  const noDecay: ParamGroup = { params: [], names: [], weightDecay: 0 };
  const roles = new Map<string, ParamRole>();
  const seen = new Set<Tensor>();
  for (const [name, p] of model.namedParameters()) {
    if (seen.has(p)) continue; // a tensor shared under two names is optimised once
    seen.add(p);
    const role = paramRole(name, p.shape, opts.muon);
    roles.set(name, role);
    const g = role === 'muon' ? muon : role === 'adamw' ? decay : noDecay;
    g.params.push(p);
    g.names!.push(name);
  }
  return { muon: muon.params.length > 0 ? muon : null, adamw: [decay, noDecay].filter((g) => g.params.length > 0), roles };
}

export interface HybridOptions {
  /** learning rate of both optimizers (the trainer sets `lr` from the schedule every update) */
  lr: number;
  /** true (default): GLM-4.5's Muon for matrices; false: AdamW for everything */
  muon?: boolean;
  /** default 0.1 (GLM-4.5) */
  weightDecay?: number;
  adamw?: { beta1?: number; beta2?: number; eps?: number };
  /** Muon settings other than lr and weight decay (momentum, nesterov, nsSteps, updateRms, eps) */
  muonOptions?: Omit<MuonOptions, 'lr' | 'weightDecay'>;
}

/** A Muon and an AdamW over disjoint parameters, used as one optimizer. */
export class HybridOptimizer implements Optimizer {
  private _lr: number;

  constructor(readonly muon: Muon | null, readonly adamw: AdamW | null) {
    if (!muon && !adamw) throw new ConfigError('HybridOptimizer: needs at least one of Muon and AdamW');
    if (muon && adamw) {
      const a = new Set(adamw.parameters());
      const both = muon.parameters().find((p) => a.has(p));
      if (both) throw new ConfigError(`HybridOptimizer: parameter '${muon.names.get(both)}' is in both Muon and AdamW; each parameter needs exactly one optimizer`);
    }
    this._lr = (muon ?? adamw)!.lr;
    this.lr = this._lr;
  }

  /** Builds the GLM-4.5 split of a model (see `glmParamGroups`) with HF names as state keys. */
  static forModel(model: { namedParameters(): [string, Tensor][] }, o: HybridOptions): HybridOptimizer {
    const weightDecay = o.weightDecay ?? 0.1;
    const groups = glmParamGroups(model, { muon: o.muon ?? true, weightDecay });
    const muon = groups.muon ? new Muon([groups.muon], { ...o.muonOptions, lr: o.lr, weightDecay }) : null;
    const adamw = groups.adamw.length > 0 ? new AdamW(groups.adamw, { ...o.adamw, lr: o.lr, weightDecay }) : null;
    return new HybridOptimizer(muon, adamw);
  }

  get lr(): number {
    return this._lr;
  }
  /** Sets the learning rate of both optimizers. */
  set lr(v: number) {
    this._lr = v;
    if (this.muon) this.muon.lr = v;
    if (this.adamw) this.adamw.lr = v;
  }

  get step(): number {
    return Math.max(this.muon?.step ?? 0, this.adamw?.step ?? 0);
  }

  update(): void {
    this.muon?.update();
    this.adamw?.update();
  }

  zeroGrad(): void {
    this.muon?.zeroGrad();
    this.adamw?.zeroGrad();
  }

  parameters(): Tensor[] {
    return [...(this.muon?.parameters() ?? []), ...(this.adamw?.parameters() ?? [])];
  }

  /** Both optimizers' buffers (disjoint names) and both scalar sections. */
  exportState(): OptimizerState {
    const parts = [this.muon?.exportState(), this.adamw?.exportState()].filter((s): s is OptimizerState => !!s);
    const tensors: OptimizerState['tensors'] = new Map();
    const scalars: OptimizerState['scalars'] = {};
    for (const s of parts) {
      for (const [k, v] of s.tensors) tensors.set(k, v);
      Object.assign(scalars, s.scalars);
    }
    return { tensors, scalars };
  }

  /** Restores both optimizers; every saved buffer must belong to one of them (CheckpointError otherwise). */
  importState(state: OptimizerState): void {
    const used = new Set<string>();
    this.muon?.loadState(state, used);
    this.adamw?.loadState(state, used);
    checkAllUsed(state, used);
    this._lr = (this.muon ?? this.adamw)!.lr;
  }
}
