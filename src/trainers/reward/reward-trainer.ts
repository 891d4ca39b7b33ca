/**
 * Reward model (`glmkit reward`, docs/methods.md §4): a GlmForSequenceClassification with one label,
 * initialised from an SFT checkpoint (backbone copied, `score` head fresh), trained on preference
 * pairs with
 *   L = -log sigmoid(r_w - r_l) + alpha * (r_w^2 + r_l^2)   [+ mu * BCE(sigmoid(r), correct) when labelled]
 * Pairs are cleaned and length-balanced in data/preference.ts. The result is an HF
 * sequence-classification folder (architectures Glm4ForSequenceClassification).
 * Held-out metrics: pairwise accuracy, margin, score mean/std and accuracy per length bucket.
 */
import * as F from '../../tensor/ops/index.js';
import { noGrad } from '../../tensor/autograd.js';
import { withScratchBuffers } from '../../tensor/buffer-pool.js';
import { Tensor } from '../../tensor/tensor.js';
import { GlmForCausalLM, GlmForSequenceClassification } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { renderChat } from '../../tokenizer/chat.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { lengthBucket, responseBatch, type TokenizedPair, type TokenizedResponse } from '../../data/preference.js';
import { baseSchema } from '../base/schema.js';
import { choice, field, type Values } from '../base/config.js';
import { Trainer, type MicroBatchResult } from '../base/trainer.js';
import { pairwiseRewardLoss } from '../preference-losses.js';
import { STEP_AGGREGATIONS } from './prm.js';
import { lengthGroupsField } from '../base/length-groups.js';
import { rewardShards, scorePairs } from '../base/shard-losses.js';
import { STEP_LAYOUTS } from '../../data/stepwise.js';
import { Module } from '../../nn/module.js';
import { ConfigError } from '../../errors.js';
import { FrozenFeatureCache } from './frozen-cache.js';

export const rewardSchema = {
  ...baseSchema,
  model: field('path', '', 'SFT model folder to initialise the reward model from (a causal LM, or a reward model to continue)'),
  data: field<string | string[]>('path', '', 'preference pairs, JSONL in TRL format (prompt?/chosen/rejected)', { multiple: true }),
  max_steps: field('int', 100, 'optimizer steps to run', { min: 1 }),
  per_device_train_batch_size: field('int', 16, 'pairs per micro-batch', { min: 1 }),
  learning_rate: field('number', 1e-3, 'peak learning rate', { min: 0 }),
  warmup_steps: field('int', 10, 'linear warm-up steps', { min: 0 }),
  weight_decay: field('number', 0.0, 'decoupled weight decay of matrices', { min: 0 }),
  optimizer: choice(['adamw', 'muon'], 'adamw', 'adamw for everything, or muon for 2-D matrices'),
  center_rewards_coefficient: field('number', 0.01, 'alpha of the L2 score prior alpha * (r_w^2 + r_l^2) that centres scores on 0 (0 = off)', { min: 0 }),
  length_balance: field('boolean', true, 'ChatGLM-RLHF length balancing: per bucket of length difference, as many pairs where the longer response wins as where it loses'),
  length_bucket_width: field('int', 16, 'tokens per length-difference bucket (balancing and the accuracy-by-length metrics)', { min: 1 }),
  correctness_weight: field('number', 0, 'mu of the multi-task BCE on chosen_correct / rejected_correct labels (0 = off)', { min: 0 }),
  max_seq_length: field('int', 256, 'tokens per prompt + response (longer pairs are dropped and counted)', { min: 2 }),
  ...lengthGroupsField,
  freeze_layers: field('int', 0, 'freeze the token embeddings and the lowest N decoder layers: they get no gradient and no update, and the backward pass stops above them (0 = train everything)', { min: 0 }),
  frozen_cache_mb: field('int', 0, 'with --freeze-layers: keep the frozen layers\' output of each response in memory, up to this many MB, so later steps on a response run only the layers above (same scores up to float rounding; 0 = recompute at every step)', { min: 0 }),
  process: field('boolean', false, 'train a process reward model on stepwise data ({prompt, completions: steps, labels: one boolean per step}) instead of preference pairs'),
  supervision: choice(['process', 'outcome'], 'process', 'with --process: a label on every step, or only on the last step (whether the whole response is right: an outcome reward model on the same data)'),
  reward_aggregation: choice(STEP_AGGREGATIONS, 'min', 'with --process: how step probabilities make a response score (min, prod or last), saved with the model'),
  step_separator: field('string', '\n', 'with --process: text after each step; a step is scored at its last token'),
  step_layout: choice(STEP_LAYOUTS, 'chat', 'with --process: chat = the steps as the thinking-mode assistant turn the policy generates (all but the last step the reasoning, the last the answer); plain = steps and separators only'),
  step_balance: field('boolean', false, 'with --process: weight the right and the wrong labelled steps of each batch to equal totals (BCE class balancing)'),
};
export type RewardConfig = Values<typeof rewardSchema>;

/** A one-label reward model whose backbone is a copy of `sft`'s and whose score head is freshly initialised. */
export function rewardModelFromCausal(sft: GlmForCausalLM, seed = 0): GlmForSequenceClassification {
  const rm = new GlmForSequenceClassification(sft.config, 1, { seed });
  const own = rm.stateDict();
  noGrad(() => {
    for (const [name, t] of sft.stateDict()) if (name.startsWith('model.')) own.get(name)?.data.set(t.data);
  });
  return rm;
}

/** Scores [B] of tokenized sequences (no graph), in batches. */
export function scoreSequences(rm: GlmForSequenceClassification, seqs: readonly TokenizedResponse[], padId: number, batchSize = 32): number[] {
  const out: number[] = [];
  noGrad(() => {
    for (let i = 0; i < seqs.length; i += batchSize) {
      const b = responseBatch(seqs.slice(i, i + batchSize), padId);
      // the scores are copied out, so every buffer of the forward goes back to the pool
      withScratchBuffers(() => {
        const s = rm.forward(b.ids, { attentionMask: b.attentionMask });
        for (let j = 0; j < s.size; j++) out.push(s.data[j]);
      });
    }
  });
  return out;
}

/**
 * Reward of assistant responses to chat prompts: each (prompt, response) is rendered with the chat
 * template exactly as preference pairs are in training, and scored by the reward model.
 */
export function scoreResponses(rm: GlmForSequenceClassification, tok: Tokenizer, prompts: readonly ChatMessage[][], responses: readonly ChatMessage[], batchSize = 32): number[] {
  const seqs = prompts.map((p, i) => {
    const r = renderChat(tok, { messages: [...p, responses[i]] }, { lastTurnOnly: true });
    return { ids: r.ids, mask: r.assistantMask, length: r.assistantMask.reduce((a, b) => a + b, 0) };
  });
  return scoreSequences(rm, seqs, tok.requireId(EOS_TOKEN), batchSize);
}

/** Held-out reward-model metrics of scored pairs. */
export function pairMetrics(pairs: readonly TokenizedPair[], rw: readonly number[], rl: readonly number[], bucketWidth: number): Record<string, number> {
  const n = pairs.length;
  let acc = 0, margin = 0, sum = 0, sq = 0;
  const buckets = new Map<number, [number, number]>();
  pairs.forEach((p, i) => {
    const ok = rw[i] > rl[i] ? 1 : 0;
    acc += ok;
    margin += rw[i] - rl[i];
    sum += rw[i] + rl[i];
    sq += rw[i] * rw[i] + rl[i] * rl[i];
    const b = lengthBucket(p, bucketWidth);
    const e = buckets.get(b) ?? [0, 0];
    e[0] += ok;
    e[1]++;
    buckets.set(b, e);
  });
  const mean = sum / (2 * n);
  const out: Record<string, number> = { accuracy: acc / n, margin: margin / n, score_mean: mean, score_std: Math.sqrt(Math.max(0, sq / (2 * n) - mean * mean)) };
  for (const [b, [ok, cnt]] of [...buckets].sort((x, y) => x[0] - y[0])) {
    const name = b === 0 ? 'len_equal' : `len_diff_${(b - 1) * bucketWidth + 1}_${b * bucketWidth}`;
    out[`accuracy_${name}`] = ok / cnt;
    out[`count_${name}`] = cnt;
  }
  return out;
}

/**
 * Freezes the token embeddings and the lowest `n` decoder layers of `rm` (no gradient: the autograd
 * tape records nothing below the first trained layer, so the backward pass stops there) and makes every
 * other parameter trainable again (n = 0: all). Returns the trained parameters as a module for the optimizer.
 */
export function freezeLowerLayers(rm: GlmForSequenceClassification, n: number): Module {
  const L = rm.config.numHiddenLayers;
  if (n > L) throw new ConfigError(`--freeze-layers ${n}: the model has ${L} decoder layers; freeze at most ${L} (the score head and the final norm always train)`);
  const frozen = new Set([...rm.model.embedTokens.parameters(), ...rm.model.layers.slice(0, n).flatMap((l) => l.parameters())]);
  for (const p of rm.parameters()) p.requireGrad(n === 0 || !frozen.has(p));
  return new TrainedParameters(rm);
}

/** The decoder layer whose input a frozen-feature cache keeps: the lowest trained one (the top layer when all are frozen: forwardAt runs it). */
function frozenCacheLayer(freezeLayers: number, numHiddenLayers: number): number {
  return Math.min(freezeLayers, numHiddenLayers - 1);
}

/** The frozen-feature cache a config asks for (freeze_layers > 0 with frozen_cache_mb > 0), else null. */
export function frozenCacheFor(config: Pick<RewardConfig, 'freeze_layers' | 'frozen_cache_mb'>, rm: GlmForSequenceClassification): FrozenFeatureCache | null {
  return config.freeze_layers > 0 && config.frozen_cache_mb > 0 ? new FrozenFeatureCache(frozenCacheLayer(config.freeze_layers, rm.config.numHiddenLayers), config.frozen_cache_mb * 2 ** 20) : null;
}

/** A view of a module's parameters that require gradients, under their own names (what the optimizer builds its groups from). */
class TrainedParameters extends Module {
  constructor(private readonly inner: Module) {
    super();
  }

  override namedParameters(prefix = ''): [string, Tensor][] {
    return this.inner.namedParameters(prefix).filter(([, t]) => t.requiresGrad);
  }
}

export class RewardTrainer extends Trainer<RewardConfig> {
  readonly method = 'reward';
  private readonly padId: number;
  private readonly trained: Module;

  /** the frozen layers' output per response (freeze_layers > 0 with frozen_cache_mb > 0, or a cache given), else null */
  readonly frozenCache: FrozenFeatureCache | null;

  /** `opts.frozenCache`: a cache to use (and fill) instead of a new one, e.g. shared by trainers on the same pairs and model */
  constructor(config: RewardConfig, readonly rm: GlmForSequenceClassification, tokenizer: Tokenizer, private readonly pairs: TokenizedPair[], private readonly evalPairs: TokenizedPair[] | null, opts: { frozenCache?: FrozenFeatureCache } = {}) {
    super(config, rm, tokenizer, pairs.length);
    this.padId = tokenizer.requireId(EOS_TOKEN);
    this.trained = freezeLowerLayers(rm, config.freeze_layers);
    const layer = frozenCacheLayer(config.freeze_layers, rm.config.numHiddenLayers);
    if (opts.frozenCache && (config.freeze_layers === 0 || opts.frozenCache.layer !== layer)) {
      throw new ConfigError(`reward: the frozen-feature cache holds the input of layer ${opts.frozenCache.layer}, but --freeze-layers ${config.freeze_layers} ${config.freeze_layers === 0 ? 'freezes nothing' : `needs layer ${layer}`}; give a cache made for this freeze_layers, or none`);
    }
    this.frozenCache = opts.frozenCache ?? frozenCacheFor(config, rm);
  }

  protected override trainableModule(): Module {
    return this.trained;
  }

  /** the frozen-feature cache and the correctness loss stay on one thread */
  protected override supportsDataParallel(): boolean {
    return !this.frozenCache && this.config.correctness_weight === 0;
  }

  protected microBatchLoss(accumulation: number): MicroBatchResult {
    const drawn = Array.from({ length: this.config.per_device_train_batch_size }, () => this.pairs[this.cursor.next()]);
    if (this.parallel) return this.runShards(rewardShards(drawn, this.parallel.threads, { padId: this.padId, lengthGroups: this.config.length_groups, center: this.config.center_rewards_coefficient, accumulation }));
    const cache = this.frozenCache;
    const { rw, rl, order, tokens } = scorePairs(this.rm, drawn.map((p) => p.chosen), drawn.map((p) => p.rejected), this.config.length_groups, (seqs) => (cache ? cache.batch(this.rm, seqs, this.padId) : responseBatch(seqs, this.padId)));
    const picked = order.map((i) => drawn[i]);
    const scores = F.concat([rw, rl]); // [2B]: chosen scores, then rejected, in `picked` order
    const { loss: pairLoss, stats } = pairwiseRewardLoss(rw, rl, this.config.center_rewards_coefficient);
    let loss = pairLoss;
    const metrics: Record<string, number> = { 'rewards/chosen': stats.chosen, 'rewards/rejected': stats.rejected, 'rewards/accuracies': stats.accuracy, 'rewards/margins': stats.margin };
    if (this.config.correctness_weight > 0) {
      const bce = this.correctnessLoss(scores, picked);
      if (bce) {
        metrics.correctness_loss = bce.item();
        loss = F.add(loss, F.mul(bce, this.config.correctness_weight));
      }
    }
    return { loss: accumulation === 1 ? loss : F.mul(loss, 1 / accumulation), lossValue: loss.item(), tokens, metrics };
  }

  /** BCE(sigmoid(r), label) over the responses that carry a correctness label, or null. */
  private correctnessLoss(scores: Tensor, picked: TokenizedPair[]): Tensor | null {
    const B = picked.length;
    const labels = new Float32Array(2 * B), mask = new Float32Array(2 * B);
    picked.forEach((p, i) => {
      if (p.pair.chosenCorrect !== undefined) [labels[i], mask[i]] = [p.pair.chosenCorrect, 1];
      if (p.pair.rejectedCorrect !== undefined) [labels[B + i], mask[B + i]] = [p.pair.rejectedCorrect, 1];
    });
    const n = mask.reduce((a, b) => a + b, 0);
    if (n === 0) return null;
    // BCE(z, y) = -(y log sigmoid(z) + (1 - y) log sigmoid(-z))
    const y = new Tensor(labels, [2 * B]), ny = new Tensor(labels.map((v) => 1 - v), [2 * B]);
    const per = F.neg(F.add(F.mul(F.logSigmoid(scores), y), F.mul(F.logSigmoid(F.neg(scores)), ny)));
    return F.mul(F.sum(F.mul(per, new Tensor(mask, [2 * B]))), 1 / n);
  }

  protected override evaluate(): Record<string, number> {
    if (!this.evalPairs || this.evalPairs.length === 0) return {};
    const rw = scoreSequences(this.rm, this.evalPairs.map((p) => p.chosen), this.padId);
    const rl = scoreSequences(this.rm, this.evalPairs.map((p) => p.rejected), this.padId);
    const m = pairMetrics(this.evalPairs, rw, rl, this.config.length_bucket_width);
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [`eval_${k}`, v]));
  }
}
