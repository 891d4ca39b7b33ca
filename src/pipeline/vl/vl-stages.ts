/**
 * The training stages of the vision-language pipeline (docs/vision.md "The tiny-vl pipeline"):
 *   data       visual-world captions, thinking-mode SFT chats (train split) and held-out RL-style
 *              prompts per family (test split; halves for validation and test)
 *   tokenizer  byte-level BPE on the chats' text, numbers split into single digits
 *   init       a random GLM-4.1V of the preset with the tokenizer's marker ids
 *   pretrain   the language model alone on the chats' text (images as their placeholder tokens)
 *   prealign   vision tower + merger on captions, the language model frozen
 *   sft        every parameter on thinking-mode image chats
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { readJsonl } from '../../data/jsonl.js';
import { loadImageSftExamples } from '../../data/image-chat.js';
import { VISION_FAMILIES, VISION_MAX_LEVEL, type VisionFamily, writeVisionTask } from '../../data/vision/index.js';
import { parseDifficulty } from '../../data/world/index.js';
import { loadGlm4vModel, saveGlm4vModel } from '../../models/glm4v/checkpoint.js';
import { presetDir } from '../../models/glm/config.js';
import { loadVlPreset } from '../../models/glm4v/config.js';
import { initGlm4vForTokenizer } from '../../models/glm4v/init-model.js';
import { PREPROCESSOR_FILE, readImageProcessorConfig } from '../../models/glm4v/preprocess-config.js';
import { setTextWeights, textModelOf } from '../../models/glm4v/text-model.js';
import { loadCausalLM, saveModel } from '../../models/glm/checkpoint.js';
import { trainBpeFromTexts } from '../../tokenizer/bpe-train.js';
import { renderChat, renderChatText } from '../../tokenizer/chat.js';
import { GLM4_PRE_TOKENIZER, GLM4_SPLIT_PATTERN } from '../../tokenizer/pretokenize.js';
import { loadTokenizer, saveTokenizer } from '../../tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { PretrainTrainer, pretrainSchema } from '../../trainers/pretrain/pretrain-trainer.js';
import { imageProcessor } from '../../models/glm4v/preprocess.js';
import { PrealignTrainer, VlmSftTrainer, prealignSchema, vlmSftSchema } from '../../trainers/vlm/vlm-trainer.js';
import type { VlPipelineConfig } from './vl-recipe.js';

/** What every stage of the vision-language pipeline gets. */
export interface VlStageContext {
  cfg: VlPipelineConfig;
  /** the pipeline's output folder */
  out: string;
  paths: VlPaths;
  /** summary.json as it grows: a stage adds its own key */
  summary: Record<string, unknown>;
  log: (s: string) => void;
}

export interface VlPaths {
  data: string;
  tokenizer: string;
  init: string;
  pretrain: string;
  prealign: string;
  sft: string;
}

export function vlPaths(out: string): VlPaths {
  return { data: join(out, 'data'), tokenizer: join(out, 'tokenizer'), init: join(out, 'init'), pretrain: join(out, 'pretrain'), prealign: join(out, 'prealign'), sft: join(out, 'sft') };
}

/** The families and levels of a run (UsageError-free: bad values are ConfigErrors naming the key). */
export function vlFamilies(cfg: VlPipelineConfig): VisionFamily[] {
  const out = cfg.families.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const f of out) if (!(VISION_FAMILIES as readonly string[]).includes(f)) throw new ConfigError(`pipeline: families: expected a comma-separated list of ${VISION_FAMILIES.join(', ')}, got "${f}"`);
  if (out.length === 0) throw new ConfigError(`pipeline: families: expected at least one of ${VISION_FAMILIES.join(', ')}`);
  return out as VisionFamily[];
}

export function vlLevels(cfg: VlPipelineConfig): number[] {
  return parseDifficulty(cfg.levels, VISION_MAX_LEVEL);
}

/** The held-out prompts of a family: `data/eval-<family>.jsonl`. */
export function evalFile(paths: VlPaths, family: VisionFamily): string {
  return join(paths.data, `eval-${family}.jsonl`);
}

export async function dataStage(ctx: VlStageContext): Promise<void> {
  const { cfg, paths } = ctx;
  if (cfg.image_size % 28 !== 0) throw new ConfigError(`pipeline: image_size: expected a multiple of 28 (whole image tokens), got ${cfg.image_size}`);
  mkdirSync(paths.data, { recursive: true });
  const common = { families: vlFamilies(cfg), difficulty: vlLevels(cfg), size: cfg.image_size };
  const w = { overwrite: true };
  writeVisionTask('caption', { ...common, n: cfg.caption_examples, seed: cfg.seed, split: 'train' }, join(paths.data, 'captions.jsonl'), w);
  writeVisionTask('sft', { ...common, n: cfg.sft_examples, seed: cfg.seed + 1, split: 'train' }, join(paths.data, 'sft.jsonl'), w);
  writeVisionTask('sft', { ...common, n: Math.max(8, Math.round(cfg.sft_examples / 20)), seed: cfg.seed + 2, split: 'test' }, join(paths.data, 'sft_eval.jsonl'), w);
  for (const family of common.families) {
    writeVisionTask('rl', { ...common, families: [family], n: cfg.eval_per_family, seed: cfg.seed + 3, split: 'test' }, evalFile(paths, family), w);
  }
}

/** The chats of a JSONL file of the data stage (captions or SFT), as conversations. */
function readChats(file: string): Record<string, unknown>[] {
  return readJsonl(file).map((r) => ({ messages: r.value.messages, enable_thinking: r.value.enable_thinking }));
}

/** `<|image|>` tokens of one world image under the preset's processor (every image has the same size). */
function imageTokensPerImage(cfg: VlPipelineConfig): number {
  const side = cfg.image_size / 28;
  return side * side;
}

export async function tokenizerStage(ctx: VlStageContext): Promise<void> {
  const { cfg, paths } = ctx;
  const chats = [...readChats(join(paths.data, 'captions.jsonl')), ...readChats(join(paths.data, 'sft.jsonl'))];
  const texts = chats.map((c) => renderChatText(c, { imageTokenCounts: [1] }));
  const vocabSize = loadVlPreset(cfg.preset).text.vocabSize;
  // numbers digit by digit: reading a number is then one token per glyph; room is left for the markers
  const preTokenizer = { ...GLM4_PRE_TOKENIZER, patterns: [GLM4_SPLIT_PATTERN.replace('\\p{N}{1,3}', '\\p{N}')] };
  saveTokenizer(trainBpeFromTexts(texts, { vocabSize: vocabSize - 8, preTokenizer }), paths.tokenizer);
}

export async function initStage(ctx: VlStageContext): Promise<void> {
  const { cfg, paths } = ctx;
  const tok = loadTokenizer(paths.tokenizer);
  const model = initGlm4vForTokenizer(cfg.preset, tok, cfg.seed);
  mkdirSync(paths.init, { recursive: true });
  const pre = join(presetDir(), `${cfg.preset}.${PREPROCESSOR_FILE}`);
  if (existsSync(pre)) copyFileSync(pre, join(paths.init, PREPROCESSOR_FILE));
  saveGlm4vModel(paths.init, model);
  saveTokenizer(tok, paths.init);
  ctx.summary.model = { preset: cfg.preset, parameters: model.numParameters(), vision_parameters: model.model.visual.numParameters() };
}

/**
 * Token sequences of the chats, packed into `len + 1` windows. Each image is its placeholder run,
 * except in caption chats when `captionInSpan`: there the image span holds the caption's own tokens
 * (`<|begin_of_image|>caption<|end_of_image|>`), so the language model learns to read what an image
 * span says and repeat it; pre-alignment then only has to make the vision tower write it there.
 */
function packChats(tok: Tokenizer, chats: Record<string, unknown>[], perImage: number, len: number, captionInSpan: boolean, imageId: number): Int32Array[] {
  const stream: number[] = [];
  for (const c of chats) {
    const messages = c.messages as { role: string; content: unknown }[];
    const images = messages.reduce((n, m) => n + (Array.isArray(m.content) ? m.content.filter((p: { type?: string }) => p.type === 'image').length : 0), 0);
    const ids = renderChat(tok, c, { imageTokenCounts: Array(images).fill(perImage) }).ids;
    const caption = messages.find((m) => m.role === 'assistant')?.content;
    const start = ids.indexOf(imageId);
    if (captionInSpan && c.enable_thinking === false && typeof caption === 'string' && images === 1 && start >= 0) {
      ids.splice(start, perImage, ...tok.encode(caption));
    }
    for (const id of ids) stream.push(id);
  }
  const seqs: Int32Array[] = [];
  for (let s = 0; s + len + 1 <= stream.length; s += len + 1) seqs.push(Int32Array.from(stream.slice(s, s + len + 1)));
  return seqs;
}

export async function pretrainStage(ctx: VlStageContext): Promise<void> {
  const { cfg, paths } = ctx;
  const tok = loadTokenizer(paths.init);
  const vlm = loadGlm4vModel(paths.init);
  const lmInit = join(paths.pretrain, 'lm-init');
  if (!existsSync(join(lmInit, 'config.json'))) {
    saveModel(lmInit, textModelOf(vlm));
    saveTokenizer(tok, lmInit);
  }
  const steps = cfg.pretrain_steps;
  const tc = resolveConfig(pretrainSchema, {
    object: { model: lmInit, data: join(paths.data, 'sft.jsonl'), out: join(paths.pretrain, 'lm'), max_steps: steps, per_device_train_batch_size: cfg.pretrain_batch, max_seq_length: cfg.pretrain_seq_len, learning_rate: cfg.pretrain_lr, warmup_steps: Math.max(1, Math.round(steps / 20)), optimizer: 'adamw', seed: cfg.seed, save_steps: Math.max(1, Math.round(steps / 4)), save_total_limit: 1, logging_steps: Math.max(1, Math.round(steps / 100)), resume: 'auto', quiet: cfg.quiet },
    objectSource: 'pipeline',
  });
  const chats = [...readChats(join(paths.data, 'captions.jsonl')), ...readChats(join(paths.data, 'sft.jsonl'))];
  const seqs = packChats(tok, chats, imageTokensPerImage(cfg), cfg.pretrain_seq_len, cfg.pretrain_caption_in_span, vlm.config.imageTokenId);
  const r = await new PretrainTrainer(tc, loadCausalLM(lmInit), tok, seqs, null).train();
  setTextWeights(vlm, loadCausalLM(join(paths.pretrain, 'lm', 'final')));
  const dir = join(paths.pretrain, 'final');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(paths.init, PREPROCESSOR_FILE), join(dir, PREPROCESSOR_FILE));
  saveGlm4vModel(dir, vlm);
  saveTokenizer(tok, dir);
  ctx.summary.pretrain = { loss: r.finalLoss, tokens: r.tokens, steps: r.steps, sequences: seqs.length };
}

/** Loads a glm4v folder's model, tokenizer and processor settings and the image chats of `data`. */
async function loadForTraining(dir: string, data: string, evalData: string | null, maxLen: number) {
  const tok = loadTokenizer(dir);
  const model = loadGlm4vModel(dir);
  const pre = readImageProcessorConfig(dir, model.config.vision);
  const proc = imageProcessor(pre);
  const train = await loadImageSftExamples(data, tok, maxLen, proc);
  const evalEx = evalData ? (await loadImageSftExamples(evalData, tok, maxLen, proc)).examples : null;
  return { tok, model, pre, examples: train.examples, dropped: train.dropped, evalEx };
}

function trainerObject(cfg: VlPipelineConfig, model: string, data: string, out: string, steps: number, batch: number, lr: number) {
  return { model, data, out, max_steps: steps, per_device_train_batch_size: batch, max_seq_length: cfg.max_seq_length, learning_rate: lr, warmup_steps: Math.max(1, Math.round(steps / 20)), optimizer: 'adamw', seed: cfg.seed, save_steps: Math.max(1, Math.round(steps / 4)), save_total_limit: 1, logging_steps: Math.max(1, Math.round(steps / 100)), resume: 'auto', quiet: cfg.quiet };
}

export async function prealignStage(ctx: VlStageContext): Promise<void> {
  const { cfg, paths } = ctx;
  const src = join(paths.pretrain, 'final');
  const tc = resolveConfig(prealignSchema, { object: trainerObject(cfg, src, join(paths.data, 'captions.jsonl'), paths.prealign, cfg.prealign_steps, cfg.prealign_batch, cfg.prealign_lr), objectSource: 'pipeline' });
  const d = await loadForTraining(src, tc.data as string, null, tc.max_seq_length);
  const r = await new PrealignTrainer(tc, d.model, d.tok, d.pre, d.examples, null).train();
  ctx.summary.prealign = { loss: r.finalLoss, first_loss: r.metrics[0]?.loss, tokens: r.tokens, steps: r.steps, dropped_examples: d.dropped };
}

export async function sftStage(ctx: VlStageContext): Promise<void> {
  const { cfg, paths } = ctx;
  const src = join(paths.prealign, 'final');
  const tc = resolveConfig(vlmSftSchema, { object: { ...trainerObject(cfg, src, join(paths.data, 'sft.jsonl'), paths.sft, cfg.sft_steps, cfg.sft_batch, cfg.sft_lr), eval_data: join(paths.data, 'sft_eval.jsonl') }, objectSource: 'pipeline' });
  const d = await loadForTraining(src, tc.data as string, tc.eval_data, tc.max_seq_length);
  const r = await new VlmSftTrainer(tc, d.model, d.tok, d.pre, d.examples, d.evalEx).train();
  ctx.summary.sft = { loss: r.finalLoss, first_loss: r.metrics[0]?.loss, tokens: r.tokens, steps: r.steps, dropped_examples: d.dropped, eval_loss: r.metrics.at(-1)?.eval_loss };
}
