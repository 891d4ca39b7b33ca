/**
 * Batched generation for the vision-language model (Glm4vForConditionalGeneration): prompts are
 * token ids whose `<|image|>` placeholders are already expanded (one per image token, as
 * `renderImageChat` renders them) plus their preprocessed images. The batch is left-padded and
 * prefilled once (vision tower, image features in place of the placeholders, M-RoPE positions and
 * the rope deltas), then decoded with the KV cache by the text path's loop (`decodeLoop` of
 * generate.ts: the same sampler, stop tokens, log-probs). docs/vision.md.
 */
import { ConfigError, ShapeError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import type { Glm4vForConditionalGeneration } from '../models/glm4v/model.js';
import type { ProcessedImage } from '../data/image-chat.js';
import { checkPrompts, decodeLoop, emptyResult, lastPositions, leftPad, sequenceStreams, streamBase, type DecodeStep, type GenerateOptions, type GenerateResult } from './generate.js';

/** One prompt of the vision model: ids with expanded image placeholders, and its images in order. */
export interface ImagePrompt {
  ids: readonly number[];
  /** the prompt's images in order of appearance (none for a text-only prompt) */
  images?: readonly ProcessedImage[];
}

/** Image tokens an image of this grid takes in the language model (t * h * w / merge^2). */
function tokensOf(grid: readonly [number, number, number], merge: number): number {
  return (grid[0] * grid[1] * grid[2]) / (merge * merge);
}

/**
 * Checks that every prompt holds exactly as many `<|image|>` ids as its images give tokens and that
 * each image's pixel rows fit its grid; returns the grids in prompt order and their total pixel rows.
 */
export function checkImagePrompts(model: Glm4vForConditionalGeneration, prompts: readonly ImagePrompt[]): { grids: [number, number, number][]; rows: number; rowLen: number } {
  const c = model.config, v = c.vision;
  const merge = v.spatialMergeSize;
  const rowLen = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
  const grids: [number, number, number][] = [];
  let rows = 0;
  prompts.forEach((p, i) => {
    let placeholders = 0;
    for (const t of p.ids) if (t === c.imageTokenId) placeholders++;
    let expected = 0;
    for (const [k, im] of (p.images ?? []).entries()) {
      const [gt, gh, gw] = im.gridThw;
      if (gh % merge !== 0 || gw % merge !== 0) throw new ShapeError(`prompt ${i}, image ${k}: grid [${im.gridThw.join(', ')}] is not a multiple of the merge size ${merge}`);
      if (im.pixelValues.length !== gt * gh * gw * rowLen) {
        throw new ShapeError(`prompt ${i}, image ${k}: ${im.pixelValues.length} pixel values for grid [${im.gridThw.join(', ')}], expected ${gt * gh * gw} rows of ${rowLen}; preprocess it with this model's image processor`);
      }
      expected += tokensOf(im.gridThw, merge);
      grids.push([gt, gh, gw]);
      rows += gt * gh * gw;
    }
    if (placeholders !== expected) {
      throw new ShapeError(`prompt ${i} holds ${placeholders} <|image|> token(s) (id ${c.imageTokenId}) but its ${p.images?.length ?? 0} image(s) give ${expected}; render it with the images' token counts (renderImageChat)`);
    }
  });
  return { grids, rows, rowLen };
}

/**
 * The batch's images as the model takes them: pixel rows concatenated in prompt order
 * ([sum of t*h*w, C*T*p*p]) and one grid per image; null when no prompt has an image. Checks the
 * prompts first (`checkImagePrompts`).
 */
export function batchImages(model: Glm4vForConditionalGeneration, prompts: readonly ImagePrompt[]): { pixelValues: Tensor; grids: [number, number, number][] } | null {
  const { grids, rows, rowLen } = checkImagePrompts(model, prompts);
  if (grids.length === 0) return null;
  const dtype = model.model.languageModel.embedTokens.weight.dtype === 'f64' ? 'f64' : 'f32';
  const data = dtype === 'f64' ? new Float64Array(rows * rowLen) : new Float32Array(rows * rowLen);
  let at = 0;
  for (const p of prompts) for (const im of p.images ?? []) {
    data.set(im.pixelValues, at);
    at += im.pixelValues.length;
  }
  return { pixelValues: new Tensor(data, [rows, rowLen]), grids };
}

/** A prefilled batch: the logits [B, V] the first tokens are sampled from, and the cached decode step. */
export interface ImagePrefill {
  logits: Tensor;
  step: DecodeStep;
}

/**
 * Prefills a batch of prompts with their images (left padding with `padId`, one forward through the
 * vision tower and the decoder) into a KV cache of `capacity` tokens per row, and returns the
 * last-position logits and the decode step, which feeds one token per row at the positions the
 * prefill's rope deltas give. Call inside noGrad. Checks the placeholders (`checkImagePrompts`).
 */
export function prefillWithImages(model: Glm4vForConditionalGeneration, prompts: readonly ImagePrompt[], padId: number, capacity: number): ImagePrefill {
  const images = batchImages(model, prompts);
  const B = prompts.length;
  const { ids, mask, T } = leftPad(prompts.map((p) => p.ids), padId);
  if (capacity < T) throw new ConfigError(`prefillWithImages: cache capacity ${capacity} is below the longest prompt (${T} tokens)`);
  const cache = model.createCache(B, capacity);
  const pre = model.forwardHidden({ inputIds: new Tensor(ids, [B, T]), pixelValues: images?.pixelValues, imageGridThw: images?.grids, attentionMask: mask, cache });
  let ropeDeltas = pre.ropeDeltas, rowCache = cache;
  const step: DecodeStep = (next, stepMask) => {
    const R = next.length;
    const { hidden } = model.forwardHidden({ inputIds: new Tensor(next, [R, 1]), attentionMask: stepMask, cache: rowCache, ropeDeltas });
    return model.logits(lastPositions(hidden, R, 1));
  };
  step.keepRows = (keep) => {
    rowCache = rowCache.keepRows(keep);
    ropeDeltas = Int32Array.from(keep, (i) => ropeDeltas[i]);
  };
  return { logits: model.logits(lastPositions(pre.hidden, B, T)), step };
}

/**
 * Samples up to `opts.maxNewTokens` tokens after each prompt (left padding, one prefill, cached
 * decode with the prefill's rope deltas). Same options and result as `generate` (tokens with the
 * stop token that ended them, sampling-time log-probs, finish reasons); `recordRouting` is refused
 * (the vision model is dense).
 */
export function generateWithImages(model: Glm4vForConditionalGeneration, prompts: readonly ImagePrompt[], opts: GenerateOptions): GenerateResult {
  if (opts.recordRouting) throw new ConfigError('generateWithImages: recordRouting is for MoE text models; the vision model is dense');
  const t = model.config.text;
  checkPrompts(prompts.map((p) => p.ids), opts, t.vocabSize, t.maxPositionEmbeddings);
  checkImagePrompts(model, prompts);
  const out = emptyResult(prompts.length);
  if (prompts.length === 0 || opts.maxNewTokens === 0) return out;
  const streams = sequenceStreams(streamBase(opts), prompts.map((_, b) => b));
  const T = Math.max(...prompts.map((p) => p.ids.length));
  noGrad(() => {
    const { logits, step } = prefillWithImages(model, prompts, opts.padId ?? 0, T + opts.maxNewTokens);
    decodeLoop(logits, step, opts, streams, out);
  });
  return out;
}
