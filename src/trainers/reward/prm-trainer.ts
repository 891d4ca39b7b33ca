/**
 * `glmkit reward --process`: trains a process (or, with `supervision: outcome`, an outcome) reward
 * model on stepwise-supervision data (prm.ts for the model and loss). Held-out metrics: step accuracy
 * (sign of each step logit against its label; process supervision only), response accuracy (the
 * aggregated score above 0.5 against "every step right") and the mean aggregated score of right and of
 * wrong responses.
 */
import * as F from '../../tensor/ops/index.js';
import type { GlmForSequenceClassification } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { tokenizeSteps, type StepLayout, type StepwiseExample, type TokenizedSteps } from '../../data/stepwise.js';
import { Trainer, type MicroBatchResult } from '../base/trainer.js';
import { freezeLowerLayers, type RewardConfig } from './reward-trainer.js';
import type { Module } from '../../nn/module.js';
import { aggregateStepScores, scoreSteps, stepBceLoss, stepLogits, type StepAggregation } from './prm.js';

export interface TokenizedStepExample extends TokenizedSteps {
  labels: boolean[];
}

/** Tokenizes stepwise examples; those longer than maxLen tokens are dropped and counted. */
export function tokenizeStepwise(tok: Tokenizer, examples: readonly StepwiseExample[], maxLen: number, sep: string, layout: StepLayout): { examples: TokenizedStepExample[]; dropped: number } {
  const out: TokenizedStepExample[] = [];
  for (const e of examples) {
    const t = tokenizeSteps(tok, e.prompt, e.completions, sep, layout);
    if (t.ids.length <= maxLen) out.push({ ...t, labels: e.labels });
  }
  return { examples: out, dropped: examples.length - out.length };
}

/**
 * Labels and weights of each step of a batch: all steps (process), or only each response's last step
 * labelled "all right" (outcome). With `balance`, the P right and N wrong labelled steps are weighted
 * (P + N) / 2P and (P + N) / 2N, so each class weighs half of the batch (unchanged when one is absent).
 */
export function stepTargets(batch: readonly TokenizedStepExample[], supervision: 'process' | 'outcome', balance = false): { labels: Float32Array; weights: Float32Array } {
  const n = batch.reduce((a, e) => a + e.stepEnds.length, 0);
  const labels = new Float32Array(n), weights = new Float32Array(n);
  let k = 0;
  for (const e of batch) {
    const m = e.stepEnds.length;
    if (supervision === 'process') {
      for (let i = 0; i < m; i++) [labels[k + i], weights[k + i]] = [e.labels[i] ? 1 : 0, 1];
    } else {
      [labels[k + m - 1], weights[k + m - 1]] = [e.labels.every(Boolean) ? 1 : 0, 1];
    }
    k += m;
  }
  if (balance) {
    let pos = 0, neg = 0;
    weights.forEach((w, i) => (w ? (labels[i] ? pos++ : neg++) : 0));
    if (pos > 0 && neg > 0) weights.forEach((w, i) => (weights[i] = w ? (labels[i] ? (pos + neg) / (2 * pos) : (pos + neg) / (2 * neg)) : 0));
  }
  return { labels, weights };
}

/** Per response: 1 where the aggregated score of its step logits (above 0.5 or not) agrees with "every step right", else 0. */
export function responseAgreement(stepScores: readonly (readonly number[])[], examples: readonly TokenizedStepExample[], aggregation: StepAggregation): number[] {
  return stepScores.map((s, i) => ((aggregateStepScores(s, aggregation) > 0.5) === examples[i].labels.every(Boolean) ? 1 : 0));
}

/** Held-out metrics of a stepwise reward model. */
export function stepRewardMetrics(rm: GlmForSequenceClassification, examples: readonly TokenizedStepExample[], padId: number, aggregation: StepAggregation, supervision: 'process' | 'outcome'): Record<string, number> {
  const scores = scoreSteps(rm, examples, padId);
  let stepOk = 0, steps = 0, respOk = 0, right = 0, rightSum = 0, wrongSum = 0;
  examples.forEach((e, i) => {
    for (let j = 0; j < e.labels.length; j++) {
      stepOk += (scores[i][j] > 0) === e.labels[j] ? 1 : 0;
      steps++;
    }
    const good = e.labels.every(Boolean), s = aggregateStepScores(scores[i], aggregation);
    respOk += (s > 0.5) === good ? 1 : 0;
    if (good) [right, rightSum] = [right + 1, rightSum + s];
    else wrongSum += s;
  });
  const wrong = examples.length - right;
  return {
    ...(supervision === 'process' ? { step_accuracy: stepOk / steps } : {}),
    response_accuracy: respOk / examples.length,
    score_right: right ? rightSum / right : NaN,
    score_wrong: wrong ? wrongSum / wrong : NaN,
  };
}

export class ProcessRewardTrainer extends Trainer<RewardConfig> {
  readonly method = 'reward';
  private readonly padId: number;
  private readonly trained: Module;

  constructor(config: RewardConfig, readonly rm: GlmForSequenceClassification, tokenizer: Tokenizer, private readonly examples: TokenizedStepExample[], private readonly evalExamples: TokenizedStepExample[] | null) {
    super(config, rm, tokenizer, examples.length);
    this.padId = tokenizer.requireId(EOS_TOKEN);
    this.trained = freezeLowerLayers(rm, config.freeze_layers);
  }

  protected override trainableModule(): Module {
    return this.trained;
  }

  protected microBatchLoss(accumulation: number): MicroBatchResult {
    const picked = Array.from({ length: this.config.per_device_train_batch_size }, () => this.examples[this.cursor.next()]);
    const logits = stepLogits(this.rm, picked, this.padId);
    const { labels, weights } = stepTargets(picked, this.config.supervision, this.config.step_balance);
    const loss = stepBceLoss(logits, labels, weights);
    let ok = 0, n = 0;
    labels.forEach((y, i) => {
      if (weights[i]) [ok, n] = [ok + ((logits.data[i] > 0) === (y === 1) ? 1 : 0), n + 1];
    });
    const tokens = picked.reduce((a, e) => a + e.ids.length, 0);
    return { loss: accumulation === 1 ? loss : F.mul(loss, 1 / accumulation), lossValue: loss.item(), tokens, metrics: { 'steps/accuracy': ok / n, 'steps/labelled': n } };
  }

  protected override evaluate(): Record<string, number> {
    if (!this.evalExamples || this.evalExamples.length === 0) return {};
    const m = stepRewardMetrics(this.rm, this.evalExamples, this.padId, this.config.reward_aggregation, this.config.supervision);
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [`eval_${k}`, v]));
  }
}
