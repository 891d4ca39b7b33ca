/**
 * Evidence math of STM (docs/reading.md): the sequential evidence loss and the adaptive choice of
 * k evidence sentences. "Sequential" log-probability: sentences are taken one at a time, each
 * step renormalising the distribution over the sentences not yet taken.
 */
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';

/**
 * Evidence loss of log-probabilities `logp` [S] (a log-softmax) for the evidence set `gold`:
 * repeatedly take the gold sentence with the highest log-probability among the remaining sentences
 * (renormalised over them), add it, remove it; the loss is minus the sum divided by |E|.
 */
export function evidenceLoss(logp: Tensor, gold: readonly number[]): Tensor {
  const S = logp.shape[logp.ndim - 1];
  if (gold.length === 0) return Tensor.scalar(0);
  const removed = new Float32Array(S);
  const left = new Set(gold);
  const terms: Tensor[] = [];
  while (left.size > 0) {
    const renorm = F.logSoftmax(F.add(F.reshape(logp, [S]), new Tensor(removed.slice(), [S])), -1);
    const d = renorm.data as Float32Array;
    let best = -1;
    for (const g of left) if (best < 0 || d[g] > d[best]) best = g;
    terms.push(F.indexSelect(renorm, 0, Tensor.ids([best], [1])));
    left.delete(best);
    removed[best] = -1e9;
  }
  return F.scale(F.sum(F.concat(terms, 0)), -1 / gold.length);
}

/** The greedy sequential log-probabilities of the top `maxK` sentences of a distribution `p`. */
export function sequentialTop(p: ArrayLike<number>, maxK: number): { order: number[]; logps: number[] } {
  const left = Array.from(p, (_, i) => i);
  const order: number[] = [], logps: number[] = [];
  let mass = 1;
  for (let k = 0; k < maxK && left.length > 0; k++) {
    let bi = 0;
    for (let j = 1; j < left.length; j++) if (p[left[j]] > p[left[bi]]) bi = j;
    const i = left.splice(bi, 1)[0];
    logps.push(Math.log(Math.max(p[i], 1e-30) / Math.max(mass, 1e-30)));
    mass -= p[i];
    order.push(i);
  }
  return { order, logps };
}

export interface AdaptiveEvidence {
  /** chosen sentences, most probable first */
  sentences: number[];
  /** exp(mean sequential log-probability of the chosen sentences) */
  value: number;
}

/** k <= maxK maximising the mean sequential log-probability of the top k sentences (ties: the smaller k). */
export function adaptiveEvidence(p: ArrayLike<number>, maxK = 3): AdaptiveEvidence {
  const { order, logps } = sequentialTop(p, maxK);
  let bestK = 1, bestMean = -Infinity, sum = 0;
  logps.forEach((lp, i) => {
    sum += lp;
    const mean = sum / (i + 1);
    if (mean > bestMean + 1e-12) {
      bestMean = mean;
      bestK = i + 1;
    }
  });
  return { sentences: order.slice(0, bestK), value: Math.exp(bestMean) };
}

/** Precision@k of predicted evidence against gold: |pred ∩ gold| / |pred|. */
export function evidencePrecision(pred: readonly number[], gold: readonly number[]): number {
  if (pred.length === 0) return 0;
  const g = new Set(gold);
  return pred.filter((i) => g.has(i)).length / pred.length;
}
