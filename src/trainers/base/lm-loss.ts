/**
 * The language-model loss both pre-training and SFT use: next-token cross-entropy (mean over
 * target tokens), plus lambda * MTP loss and alpha * MoE sequence balance loss for GLM-4.5 models.
 */
import * as F from '../../tensor/ops/index.js';
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';

export interface LmBatch {
  /** [B, T] */
  ids: Tensor;
  /** [B, T] label per position, -100 = no loss */
  targets: Tensor;
  /** [B, T] 1 = real token (right padding), or null */
  attentionMask: Int32Array | null;
  /** real tokens in the batch */
  tokens: number;
}

export interface LmLossWeights {
  mtp_weight: number;
  moe_balance_weight: number;
}

export function lmLoss(model: GlmForCausalLM, batch: LmBatch, w: LmLossWeights, scale: number): { loss: Tensor; lossValue: number; metrics: Record<string, number> } {
  const moe = model.config.modelType === 'glm4_moe';
  const out = model.forward(batch.ids, {
    targets: batch.targets,
    attentionMask: batch.attentionMask,
    mtp: moe && w.mtp_weight > 0,
    balanceLoss: moe && w.moe_balance_weight > 0,
  });
  let total = out.loss!;
  const metrics: Record<string, number> = {};
  if (out.mtpLoss) {
    total = F.add(total, F.mul(out.mtpLoss, w.mtp_weight));
    metrics.mtp_loss = out.mtpLoss.item();
  }
  if (out.balanceLoss) {
    total = F.add(total, F.mul(out.balanceLoss, w.moe_balance_weight));
    metrics['moe/balance_loss'] = out.balanceLoss.item();
  }
  return { loss: scale === 1 ? total : F.mul(total, scale), lossValue: out.loss!.item(), metrics };
}

/** Mean next-token loss over a list of batches, without gradients. */
export function evalLoss(model: GlmForCausalLM, batches: LmBatch[]): number {
  return noGrad(() => {
    let sum = 0, n = 0;
    for (const b of batches) {
      const out = model.forward(b.ids, { targets: b.targets, attentionMask: b.attentionMask, lossReduction: 'sum' });
      sum += out.loss!.item();
      for (let i = 0; i < b.targets.size; i++) if (b.targets.data[i] !== -100) n++;
    }
    return n > 0 ? sum / n : NaN;
  });
}

/** Stacks packed sequences into an LM batch: ids = seq[:-1], targets = seq[1:]. */
export function packedBatch(seqs: Int32Array[]): LmBatch {
  const B = seqs.length, L = seqs[0].length - 1;
  const ids = new Int32Array(B * L), targets = new Int32Array(B * L);
  seqs.forEach((s, b) => {
    ids.set(s.subarray(0, L), b * L);
    targets.set(s.subarray(1), b * L);
  });
  return { ids: new Tensor(ids, [B, L]), targets: new Tensor(targets, [B, L]), attentionMask: null, tokens: B * L };
}
