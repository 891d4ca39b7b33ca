/**
 * GLM-4.1V (Glm4vForConditionalGeneration) as a GRPO policy (policy.ts): RL prompts whose messages
 * hold image parts are prepared once per record (images loaded relative to the record's JSONL folder,
 * preprocessed by the model's image processor), rolled out with their pixel values, and the loss's
 * log-probs are recomputed through the VLM forward with the same pixel values, so that at
 * temperature 1 they equal the sampler's (docs/vision.md "RL with images").
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataError, GlmkitError } from '../../errors.js';
import { Glm4vForConditionalGeneration } from '../../models/glm4v/model.js';
import { isGlm4vFolder, loadGlm4vModel, saveGlm4vModel } from '../../models/glm4v/checkpoint.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { imageProcessorConfigToHf, PREPROCESSOR_FILE, readImageProcessorConfig, type ImageProcessorConfig } from '../../models/glm4v/preprocess-config.js';
import { imageTokenCount, preprocessImage } from '../../models/glm4v/preprocess.js';
import type { ProcessedImage } from '../../data/image-chat.js';
import { loadImageBytes } from '../../data/image-source.js';
import type { Tensor } from '../../tensor/tensor.js';
import { batchImages } from '../../generation/vlm-generate.js';
import { renderChat } from '../../tokenizer/chat.js';
import { conversationImageParts, normalizeConversation } from '../../tokenizer/chat-validate.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { RenderIds } from '../checks/sequence-checks.js';
import type { SequenceBatch } from '../rl-utils.js';
import { hasImages, type RlPrompt } from './grpo-data.js';
import { TextPolicy, type GrpoPolicy, type RowRouting } from './policy.js';
import type { Rollout, RolloutOptions } from './rollout.js';
import { visionRollouts, visionRolloutsSync } from './vision-rollout.js';

/** The images of prepared records, shared by a policy and its frozen copies. */
export type ImageCache = WeakMap<RlPrompt, ProcessedImage[]>;

export class VisionPolicy implements GrpoPolicy {
  readonly kind = 'a GLM-4.1V vision-language model';
  /** its forward reads the image cache; not recycled (a conservative choice, not a measured need) */
  readonly scratchForward = false;
  readonly causal = null;
  /**
   * Ids sampled and scored: the tokenizer's vocabulary without the image markers when they are its
   * last ids (glmkit tokenizers append them). A sampled `<|image|>` would be text while decoding but
   * an image slot when the loss recomputes the sequence, so it is never sampled.
   */
  readonly vocabLimit: number;

  constructor(
    readonly module: Glm4vForConditionalGeneration,
    readonly tok: Tokenizer,
    readonly processor: ImageProcessorConfig,
    private readonly cache: ImageCache = new WeakMap(),
  ) {
    const c = module.config;
    const markers = [c.imageStartTokenId, c.imageTokenId, c.imageEndTokenId].filter((id) => id < tok.vocabSize);
    const first = Math.min(...markers);
    this.vocabLimit = markers.length > 0 && first >= tok.vocabSize - markers.length ? first : tok.vocabSize;
  }

  /** Loads and preprocesses the images of records not seen before (relative paths from `image_dir`). */
  async prepare(records: readonly RlPrompt[]): Promise<void> {
    for (const rec of records) {
      if (this.cache.has(rec)) continue;
      const parts = conversationImageParts(normalizeConversation({ messages: rec.prompt }, undefined, 'prompt'));
      const images: ProcessedImage[] = [];
      for (const part of parts) {
        const where = { field: part.field };
        const bytes = await loadImageBytes(part.image, { baseDir: rec.image_dir ?? process.cwd(), where });
        try {
          images.push(await preprocessImage(bytes, this.processor, part.image.slice(0, 80)));
        } catch (e) {
          if (e instanceof GlmkitError) throw new DataError(`RL prompt image ${part.image.slice(0, 80)}: ${e.message}`, where);
          throw e;
        }
      }
      this.cache.set(rec, images);
    }
  }

  /** The prepared images of a record (a ConfigError when `prepare` was not awaited for it). */
  images(rec: RlPrompt): ProcessedImage[] {
    const im = this.cache.get(rec);
    if (!im) throw new ConfigError('VisionPolicy: a record was sampled or scored before its images were prepared; await policy.prepare(records) first');
    return im;
  }

  /** `<|image|>` tokens of each image of a prepared record. */
  tokenCounts(rec: RlPrompt): number[] {
    return this.images(rec).map((im) => imageTokenCount(im.gridThw, this.processor.mergeSize));
  }

  rollouts(records: readonly RlPrompt[], opts: RolloutOptions): Promise<Rollout[]> {
    return visionRollouts(this, records, opts);
  }

  rolloutsSync(records: readonly RlPrompt[], opts: RolloutOptions): Rollout[] {
    return visionRolloutsSync(this, records, opts);
  }

  /** The forward over prompt + completion rows with each row's record's images (in row order). */
  logits(records: readonly RlPrompt[], batch: SequenceBatch, routing: RowRouting | null): Tensor {
    if (routing) throw new ConfigError('grpo: --routing-replay applies to MoE text models; GLM-4.1V is dense');
    const B = batch.ids.shape[0];
    if (records.length !== B) throw new ConfigError(`VisionPolicy.logits: ${records.length} records for ${B} rows`);
    const [, T] = batch.ids.shape;
    const rows = records.map((r, b) => ({ ids: Array.from(batch.ids.data.subarray(b * T, (b + 1) * T) as Int32Array), images: this.images(r) }));
    const imageId = this.module.config.imageTokenId;
    rows.forEach((row, b) => {
      const inPrompt = this.tokenCounts(records[b]).reduce((a, n) => a + n, 0);
      if (row.ids.filter((t) => t === imageId).length !== inPrompt) throw new ConfigError(`grpo: row ${b}'s completion holds a sampled <|image|> (id ${imageId}), which the forward would take for an image slot; the tokenizer's image markers are not its last ids, so sampling cannot leave them out: use a tokenizer that appends them (glmkit's do)`);
    });
    const im = batchImages(this.module, rows);
    return this.module.forward({ inputIds: batch.ids, attentionMask: batch.attentionMask, pixelValues: im?.pixelValues ?? null, imageGridThw: im?.grids ?? null }).logits;
  }

  renderer(record: RlPrompt): RenderIds {
    const counts = this.tokenCounts(record);
    return (conv) => renderChat(this.tok, conv, { imageTokenCounts: counts }).ids;
  }

  frozenCopy(): VisionPolicy {
    const ref = new Glm4vForConditionalGeneration(this.module.config);
    const src = this.module.stateDict();
    for (const [name, t] of ref.stateDict()) t.data.set(src.get(name)!.data);
    ref.eval();
    return new VisionPolicy(ref, this.tok, this.processor, this.cache);
  }

  save(dir: string): void {
    saveGlm4vModel(dir, this.module);
    writeFileSync(join(dir, PREPROCESSOR_FILE), JSON.stringify(imageProcessorConfigToHf(this.processor), null, 2) + '\n');
  }
}

/** The GRPO policy of a model folder: GLM-4.1V (with its preprocessor config) or a text GLM. */
export function loadGrpoPolicy(dir: string, tok: Tokenizer): GrpoPolicy {
  if (!isGlm4vFolder(dir)) return new TextPolicy(loadCausalLM(dir), tok);
  const model = loadGlm4vModel(dir);
  return new VisionPolicy(model, tok, readImageProcessorConfig(dir, model.config.vision));
}

/** A ConfigError when image prompts meet a text policy (naming the first such record). */
export function checkPromptsFit(policy: GrpoPolicy, prompts: readonly RlPrompt[], what: string): void {
  if (policy instanceof VisionPolicy) return;
  const i = prompts.findIndex(hasImages);
  if (i >= 0) throw new ConfigError(`grpo: ${what} record ${i + 1} has image parts, but the model is ${policy.kind}, which cannot see images; train a GLM-4.1V model (glmkit init --preset tiny-vl, then sft) or use text prompts`);
}
