/**
 * Rollouts for the vision-language model, as `rollout` (rollout.ts) does them for text: chat prompts
 * whose messages may hold image parts (`{"type": "image", "image": ...}` or OpenAI `image_url`) are
 * rendered with their images (`renderImageChat`: loaded, preprocessed, placeholders expanded), then
 * sampled in batches by `generateWithImages`; each rollout keeps its prompt's images so a trainer
 * can recompute log-probs on the same inputs. Rendering is async (images are read and decoded),
 * sampling is not: render once with `renderImagePrompts` and sample many times with
 * `rolloutImagePrompts`, or do both with `rolloutWithImages`.
 */
import type { Glm4vForConditionalGeneration } from '../models/glm4v/model.js';
import { renderImageChat, type ImageProcessorLike, type ProcessedImage } from '../data/image-chat.js';
import type { ImageSourceOptions } from '../data/image-source.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { rolloutPlan, type Rollout, type RolloutOptions } from './rollout.js';
import { generateWithImages, type ImagePrompt } from './vlm-generate.js';

/** A chat prompt whose messages may hold image parts. */
export interface ImageChatPrompt {
  messages: unknown[];
  tools?: unknown[];
  /** hybrid thinking switch for this prompt (default: the options' `thinking`) */
  enable_thinking?: boolean;
}

/** How image references are found and preprocessed. */
export interface ImageRenderOptions {
  processor: ImageProcessorLike;
  /** where relative paths resolve (`baseDir`), allowed root, allow-listed hosts (image-source.ts) */
  source: Omit<ImageSourceOptions, 'where'>;
  /** thinking mode for prompts that do not say (default false) */
  thinking?: boolean;
  /** where each prompt was read (file and line), for errors; default "prompt i" */
  where?: readonly { file?: string; line?: number }[];
}

/** A rollout of the vision model: the text rollout plus the prompt's preprocessed images. */
export interface ImageRollout extends Rollout {
  images: readonly ProcessedImage[];
}

/** Renders chat prompts with their images (ids ending with the generation prompt, placeholders expanded). */
export async function renderImagePrompts(tok: Tokenizer, prompts: readonly (ImageChatPrompt | unknown[])[], opts: ImageRenderOptions): Promise<ImagePrompt[]> {
  const out: ImagePrompt[] = [];
  for (const [i, p] of prompts.entries()) {
    const chat = Array.isArray(p) ? { messages: p } : p;
    const conv = { messages: chat.messages, tools: chat.tools, enable_thinking: chat.enable_thinking ?? opts.thinking ?? false, add_generation_prompt: true };
    const r = await renderImageChat(tok, conv, { processor: opts.processor, source: opts.source, where: opts.where?.[i] ?? { file: `prompt ${i}` } });
    out.push({ ids: r.ids, images: r.images });
  }
  return out;
}

/**
 * `numSamples` completions for every rendered prompt (rows prompt-major, `batchSize` rows per
 * generation call), with the GLM stop tokens, padding and vocabulary limit of the tokenizer, as
 * `rollout` samples text prompts. Deterministic given the rng state, which it advances.
 */
export function rolloutImagePrompts(model: Glm4vForConditionalGeneration, tok: Tokenizer, prompts: readonly ImagePrompt[], opts: RolloutOptions): ImageRollout[] {
  const plan = rolloutPlan(tok, prompts.map((p) => [...p.ids]), opts);
  const out: ImageRollout[] = [];
  for (let i = 0; i < plan.rows.length; i += plan.batchSize) {
    const chunk = plan.rows.slice(i, i + plan.batchSize);
    const res = generateWithImages(model, chunk.map((r) => ({ ids: r.ids, images: prompts[r.promptIndex].images })), plan.gen);
    out.push(...plan.collect(chunk, res).map((r) => ({ ...r, images: prompts[r.promptIndex].images ?? [] })));
  }
  return out;
}

/** Renders the prompts with their images, then samples them (`renderImagePrompts` + `rolloutImagePrompts`). */
export async function rolloutWithImages(model: Glm4vForConditionalGeneration, tok: Tokenizer, prompts: readonly (ImageChatPrompt | unknown[])[], opts: RolloutOptions & ImageRenderOptions): Promise<ImageRollout[]> {
  return rolloutImagePrompts(model, tok, await renderImagePrompts(tok, prompts, opts), opts);
}
