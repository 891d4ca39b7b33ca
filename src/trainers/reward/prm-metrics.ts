/**
 * Validation metrics of a stepwise reward model against baselines that read no step text: whether a
 * process (or outcome) reward model has learned to check steps, or only the label prior. Used by the
 * prm-vs-orm experiment's notes and by scripts/prm-validation.ts.
 *
 * - step accuracy: the sign of each step logit against its label; the constant baseline answers the
 *   majority label of the training steps everywhere.
 * - step AUC: the chance that a right step scores above a wrong one (ties count one half); the
 *   position baseline scores a step by the training data's share of right steps at its index.
 * - response accuracy / AUC: the aggregated score (above 0.5, or as a ranking) against "every step
 *   right"; the constant baseline answers the training data's majority.
 */
import { aggregateStepScores, type StepAggregation } from './prm.js';

/** Area under the ROC curve of `scores` for the positives `labels` (Mann-Whitney, ties one half); NaN without both classes. */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0, rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[idx[k]]) [pos, rankSum] = [pos + 1, rankSum + rank];
    i = j + 1;
  }
  const neg = scores.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

interface Labelled {
  labels: readonly boolean[];
}

/** Share of right steps at each step index of `train` (index beyond the longest: the overall share). */
export function positionPrior(train: readonly Labelled[]): (index: number) => number {
  const right: number[] = [], all: number[] = [];
  let r = 0, n = 0;
  for (const e of train) {
    e.labels.forEach((y, i) => {
      right[i] = (right[i] ?? 0) + (y ? 1 : 0);
      all[i] = (all[i] ?? 0) + 1;
      [r, n] = [r + (y ? 1 : 0), n + 1];
    });
  }
  return (i) => (all[i] ? right[i] / all[i] : r / Math.max(1, n));
}

/**
 * Metrics of per-step logits `scores` (one array per example of `val`) beside the constant and the
 * step-position baselines fitted on `train`.
 */
export function stepValidationMetrics(scores: readonly (readonly number[])[], val: readonly Labelled[], train: readonly Labelled[], aggregation: StepAggregation): Record<string, number> {
  const flatS: number[] = [], flatY: boolean[] = [], posS: number[] = [];
  const prior = positionPrior(train);
  val.forEach((e, i) => e.labels.forEach((y, j) => {
    flatS.push(scores[i][j]);
    flatY.push(y);
    posS.push(prior(j));
  }));
  const trainSteps = train.flatMap((e) => e.labels);
  const majority = trainSteps.filter(Boolean).length * 2 >= trainSteps.length;
  const trainRight = train.filter((e) => e.labels.every(Boolean)).length * 2 >= train.length;
  const respS = val.map((_, i) => aggregateStepScores(scores[i], aggregation)), respY = val.map((e) => e.labels.every(Boolean));
  const share = (xs: readonly boolean[]) => xs.filter(Boolean).length / Math.max(1, xs.length);
  return {
    step_accuracy: share(flatS.map((s, k) => (s > 0) === flatY[k])),
    step_accuracy_constant: share(flatY.map((y) => y === majority)),
    step_accuracy_position: share(posS.map((p, k) => (p > 0.5) === flatY[k])),
    step_auc: rocAuc(flatS, flatY),
    step_auc_position: rocAuc(posS, flatY),
    response_accuracy: share(respS.map((s, k) => (s > 0.5) === respY[k])),
    response_accuracy_constant: share(respY.map((y) => y === trainRight)),
    response_auc: rocAuc(respS, respY),
    right_steps: share(flatY),
  };
}
