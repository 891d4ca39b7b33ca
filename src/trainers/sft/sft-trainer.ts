/** Supervised fine-tuning (`glmkit sft`): loss on assistant tokens of chat data (see sft-data.ts). */
import type { GlmForCausalLM } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { baseSchema } from '../base/schema.js';
import { choice, field, type Values } from '../base/config.js';
import { ConfigError } from '../../errors.js';
import { Trainer, type MicroBatchResult } from '../base/trainer.js';
import { evalLoss, lmLoss, type LmBatch } from '../base/lm-loss.js';
import { sftBatch, type SftExample } from './sft-data.js';
import { lengthGroupsField } from '../base/length-groups.js';
import { lmShards } from '../base/shard-losses.js';

/** How an SFT step averages its loss (`--loss-weighting`). */
export const LOSS_WEIGHTINGS = ['token', 'sequence'] as const;
export type LossWeighting = (typeof LOSS_WEIGHTINGS)[number];

export const sftSchema = {
  ...baseSchema,
  learning_rate: field('number', 5e-4, 'peak learning rate', { min: 0 }),
  max_seq_length: field('int', 512, 'tokens per example (longer examples are dropped and counted)', { min: 2 }),
  loss_weighting: choice(LOSS_WEIGHTINGS, 'token', 'how a step averages the loss: token (the mean over all its answer tokens, so long answers weigh more) or sequence (each chat\'s token-mean, then the mean over chats: a short chat weighs as much as a long one, as LongAlign\'s loss weighting does for mixed long and short data)'),
  ...lengthGroupsField,
};
export type SftConfig = Values<typeof sftSchema>;

export class SftTrainer extends Trainer<SftConfig> {
  readonly method = 'sft';
  private readonly padId: number;

  constructor(config: SftConfig, model: GlmForCausalLM, tokenizer: Tokenizer, private readonly examples: SftExample[], private readonly evalExamples: SftExample[] | null) {
    super(config, model, tokenizer, examples.length);
    this.padId = tokenizer.requireId(EOS_TOKEN);
    if (model.config.modelType === 'glm4_moe' && config.loss_weighting !== 'token') {
      throw new ConfigError(`sft: --loss-weighting ${config.loss_weighting} is not available for MoE models (their balance and MTP losses are per batch); use --loss-weighting token`);
    }
  }

  protected override supportsDataParallel(): boolean {
    return true;
  }

  protected microBatchLoss(accumulation: number): MicroBatchResult {
    const picked = Array.from({ length: this.config.per_device_train_batch_size }, () => this.examples[this.cursor.next()]);
    const model = this.model as GlmForCausalLM;
    // MoE models add per-batch balance and MTP losses: they keep one padded batch
    if (model.config.modelType === 'glm4_moe') {
      const batch = sftBatch(picked, this.padId);
      const r = lmLoss(model, batch, this.config, 1 / accumulation);
      return { ...r, tokens: batch.tokens };
    }
    // the mean over the micro-batch's target tokens (or, weighted per sequence, of each chat's token-mean), one loss per length group (src/trainers/base/shard-losses.ts)
    return this.runShards(lmShards(picked, false, this.shardCount, { padId: this.padId, lengthGroups: this.config.length_groups, accumulation, perSequence: this.config.loss_weighting === 'sequence' }));
  }

  protected override evaluate(): Record<string, number> {
    if (!this.evalExamples) return {};
    const bs = this.config.per_device_train_batch_size;
    const batches: LmBatch[] = [];
    for (let i = 0; i < this.evalExamples.length; i += bs) batches.push(sftBatch(this.evalExamples.slice(i, i + bs), this.padId));
    return { eval_loss: evalLoss(this.model as GlmForCausalLM, batches) };
  }
}
