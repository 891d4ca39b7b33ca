/**
 * Chat turns on a local model (generate --prompt / --prompts and chat): a text GLM through the
 * shared rollout engine, or a GLM-4.1V folder through the image rollouts (messages may hold image
 * parts, `{"type": "image", "image": ...}` or OpenAI `image_url`; relative paths resolve against
 * `baseDir`, remote URLs are refused).
 */
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { ImageProcessorLike } from '../data/image-chat.js';
import { rollout, type ChatPrompt, type Rollout } from '../generation/rollout.js';
import { renderImagePrompts, rolloutImagePrompts, type ImageChatPrompt } from '../generation/vlm-rollout.js';
import { loadCausalLM, type WeightDtype } from '../models/glm/checkpoint.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import { isGlm4vFolder, loadGlm4vModel } from '../models/glm4v/checkpoint.js';
import { readGlm4vConfigFile } from '../models/glm4v/config.js';
import type { Glm4vForConditionalGeneration } from '../models/glm4v/model.js';
import { imageProcessor, readImageProcessorConfig } from '../models/glm4v/preprocess.js';
import { loadTokenizer, type ParsedOutput, type Tokenizer } from '../tokenizer/index.js';

export interface TurnOptions {
  thinking: boolean;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

export interface TurnResult extends ParsedOutput {
  /** the generated text (special tokens kept, stop token dropped) */
  text: string;
  ids: number[];
  finishReason: 'stop' | 'length';
}

/** A generation model folder: a text GLM (causal LM), or a vision-language GLM-4.1V (glm4v). */
export type GenerationModel = { kind: 'text'; model: GlmForCausalLM } | { kind: 'vision'; model: Glm4vForConditionalGeneration };

/** A model folder loaded for chatting: the model, its tokenizer, and a vision model's image processor. */
export type ChatModel = { dir: string; tok: Tokenizer } & ({ kind: 'text'; model: GlmForCausalLM } | { kind: 'vision'; model: Glm4vForConditionalGeneration; processor: ImageProcessorLike });

/** Loads a text or a glm4v model folder (no tokenizer needed). */
export function loadGenerationModel(dir: string, dtype: WeightDtype): GenerationModel {
  return isGlm4vFolder(dir) ? { kind: 'vision', model: loadGlm4vModel(dir, { dtype }) } : { kind: 'text', model: loadCausalLM(dir, { dtype }) };
}

/** Loads a text or a glm4v model folder with its tokenizer (and a glm4v folder's preprocessor_config.json). */
export function loadChatModel(dir: string, dtype: WeightDtype): ChatModel {
  const tok = loadTokenizer(dir);
  const g = loadGenerationModel(dir, dtype);
  if (g.kind === 'text') return { ...g, dir, tok };
  const vision = readGlm4vConfigFile(join(dir, 'config.json')).vision;
  return { ...g, dir, tok, processor: imageProcessor(readImageProcessorConfig(dir, vision)) };
}

/** Refuses images for a text model (`what` names them: "--image", "/image"). */
export function requireVision(command: string, m: ChatModel, what: string): void {
  if (m.kind !== 'vision') throw new UsageError(`${command}: ${what} needs a vision-language model (a GLM-4.1V folder, model_type glm4v); ${m.dir} is a text-only model`);
}

function turnOf(r: Rollout): TurnResult {
  return { ...r.parsed, text: r.text, ids: r.completionIds, finishReason: r.finishReason };
}

/**
 * One turn per prompt, sampled in batches of `batchSize` (one seeded random stream over them all).
 * A text model given image parts is a DataError from the renderer; a vision model reads them.
 */
export async function chatTurns(m: ChatModel, prompts: readonly ImageChatPrompt[], o: TurnOptions & { baseDir: string; batchSize?: number; where?: readonly { file?: string; line?: number }[] }): Promise<TurnResult[]> {
  const opts = { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, seed: o.seed, thinking: o.thinking, batchSize: o.batchSize };
  // the renderer checks the messages (a text model given image parts is a DataError naming them)
  if (m.kind === 'text') return rollout(m.model, m.tok, prompts as readonly ChatPrompt[], opts).map(turnOf);
  const rendered = await renderImagePrompts(m.tok, prompts, { processor: m.processor, source: { baseDir: o.baseDir }, thinking: o.thinking, where: o.where });
  return rolloutImagePrompts(m.model, m.tok, rendered, opts).map(turnOf);
}
