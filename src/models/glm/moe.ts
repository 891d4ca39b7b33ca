/**
 * GLM-4.5's mixture of experts (docs/methods.md §1.2): a sigmoid router whose score-correction bias is
 * used only to select experts (group-limited top-k), weights from the unbiased scores, routed
 * experts computed only on the tokens sent to them, plus shared experts. Also the sequence-level
 * balance loss and the per-expert load counts that drive the aux-loss-free bias update.
 */
import { isGradEnabled, noGrad } from '../../tensor/autograd.js';
import { backendFor } from '../../tensor/backend/index.js';
import type { ExpertWeights } from '../../tensor/backend/backend.js';
import { bf16ComputeEnabled } from '../../tensor/ops/precision.js';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { ShapeError } from '../../errors.js';
import type { InitOptions } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import type { GlmConfig } from './config.js';
import { GlmMlp } from './layers.js';

/** mlp.gate: the router weight [E, H] and the selection bias buffer e_score_correction_bias [E]. */
export class GlmRouter extends Module {
  readonly weight: Tensor;
  readonly eScoreCorrectionBias: Tensor;
  constructor(hidden: number, experts: number, init: InitOptions) {
    super();
    this.weight = this.param('weight', Tensor.randn([experts, hidden], init.rng, init.std, init.dtype));
    this.eScoreCorrectionBias = this.buffer("eScoreCorrectionBias", Tensor.zeros([experts], init.dtype));
  }
}

export interface Routing {
  /** [N, K] chosen experts per token */
  experts: Int32Array;
  /** [N, K] combine weights (differentiable w.r.t. the router) */
  weights: Tensor;
  /** [N, E] sigmoid scores (differentiable) */
  scores: Tensor;
}

/**
 * Group-limited top-k selection on biased scores (HF Glm4MoeTopkRouter semantics): group score =
 * sum of the top-2 biased scores of each of nGroup groups; experts outside the best topkGroup
 * groups get a biased score of 0 (not -inf, as HF); then the top K biased scores win. Plain arrays.
 */
export function selectExperts(scores: Float32Array | Float64Array, bias: ArrayLike<number>, N: number, E: number, K: number, nGroup: number, topkGroup: number): Int32Array {
  const chosen = new Int32Array(N * K);
  const choice = new Float64Array(E);
  const gsize = E / nGroup;
  const groupScore = new Float64Array(nGroup);
  const order = Array.from({ length: E }, (_, i) => i);
  const gorder = Array.from({ length: nGroup }, (_, i) => i);
  for (let n = 0; n < N; n++) {
    for (let e = 0; e < E; e++) choice[e] = scores[n * E + e] + bias[e];
    if (nGroup > 1) {
      for (let g = 0; g < nGroup; g++) {
        let a = -Infinity, b = -Infinity; // top-2 of the group
        for (let e = g * gsize; e < (g + 1) * gsize; e++) {
          const v = choice[e];
          if (v > a) {
            b = a;
            a = v;
          } else if (v > b) b = v;
        }
        groupScore[g] = a + (gsize > 1 ? b : 0);
      }
      gorder.sort((x, y) => groupScore[y] - groupScore[x] || x - y);
      const keep = new Set(gorder.slice(0, topkGroup));
      for (let e = 0; e < E; e++) if (!keep.has(Math.floor(e / gsize))) choice[e] = 0;
    }
    order.sort((x, y) => choice[y] - choice[x] || x - y);
    for (let k = 0; k < K; k++) chosen[n * K + k] = order[k];
  }
  return chosen;
}

/**
 * The combine weights [N, K] of the chosen experts from the sigmoid scores [N, E], in float32 exactly
 * as route()'s ops compute them (gather; with `norm`, divide by the sum over K plus 1e-20; times
 * `scale`): one rounding per op, in the ops' order. For inference, where the ops' dispatch costs
 * more than their arithmetic.
 */
export function combineWeights(scores: Float32Array, experts: Int32Array, N: number, E: number, K: number, norm: boolean, scale: number): Float32Array {
  const w = new Float32Array(N * K);
  const eps = Math.fround(1e-20), s32 = Math.fround(scale);
  for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let k = 0; k < K; k++) {
      w[n * K + k] = scores[n * E + experts[n * K + k]];
      sum = Math.fround(sum + w[n * K + k]);
    }
    const denom = Math.fround(sum + eps);
    for (let k = 0; k < K; k++) {
      if (norm) w[n * K + k] = w[n * K + k] / denom;
      if (scale !== 1) w[n * K + k] = w[n * K + k] * s32;
    }
  }
  return w;
}

export class GlmMoe extends Module {
  readonly gate: GlmRouter;
  readonly experts: GlmMlp[];
  readonly sharedExperts: GlmMlp | null;
  /** tokens routed to each expert since the last `takeLoad()` (training forwards only) */
  private load: Float64Array;
  private readonly E: number;
  private readonly K: number;
  /** when set, every forward keeps its expert choices in `lastRouting` (RL routing checks) */
  recordRouting = false;
  /** K: routed experts per token */
  get expertsPerToken(): number {
    return this.K;
  }
  /** [N, K] experts the router chose in the last forward while `recordRouting` was set (before any replay) */
  lastRouting: Int32Array | null = null;
  /**
   * routing replay: [N, K] experts to use instead of the router's choice, for the rows of the next
   * forwards whose first entry is >= 0 (the combine weights are still the router's scores of them)
   */
  replayRouting: Int32Array | null = null;

  constructor(private readonly cfg: GlmConfig, init: InitOptions) {
    super();
    const H = cfg.hiddenSize;
    this.E = cfg.nRoutedExperts;
    this.K = cfg.numExpertsPerTok;
    this.gate = this.child('gate', new GlmRouter(H, this.E, init));
    this.experts = this.children('experts', Array.from({ length: this.E }, () => new GlmMlp(H, cfg.moeIntermediateSize, init)));
    this.sharedExperts = cfg.nSharedExperts > 0 ? this.child('sharedExperts', new GlmMlp(H, cfg.moeIntermediateSize * cfg.nSharedExperts, init)) : null;
    this.load = new Float64Array(this.E);
  }

  route(x: Tensor): Routing {
    const [N] = x.shape;
    const scores = F.sigmoid(F.linear(x, this.gate.weight)); // [N, E]
    const experts = selectExperts(scores.data as Float32Array, this.gate.eScoreCorrectionBias.data, N, this.E, this.K, this.cfg.nGroup, this.cfg.topkGroup);
    if (this.recordRouting) this.lastRouting = experts.slice();
    const replay = this.replayRouting;
    if (replay) {
      if (replay.length !== N * this.K) throw new ShapeError(`routing replay: ${replay.length / this.K} rows of experts for ${N} tokens`);
      for (let n = 0; n < N; n++) if (replay[n * this.K] >= 0) experts.set(replay.subarray(n * this.K, (n + 1) * this.K), n * this.K);
    }
    if (!isGradEnabled() && scores.dtype === 'f32') {
      const w = combineWeights(scores.data as Float32Array, experts, N, this.E, this.K, this.cfg.normTopkProb, this.cfg.routedScalingFactor);
      return { experts, weights: new Tensor(w, [N, this.K]), scores };
    }
    let w = F.gather(scores, 1, new Tensor(experts, [N, this.K])); // [N, K] unbiased scores
    if (this.cfg.normTopkProb) w = F.div(w, F.add(F.sum(w, -1, true), 1e-20));
    if (this.cfg.routedScalingFactor !== 1) w = F.mul(w, this.cfg.routedScalingFactor);
    return { experts, weights: w, scores };
  }

  /**
   * x [B, T, H] -> [B, T, H]. With `balance`, also returns the sequence-level balance loss
   * sum_i f_i P_i averaged over sequences (the caller weights it by alpha).
   */
  forward(x: Tensor, balance = false): { y: Tensor; balanceLoss: Tensor | null } {
    const [B, T, H] = x.shape;
    const N = B * T;
    const xf = F.reshape(x, [N, H]);
    const { experts, weights, scores } = this.route(xf);
    const K = this.K;
    // Group (token, slot) pairs by expert; compute each expert only on its tokens.
    const rowsOf: number[][] = Array.from({ length: this.E }, () => []);
    const slotsOf: number[][] = Array.from({ length: this.E }, () => []);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
      const e = experts[n * K + k];
      rowsOf[e].push(n);
      slotsOf[e].push(n * K + k);
    }
    if (this.training) for (let e = 0; e < this.E; e++) this.load[e] += rowsOf[e].length;
    const fused = this.fusedExperts(xf, experts, weights);
    if (fused) return { y: F.reshape(fused, [B, T, H]), balanceLoss: balance ? this.balanceLoss(experts, scores, B, T, x) : null };
    const wflat = F.reshape(weights, [N * K]);
    const parts: Tensor[] = [];
    const rows: number[] = [];
    for (let e = 0; e < this.E; e++) {
      if (rowsOf[e].length === 0) continue;
      const ye = this.experts[e].forward(F.indexSelect(xf, 0, Tensor.ids(rowsOf[e]))); // [n_e, H]
      const we = F.reshape(F.indexSelect(wflat, 0, Tensor.ids(slotsOf[e])), [rowsOf[e].length, 1]);
      parts.push(F.mul(ye, we));
      rows.push(...rowsOf[e]);
    }
    let y = F.indexAdd(Tensor.zeros([N, H], x.dtype), Tensor.ids(rows), F.concat(parts, 0));
    if (this.sharedExperts) y = F.add(y, this.sharedExperts.forward(xf));
    return { y: F.reshape(y, [B, T, H]), balanceLoss: balance ? this.balanceLoss(experts, scores, B, T, x) : null };
  }

  /**
   * The sequence-level balance loss sum_i f_i P_i averaged over sequences: f [B, E] = E/(K*T) * tokens
   * of sequence b routed to expert i (a constant); P [B, E] = mean over the sequence of s_i / sum_j s_j.
   */
  private balanceLoss(experts: Int32Array, scores: Tensor, B: number, T: number, x: Tensor): Tensor {
    const K = this.K;
    const f = Tensor.zeros([B, this.E], x.dtype);
    for (let n = 0; n < B * T; n++) for (let k = 0; k < K; k++) f.data[Math.floor(n / T) * this.E + experts[n * K + k]] += this.E / (K * T);
    const P = F.mean(F.reshape(F.div(scores, F.sum(scores, -1, true)), [B, T, this.E]), 1);
    return F.div(F.sum(F.mul(P, f)), B);
  }

  /**
   * Inference: the routed and shared experts in one backend call (decode steps carry a few tokens, so
   * the ~25 ops of the loop below cost more than their arithmetic). Bitwise the loop's result
   * (src/models/glm/moe.test.ts). Null when a gradient may be needed, a weight is not float32 (bf16
   * storage) or bf16 compute is on: the loop handles those.
   */
  private fusedExperts(xf: Tensor, experts: Int32Array, weights: Tensor): Tensor | null {
    if (isGradEnabled() || bf16ComputeEnabled() || xf.dtype !== 'f32' || weights.dtype !== 'f32') return null;
    const mlp = (m: GlmMlp): ExpertWeights | null => {
      const [g, u, d] = [m.gateProj.weight, m.upProj.weight, m.downProj.weight];
      return g.dtype === 'f32' && u.dtype === 'f32' && d.dtype === 'f32' ? { gate: g.data as Float32Array, up: u.data as Float32Array, down: d.data as Float32Array, inner: g.shape[0] } : null;
    };
    const [N, H] = xf.shape;
    // the experts used, ascending (the loop's order of terms), and each slot's index among them
    const local = new Int32Array(this.E).fill(-1);
    for (const e of experts) local[e] = 0;
    const used: ExpertWeights[] = [];
    for (let e = 0; e < this.E; e++) {
      if (local[e] < 0) continue;
      const w = mlp(this.experts[e]);
      if (!w) return null;
      local[e] = used.length;
      used.push(w);
    }
    const shared = this.sharedExperts ? mlp(this.sharedExperts) : null;
    if (this.sharedExperts && !shared) return null;
    const slotExpert = new Int32Array(experts.length);
    for (let s = 0; s < experts.length; s++) slotExpert[s] = local[experts[s]];
    const out = Tensor.zeros([N, H]);
    backendFor(xf.data).moeExpertsForward({ x: xf.data as Float32Array, tokens: N, hidden: H, k: this.K, slotExpert, weights: weights.data as Float32Array, experts: used, shared, out: out.data as Float32Array });
    return out;
  }

  /** Returns and resets the per-expert token counts gathered by training forwards. */
  takeLoad(): Float64Array {
    const l = this.load;
    this.load = new Float64Array(this.E);
    return l;
  }

  /** Aux-loss-free balancing: bias_i += u * sign(mean_load - load_i). */
  updateBias(load: ArrayLike<number>, u: number): void {
    noGrad(() => {
      let mean = 0;
      for (let e = 0; e < this.E; e++) mean += load[e] / this.E;
      const b = this.gate.eScoreCorrectionBias.data;
      for (let e = 0; e < this.E; e++) b[e] += u * Math.sign(mean - load[e]);
    });
  }
}
