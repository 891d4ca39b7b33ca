/**
 * Batches of image chats for GLM-4.1V training (merger pre-alignment and image SFT): the token side
 * is SFT's (right padding, targets only where the next token is an assistant token), the image side
 * concatenates every image's `pixel_values` rows in order of appearance with one `[t, h, w]` grid
 * per image, as `Glm4vForConditionalGeneration.forward` takes them.
 */
import { noGrad } from '../../tensor/autograd.js';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import type { ImageSftExample } from '../../data/image-chat.js';
import type { Glm4vForConditionalGeneration } from '../../models/glm4v/model.js';
import type { GridThw } from '../../models/glm4v/vision.js';
import type { LmBatch } from '../base/lm-loss.js';
import { sftBatch } from '../sft/sft-data.js';

export interface VlmBatch extends LmBatch {
  /** [sum of t*h*w, C*T*p*p], or null when no example holds an image */
  pixelValues: Tensor | null;
  grids: GridThw[];
}

/** Right-pads image chats into one batch (see sftBatch) with their images concatenated in order. */
export function vlmBatch(examples: readonly ImageSftExample[], padId: number): VlmBatch {
  const lm = sftBatch(examples as ImageSftExample[], padId);
  const images = examples.flatMap((e) => e.images);
  if (images.length === 0) return { ...lm, pixelValues: null, grids: [] };
  const rows = images.reduce((n, im) => n + im.gridThw[0] * im.gridThw[1] * im.gridThw[2], 0);
  const width = images[0].pixelValues.length / (images[0].gridThw[0] * images[0].gridThw[1] * images[0].gridThw[2]);
  const data = new Float32Array(rows * width);
  let at = 0;
  for (const im of images) {
    data.set(im.pixelValues, at);
    at += im.pixelValues.length;
  }
  return { ...lm, pixelValues: new Tensor(data, [rows, width]), grids: images.map((im): GridThw => [im.gridThw[0], im.gridThw[1], im.gridThw[2]]) };
}

/** Mean next-token loss of the batch's assistant tokens (scaled for gradient accumulation). */
export function vlmLoss(model: Glm4vForConditionalGeneration, batch: VlmBatch, scale: number): { loss: Tensor; lossValue: number } {
  const out = model.forward({ inputIds: batch.ids, targets: batch.targets, attentionMask: batch.attentionMask, pixelValues: batch.pixelValues, imageGridThw: batch.grids });
  const loss = out.loss!;
  return { loss: scale === 1 ? loss : F.mul(loss, scale), lossValue: loss.item() };
}

/** Mean next-token loss over target tokens of a list of batches, without gradients. */
export function vlmEvalLoss(model: Glm4vForConditionalGeneration, batches: readonly VlmBatch[]): number {
  return noGrad(() => {
    let sum = 0, n = 0;
    for (const b of batches) {
      const out = model.forward({ inputIds: b.ids, targets: b.targets, attentionMask: b.attentionMask, pixelValues: b.pixelValues, imageGridThw: b.grids, lossReduction: 'sum' });
      sum += out.loss!.item();
      for (let i = 0; i < b.targets.size; i++) if (b.targets.data[i] !== -100) n++;
    }
    return n > 0 ? sum / n : NaN;
  });
}
