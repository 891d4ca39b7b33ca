// `glmkit init --preset tiny-vl`: an HF GLM-4.1V folder that loads and answers an image prompt end
// to end (PNG -> preprocessImage -> placeholders -> logits), and the presets named in errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { noGrad } from '../src/tensor/autograd.js';
import { Tensor } from '../src/tensor/tensor.js';
import { loadGlm4vModel } from '../src/models/glm4v/checkpoint.js';
import { readImageProcessorConfig } from '../src/models/glm4v/preprocess-config.js';
import { imageTokenCount, preprocessImage } from '../src/models/glm4v/preprocess.js';
import { runCli, tempDir } from './helpers.js';

test('glmkit init --preset tiny-vl writes a loadable glm4v folder that runs an image prompt', async () => {
  const out = join(tempDir('glm4v-init-'), 'm');
  const r = runCli(['init', '--preset', 'tiny-vl', '--out', out, '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(info.preset, 'tiny-vl');
  const hf = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(hf.model_type, 'glm4v');
  const pre = readImageProcessorConfig(out);
  assert.deepEqual([pre.minPixels, pre.maxPixels, pre.patchSize, pre.mergeSize], [6272, 25088, 14, 2]);
  const model = loadGlm4vModel(out);
  assert.equal(model.numParameters(), info.parameters);
  const png = await sharp({ create: { width: 100, height: 80, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toBuffer();
  const img = await preprocessImage(png, pre);
  assert.deepEqual(img.gridThw, [1, 6, 8]); // 100x80 -> 112x84
  const c = model.config;
  const n = imageTokenCount(img.gridThw, pre.mergeSize);
  const ids = [5, c.imageStartTokenId, ...Array(n).fill(c.imageTokenId), c.imageEndTokenId, 6];
  const o = noGrad(() => model.forward({ inputIds: Tensor.ids(ids, [1, ids.length]), pixelValues: new Tensor(img.pixelValues, [48, 1176]), imageGridThw: [img.gridThw] }));
  assert.deepEqual(o.logits.shape, [1, ids.length, 1024]);
  assert.ok((o.logits.data as Float32Array).every(Number.isFinite));
});

test('an unknown preset names the vision-language presets too', () => {
  const r = runCli(['init', '--preset', 'nope', '--out', join(tempDir('glm4v-init-'), 'x')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /tiny-vl/);
  assert.match(r.stderr, /small-vl/);
});
