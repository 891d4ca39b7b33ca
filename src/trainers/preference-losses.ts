/**
 * The preference losses (docs/methods.md §4-5), over per-sequence log-ratios
 *   h(x, y) = sum over response tokens of [log pi_theta(y_t | ...) - log pi_ref(y_t | ...)].
 *
 * - Reward model:  -log sigmoid(r_w - r_l) + alpha * (r_w^2 + r_l^2)          (pairwiseRewardLoss)
 * - DPO:           -log sigmoid(beta * (h_w - h_l)), optionally label-smoothed (cDPO) or the IPO
 *                  square loss; LongReward adds lambda * NLL(y_w) in the trainer  (dpoLoss)
 * - EXO:           KL(p_f || p_r) over K candidates of one prompt with
 *                  p_f = softmax_i(beta_pi * h_i), p_r = softmax_i(log-target_i)  (exoLoss)
 *                  targets from rewards: log p_r = log softmax(r / beta_r)        (rewardTargets)
 *                  targets from a pair:  log p_r = log softmax([0, -10])           (pairTargets)
 * - The forward KL / cross-entropy -sum_i p_r(i) log p_f(i) (forwardKlLoss) is DPO for K = 2 with
 *   one-hot labels; EXO's reverse KL is the mode-seeking counterpart.
 * All losses are means over the batch and differentiable w.r.t. h (any float dtype).
 */
import * as F from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';

/** Per-batch statistics of a pairwise loss (TRL's names without the prefix). */
export interface PairStats {
  /** mean of beta * h_w (DPO's implicit reward of the chosen) */
  chosen: number;
  rejected: number;
  /** share of pairs with chosen > rejected */
  accuracy: number;
  /** mean of chosen - rejected */
  margin: number;
}

function pairStats(a: Tensor, b: Tensor): PairStats {
  const n = a.size;
  let sa = 0, sb = 0, acc = 0;
  for (let i = 0; i < n; i++) {
    sa += a.data[i];
    sb += b.data[i];
    if (a.data[i] > b.data[i]) acc++;
  }
  return { chosen: sa / n, rejected: sb / n, accuracy: acc / n, margin: (sa - sb) / n };
}

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.ndim !== 1 || b.ndim !== 1 || a.size !== b.size) throw new ShapeError(`${op}: expected two [B] tensors of the same size, got [${a.shape}] and [${b.shape}]`);
}

/**
 * Reward-model loss of pairs: mean over pairs of -log sigmoid(r_w - r_l) + alpha * (r_w^2 + r_l^2).
 * rw, rl: [B] scores of the chosen and rejected responses.
 */
export function pairwiseRewardLoss(rw: Tensor, rl: Tensor, alpha = 0): { loss: Tensor; stats: PairStats } {
  sameShape('pairwiseRewardLoss', rw, rl);
  let per = F.neg(F.logSigmoid(F.sub(rw, rl)));
  if (alpha > 0) per = F.add(per, F.mul(F.add(F.square(rw), F.square(rl)), alpha));
  return { loss: F.mean(per), stats: pairStats(rw, rl) };
}

export type DpoLossType = 'sigmoid' | 'ipo';

export interface DpoOptions {
  beta: number;
  /** 'sigmoid' (DPO; label smoothing gives cDPO) or 'ipo' ((h_w - h_l - 1/(2 beta))^2) */
  lossType?: DpoLossType;
  /** cDPO: the chance a label is flipped, in [0, 0.5) */
  labelSmoothing?: number;
}

/**
 * DPO loss over pairs: hw, hl [B] log-ratios of chosen / rejected. Returns the mean loss and the
 * implicit rewards beta * h (TRL's rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins).
 */
export function dpoLoss(hw: Tensor, hl: Tensor, opts: DpoOptions): { loss: Tensor; stats: PairStats } {
  sameShape('dpoLoss', hw, hl);
  const beta = opts.beta;
  const d = F.sub(hw, hl);
  let per: Tensor;
  if ((opts.lossType ?? 'sigmoid') === 'ipo') {
    per = F.square(F.sub(d, 1 / (2 * beta)));
  } else {
    const eps = opts.labelSmoothing ?? 0;
    const z = F.mul(d, beta);
    per = F.neg(F.logSigmoid(z));
    if (eps > 0) per = F.add(F.mul(per, 1 - eps), F.mul(F.neg(F.logSigmoid(F.neg(z))), eps));
  }
  return { loss: F.mean(per), stats: pairStats(F.mul(hw, beta), F.mul(hl, beta)) };
}

/** log softmax_i(r_i / beta_r) over each group of K consecutive rewards: [N*K] -> [N, K] log-probs. */
export function rewardTargets(rewards: readonly number[], K: number, betaR: number): Float64Array {
  if (K < 2 || rewards.length % K !== 0) throw new ShapeError(`rewardTargets: ${rewards.length} rewards do not split into groups of K = ${K} >= 2`);
  if (!(betaR > 0)) throw new ShapeError(`rewardTargets: beta_r must be > 0, got ${betaR}`);
  const out = new Float64Array(rewards.length);
  for (let g = 0; g < rewards.length; g += K) {
    let max = -Infinity;
    for (let i = 0; i < K; i++) max = Math.max(max, rewards[g + i] / betaR);
    let z = 0;
    for (let i = 0; i < K; i++) z += Math.exp(rewards[g + i] / betaR - max);
    for (let i = 0; i < K; i++) out[g + i] = rewards[g + i] / betaR - max - Math.log(z);
  }
  return out;
}

/**
 * EXO-pref targets for N pairs laid out [chosen, rejected] per row: log softmax([0, -gap]) (the
 * reference code's 0 / -10 labels, normalised so the loss is a true KL >= 0).
 */
export function pairTargets(N: number, gap = 10): Float64Array {
  const lz = Math.log(1 + Math.exp(-gap));
  const out = new Float64Array(2 * N);
  for (let i = 0; i < N; i++) {
    out[2 * i] = -lz;
    out[2 * i + 1] = -gap - lz;
  }
  return out;
}

function targetTensor(op: string, h: Tensor, logTargets: ArrayLike<number>): Tensor {
  if (h.ndim !== 2 || h.shape[1] < 2) throw new ShapeError(`${op}: expected h of shape [N, K] with K >= 2, got [${h.shape}]`);
  if (logTargets.length !== h.size) throw new ShapeError(`${op}: ${logTargets.length} target log-probs for h of shape [${h.shape}]`);
  return Tensor.from(logTargets, h.shape, h.dtype);
}

/**
 * EXO: mean over prompts of KL(p_f || p_r) = sum_i p_f(i) (log p_f(i) - log p_r(i)), with
 * p_f = softmax(beta_pi * h) over the K candidates of a row. h: [N, K]; logTargets: [N*K] log p_r.
 */
export function exoLoss(h: Tensor, logTargets: ArrayLike<number>, betaPi: number): { loss: Tensor; pf: Tensor } {
  const lr = targetTensor('exoLoss', h, logTargets);
  const lf = F.logSoftmax(F.mul(h, betaPi), -1); // [N, K]
  const pf = F.exp(lf);
  const per = F.sum(F.mul(pf, F.sub(lf, lr)), 1); // [N]
  return { loss: F.mean(per), pf };
}

/**
 * The forward KL's cross-entropy part: mean over prompts of -sum_i p_r(i) log p_f(i). For K = 2 and
 * one-hot p_r on the chosen this is exactly DPO's -log sigmoid(beta (h_w - h_l)).
 */
export function forwardKlLoss(h: Tensor, targetProbs: ArrayLike<number>, betaPi: number): Tensor {
  const pr = targetTensor('forwardKlLoss', h, targetProbs);
  const lf = F.logSoftmax(F.mul(h, betaPi), -1);
  return F.mean(F.neg(F.sum(F.mul(pr, lf), 1)));
}
