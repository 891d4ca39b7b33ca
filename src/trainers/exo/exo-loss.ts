/**
 * EXO's loss on candidate groups whose reference log-probs are known (the trainer looks them up
 * first, exo-trainer.ts), shared by the trainer's one-thread path and the data-parallel shards
 * (src/trainers/base/shard-losses.ts). The groups' K candidates run as one padded batch [N*K, T].
 *
 *   loss = share * mean over the groups of KL(p_f || p_r)      (preference-losses.ts exoLoss)
 *
 * `share` is these groups' share of the micro-batch (1 on one thread), so shards' losses add up to
 * the micro-batch's; metrics are shares likewise (means times `share`).
 */
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import { responseBatch, type TokenizedResponse } from '../../data/preference.js';
import { sequenceLogps } from '../rl-utils.js';
import { exoLoss } from '../preference-losses.js';

export interface ExoGroupItem {
  seqs: TokenizedResponse[];
  /** reference log-probs of the candidates */
  ref: number[];
  logTargets: number[];
  rewards?: number[];
}

export interface ExoGroupOptions {
  betaPi: number;
  temperature: number;
  padId: number;
  /** report exo/expected_reward (mode rw) */
  rewards: boolean;
  share: number;
}

export function exoGroupsLoss(policy: GlmForCausalLM, groups: readonly ExoGroupItem[], o: ExoGroupOptions): { loss: Tensor; metrics: Record<string, number>; tokens: number } {
  const N = groups.length, K = groups[0].seqs.length;
  const batch = responseBatch(groups.flatMap((g) => g.seqs), o.padId);
  const logps = sequenceLogps(policy, batch, o.temperature); // [N*K]
  const h = F.reshape(F.sub(logps, new Tensor(Float32Array.from(groups.flatMap((g) => g.ref)), [N * K])), [N, K]);
  const { loss, pf } = exoLoss(h, groups.flatMap((g) => g.logTargets), o.betaPi);
  // How much of p_f sits on the best candidate of each group, and the p_f-weighted reward.
  let onBest = 0, expReward = 0;
  groups.forEach((g, n) => {
    const best = g.logTargets.indexOf(Math.max(...g.logTargets));
    onBest += pf.data[n * K + best];
    if (g.rewards) for (let k = 0; k < K; k++) expReward += pf.data[n * K + k] * g.rewards[k];
  });
  const metrics: Record<string, number> = { 'exo/p_best': (onBest / N) * o.share, 'exo/h_mean': F.mean(h).item() * o.share, 'logps/mean': F.mean(logps).item() * o.share };
  if (o.rewards) metrics['exo/expected_reward'] = (expReward / N) * o.share;
  return { loss: o.share === 1 ? loss : F.mul(loss, o.share), metrics, tokens: batch.attentionMask!.reduce((a, b) => a + b, 0) };
}
