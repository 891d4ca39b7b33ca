/**
 * DPO's loss on pairs whose reference log-probs are known (the trainer looks them up first, in
 * dpo-trainer.ts), shared by the trainer's one-thread path and the data-parallel shards
 * (src/trainers/base/shard-losses.ts). Pairs run in groups of similar length, each a [2b, T] batch of
 * chosen rows then rejected rows padded to its own longest.
 *
 *   loss = share * mean over the pairs of the DPO loss  [+ rpo_alpha * -sum(log pi(y_w)) / chosenTokens]
 *
 * `share` is these pairs' share of the micro-batch (1 on one thread) and `chosenTokens` the chosen
 * response tokens of the whole micro-batch, so shards' losses add up to the micro-batch's. Metrics
 * are shares likewise (means times `share`; nll_loss as its part of the sum).
 */
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import { responseBatch, type TokenizedResponse } from '../../data/preference.js';
import { sequenceLogps } from '../rl-utils.js';
import { dpoLoss, type DpoLossType } from '../preference-losses.js';
import { lengthGroups } from '../base/length-groups.js';

export interface DpoPairItem {
  chosen: TokenizedResponse;
  rejected: TokenizedResponse;
  /** reference log-probs of the chosen and the rejected response */
  refW: number;
  refL: number;
}

export interface DpoPairOptions {
  beta: number;
  lossType: DpoLossType;
  labelSmoothing: number;
  rpoAlpha: number;
  padId: number;
  lengthGroups: number;
  /** these pairs' share of the micro-batch's pairs (1 = all of them) */
  share: number;
  /** chosen response tokens of the whole micro-batch (the NLL term's denominator) */
  chosenTokens: number;
}

export function dpoPairsLoss(policy: GlmForCausalLM, items: readonly DpoPairItem[], o: DpoPairOptions): { loss: Tensor; dpo: number; metrics: Record<string, number>; tokens: number } {
  const B = items.length;
  const groups = lengthGroups(items.map((p) => Math.max(p.chosen.ids.length, p.rejected.ids.length)), o.lengthGroups);
  let tokens = 0;
  const parts = groups.map((g) => {
    const batch = responseBatch([...g.map((i) => items[i].chosen), ...g.map((i) => items[i].rejected)], o.padId);
    tokens += batch.attentionMask!.reduce((a, b) => a + b, 0);
    return { lp: sequenceLogps(policy, batch), n: g.length }; // [2b]
  });
  const order = groups.flat();
  const logps = parts.length === 1 ? parts[0].lp : F.concat([...parts.map((p) => F.slice(p.lp, 0, 0, p.n)), ...parts.map((p) => F.slice(p.lp, 0, p.n, 2 * p.n))]);
  const ref = [...order.map((i) => items[i].refW), ...order.map((i) => items[i].refL)];
  const h = F.sub(logps, new Tensor(Float32Array.from(ref), [2 * B]));
  const r = dpoLoss(F.slice(h, 0, 0, B), F.slice(h, 0, B, 2 * B), { beta: o.beta, lossType: o.lossType, labelSmoothing: o.labelSmoothing });
  const lw = F.slice(logps, 0, 0, B);
  let loss = o.share === 1 ? r.loss : F.mul(r.loss, o.share);
  const metrics: Record<string, number> = {
    'rewards/chosen': r.stats.chosen * o.share,
    'rewards/rejected': r.stats.rejected * o.share,
    'rewards/accuracies': r.stats.accuracy * o.share,
    'rewards/margins': r.stats.margin * o.share,
    'logps/chosen': F.mean(lw).item() * o.share,
    'logps/rejected': F.mean(F.slice(logps, 0, B, 2 * B)).item() * o.share,
  };
  if (o.rpoAlpha > 0) {
    const nll = F.mul(F.sum(lw), -1 / o.chosenTokens);
    metrics.nll_loss = nll.item();
    loss = F.add(loss, F.mul(nll, o.rpoAlpha));
  }
  return { loss, dpo: r.loss.item() * o.share, metrics, tokens };
}
