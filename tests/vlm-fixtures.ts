/**
 * A served-size GLM-4.1V folder for the image generation and serving tests: a random `tiny-vl`
 * model whose marker ids come from a small BPE tokenizer (saved beside it), the preset's
 * preprocessor_config.json (max_pixels 25088), and the stop tokens' LM-head rows zeroed so greedy
 * answers run to max_tokens instead of ending at once. Also PNG bytes of a plain colour.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { presetDir } from '../src/models/glm/config.js';
import { saveGlm4vModel } from '../src/models/glm4v/checkpoint.js';
import { initGlm4vForTokenizer } from '../src/models/glm4v/init-model.js';
import { trainBpeFromTexts } from '../src/tokenizer/bpe-train.js';
import { GLM_SPECIAL_TOKENS } from '../src/tokenizer/special-tokens.js';
import { testCorpus } from '../src/tokenizer/test-fixtures.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { stopTokenIds } from '../src/generation/rollout.js';

export function tinyTokenizer(): Tokenizer {
  return trainBpeFromTexts(testCorpus(150), { vocabSize: 256 + 100 + GLM_SPECIAL_TOKENS.length });
}

/** Writes the folder and returns its tokenizer. */
export function writeTinyVl(dir: string, seed = 7): Tokenizer {
  const tok = tinyTokenizer();
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(presetDir(), 'tiny-vl.preprocessor_config.json'), join(dir, 'preprocessor_config.json'));
  const model = initGlm4vForTokenizer('tiny-vl', tok, seed);
  const W = model.lmHead!.weight.data as Float32Array, H = model.config.text.hiddenSize;
  for (const id of stopTokenIds(tok)) W.fill(0, id * H, (id + 1) * H);
  saveGlm4vModel(dir, model);
  saveTokenizer(tok, dir);
  return tok;
}

/** PNG bytes of a w x h image: a colour with a darker square in its top-left quarter. */
export async function pngBytes(w: number, h: number, rgb: [number, number, number]): Promise<Buffer> {
  const square = await sharp({ create: { width: Math.max(1, w >> 2), height: Math.max(1, h >> 2), channels: 3, background: { r: rgb[0] >> 2, g: rgb[1] >> 2, b: rgb[2] >> 2 } } }).png().toBuffer();
  return sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).composite([{ input: square, left: 0, top: 0 }]).png().toBuffer();
}

export function dataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}
