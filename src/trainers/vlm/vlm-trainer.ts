/**
 * GLM-4.1V training on image chats (docs/vision.md "Merger pre-alignment", "Image SFT"):
 *   VlmSftTrainer     `glmkit sft` on a glm4v folder: every parameter trains, loss on assistant tokens
 *                     (reasoning, answer and the turn-ending token), images through the vision tower.
 *   PrealignTrainer   `glmkit vlm prealign`: the same loss on captioning chats, but only the vision
 *                     tower and the merger train; the language model (embeddings, decoder, lm_head)
 *                     is frozen: its parameters take no gradient and are left out of the optimizer.
 * The model folders they write carry the source folder's preprocessor_config.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../../nn/module.js';
import type { Glm4vForConditionalGeneration } from '../../models/glm4v/model.js';
import { imageProcessorConfigToHf, PREPROCESSOR_FILE, type ImageProcessorConfig } from '../../models/glm4v/preprocess-config.js';
import type { ImageSftExample } from '../../data/image-chat.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { baseSchema } from '../base/schema.js';
import { field, type Values } from '../base/config.js';
import { Trainer, type MicroBatchResult } from '../base/trainer.js';
import { sftSchema } from '../sft/sft-trainer.js';
import { vlmBatch, vlmEvalLoss, vlmLoss, type VlmBatch } from './vlm-data.js';

/** Image SFT takes SFT's settings. */
export const vlmSftSchema = sftSchema;
export type VlmSftConfig = Values<typeof vlmSftSchema>;

export const prealignSchema = {
  ...baseSchema,
  learning_rate: field('number', 2e-3, 'peak learning rate of the vision tower and merger', { min: 0 }),
  max_seq_length: field('int', 256, 'tokens per example, image tokens included (longer examples are dropped and counted)', { min: 2 }),
  optimizer: { ...baseSchema.optimizer, default: 'adamw' as const },
};
export type PrealignConfig = Values<typeof prealignSchema>;

export class VlmSftTrainer<C extends VlmSftConfig | PrealignConfig = VlmSftConfig> extends Trainer<C> {
  readonly method: string = 'sft';
  protected readonly padId: number;

  constructor(
    config: C,
    readonly vlm: Glm4vForConditionalGeneration,
    tokenizer: Tokenizer,
    private readonly processor: ImageProcessorConfig,
    private readonly examples: ImageSftExample[],
    private readonly evalExamples: ImageSftExample[] | null,
  ) {
    super(config, vlm, tokenizer, examples.length);
    this.padId = tokenizer.requireId(EOS_TOKEN);
  }

  protected microBatchLoss(accumulation: number): MicroBatchResult {
    const picked = Array.from({ length: this.config.per_device_train_batch_size }, () => this.examples[this.cursor.next()]);
    const batch = vlmBatch(picked, this.padId);
    const r = vlmLoss(this.vlm, batch, 1 / accumulation);
    return { ...r, tokens: batch.tokens, metrics: { images: batch.grids.length } };
  }

  protected override evaluate(): Record<string, number> {
    if (!this.evalExamples) return {};
    const bs = this.config.per_device_train_batch_size;
    const batches: VlmBatch[] = [];
    for (let i = 0; i < this.evalExamples.length; i += bs) batches.push(vlmBatch(this.evalExamples.slice(i, i + bs), this.padId));
    return { eval_loss: vlmEvalLoss(this.vlm, batches) };
  }

  protected override writeModelFolder(dir: string): void {
    super.writeModelFolder(dir);
    writeFileSync(join(dir, PREPROCESSOR_FILE), JSON.stringify(imageProcessorConfigToHf(this.processor), null, 2) + '\n');
  }
}

/** Merger pre-alignment: the vision tower and merger learn to caption through the frozen language model. */
export class PrealignTrainer extends VlmSftTrainer<PrealignConfig> {
  override readonly method = 'vlm-prealign';

  constructor(config: PrealignConfig, vlm: Glm4vForConditionalGeneration, tokenizer: Tokenizer, processor: ImageProcessorConfig, examples: ImageSftExample[], evalExamples: ImageSftExample[] | null) {
    super(config, vlm, tokenizer, processor, examples, evalExamples);
    for (const p of frozenParameters(vlm)) p.requireGrad(false);
  }

  protected override trainableModule(): Module {
    return this.vlm.model.visual;
  }
}

/** The language model's parameters (embeddings, decoder, lm_head): what pre-alignment freezes. */
export function frozenParameters(vlm: Glm4vForConditionalGeneration) {
  return [...vlm.model.languageModel.parameters(), ...(vlm.lmHead ? vlm.lmHead.parameters() : [])];
}
