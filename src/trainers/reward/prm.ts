/**
 * Process reward models (`glmkit reward --process`, docs/methods.md "Process reward models"): the
 * reward model's one-label sequence-classification head applied at the last token of every step
 * (data/stepwise.ts tokenizes a response as prompt + step + separator + step + separator ...), trained
 * with per-step binary cross-entropy on the step labels:
 *   L = mean over labelled steps of -(y log sigmoid(s) + (1 - y) log sigmoid(-s))
 * A response's score aggregates its step probabilities p_i = sigmoid(s_i): `min` (the weakest step),
 * `prod` (the chance that every step is right) or `last` (the last step's). With outcome supervision
 * (`supervision: outcome`) only the last step carries a label (whether the whole response is right):
 * an outcome reward model on the same inputs, scored at the last step.
 *
 * A PRM is saved as the reward model is (an HF sequence-classification folder) with one more key in
 * config.json, `glmkit_reward_model`: {"type": "process" | "outcome", "aggregation", "step_separator",
 * "step_layout"} (a model saved without `step_layout` reads steps in the `plain` layout).
 */
import * as F from '../../tensor/ops/index.js';
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import { GlmForCausalLM, GlmForSequenceClassification } from '../../models/glm/model.js';
import { ConfigError } from '../../errors.js';
import { STEP_LAYOUTS, type StepLayout, type TokenizedSteps } from '../../data/stepwise.js';

export const STEP_AGGREGATIONS = ['min', 'prod', 'last'] as const;
export type StepAggregation = (typeof STEP_AGGREGATIONS)[number];

/** The config.json key that marks a stepwise reward model. */
export const REWARD_MODEL_KEY = 'glmkit_reward_model';

export interface StepRewardInfo {
  type: 'process' | 'outcome';
  aggregation: StepAggregation;
  step_separator: string;
  step_layout: StepLayout;
}

/** The stepwise settings a reward model was saved with, or null for a pairwise (chat-template) reward model. */
export function stepRewardInfo(rm: GlmForSequenceClassification): StepRewardInfo | null {
  const v = rm.config.extra[REWARD_MODEL_KEY] as Partial<StepRewardInfo> | undefined;
  if (!v || typeof v !== 'object') return null;
  const layout = v.step_layout ?? 'plain';
  if ((v.type !== 'process' && v.type !== 'outcome') || !STEP_AGGREGATIONS.includes(v.aggregation as StepAggregation) || typeof v.step_separator !== 'string' || !STEP_LAYOUTS.includes(layout)) {
    throw new ConfigError(`reward model config ${REWARD_MODEL_KEY}: expected {type: process|outcome, aggregation: ${STEP_AGGREGATIONS.join('|')}, step_separator: string, step_layout?: ${STEP_LAYOUTS.join('|')}}, got ${JSON.stringify(v)}`);
  }
  return { ...(v as StepRewardInfo), step_layout: layout };
}

/** Marks `rm` as a stepwise reward model (its config is copied, never shared with another model). */
export function markStepRewardModel(rm: GlmForSequenceClassification, info: StepRewardInfo): void {
  (rm as { config: GlmForSequenceClassification['config'] }).config = { ...rm.config, extra: { ...rm.config.extra, [REWARD_MODEL_KEY]: { ...info } } };
}

/** A one-label reward model with `sft`'s backbone, a fresh head and its own copy of the config. */
export function stepRewardModelFromCausal(sft: GlmForCausalLM, info: StepRewardInfo, seed = 0): GlmForSequenceClassification {
  const rm = new GlmForSequenceClassification({ ...sft.config, extra: { ...sft.config.extra, [REWARD_MODEL_KEY]: { ...info } } }, 1, { seed });
  const own = rm.stateDict();
  noGrad(() => {
    for (const [name, t] of sft.stateDict()) if (name.startsWith('model.')) own.get(name)?.data.set(t.data);
  });
  return rm;
}

/** Step logits [N] (all steps of all sequences, in order) of tokenized responses, with the graph. */
export function stepLogits(rm: GlmForSequenceClassification, seqs: readonly TokenizedSteps[], padId: number): Tensor {
  const B = seqs.length, T = Math.max(...seqs.map((s) => s.ids.length));
  const ids = new Int32Array(B * T).fill(padId), att = new Int32Array(B * T);
  const at: number[] = [];
  seqs.forEach((s, b) => {
    for (let t = 0; t < s.ids.length; t++) {
      ids[b * T + t] = s.ids[t];
      att[b * T + t] = 1;
    }
    for (const e of s.stepEnds) at.push(b * T + e);
  });
  const { hidden } = rm.model.forward(new Tensor(ids, [B, T]), { attentionMask: att });
  const h = F.indexSelect(F.reshape(hidden, [B * T, rm.config.hiddenSize]), 0, new Tensor(Int32Array.from(at), [at.length]));
  return F.reshape(rm.score.forward(h), [at.length]);
}

/** Per-step logits of each response (no graph), in batches. */
export function scoreSteps(rm: GlmForSequenceClassification, seqs: readonly TokenizedSteps[], padId: number, batchSize = 16): number[][] {
  const out: number[][] = [];
  noGrad(() => {
    for (let i = 0; i < seqs.length; i += batchSize) {
      const part = seqs.slice(i, i + batchSize);
      const s = stepLogits(rm, part, padId).data;
      let k = 0;
      for (const q of part) {
        out.push(Array.from(s.subarray(k, k + q.stepEnds.length)));
        k += q.stepEnds.length;
      }
    }
  });
  return out;
}

/**
 * Weighted mean binary cross-entropy with logits, sum_i w_i BCE_i / sum_i w_i: labels and weights are
 * per step, in the order of `logits` (weight 0 = unlabelled).
 */
export function stepBceLoss(logits: Tensor, labels: Float32Array, weights: Float32Array): Tensor {
  const n = weights.reduce((a, b) => a + b, 0);
  if (n === 0) throw new ConfigError('step BCE: no labelled step in the batch');
  const N = labels.length;
  const y = new Tensor(labels.map((v, i) => v * weights[i]), [N]), ny = new Tensor(labels.map((v, i) => (1 - v) * weights[i]), [N]);
  const per = F.add(F.mul(F.logSigmoid(logits), y), F.mul(F.logSigmoid(F.neg(logits)), ny));
  return F.mul(F.sum(per), -1 / n);
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** A response's score in [0, 1] from its step logits: min, product or last of the step probabilities. */
export function aggregateStepScores(logits: readonly number[], how: StepAggregation): number {
  if (logits.length === 0) throw new ConfigError('aggregateStepScores: a response needs at least one step');
  const p = logits.map(sigmoid);
  if (how === 'min') return Math.min(...p);
  if (how === 'last') return p[p.length - 1];
  return p.reduce((a, b) => a * b, 1);
}
