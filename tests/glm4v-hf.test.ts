// Parity with Hugging Face transformers itself (optional: skipped, saying why, where no Python here
// imports torch and transformers): a random tiny glm4v folder written by glmkit is loaded by
// Glm4vForConditionalGeneration.from_pretrained and both give the same logits and M-RoPE positions
// for a prompt with two images; HF's slow image processor gives the same pixel_values and grid as
// preprocessImage for a PNG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.js';
import { pythonForTests } from '../src/util/test-skip.js';
import { tempDir } from '../src/util/temp-dir.js';
import { noGrad } from '../src/tensor/autograd.js';
import { Tensor } from '../src/tensor/tensor.js';
import { glm4vConfigFromHf } from '../src/models/glm4v/config.js';
import { saveGlm4vModel } from '../src/models/glm4v/checkpoint.js';
import { Glm4vForConditionalGeneration } from '../src/models/glm4v/model.js';
import { imageProcessorConfigFromHf } from '../src/models/glm4v/preprocess-config.js';
import { preprocessImage } from '../src/models/glm4v/preprocess.js';
import { randomizeAll, tinyHfConfig } from './glm4v-fixtures.js';

const py = pythonForTests(['torch', 'transformers']);

const HF_FORWARD = `
import json, sys, numpy as np, torch
from transformers import Glm4vForConditionalGeneration
d = sys.argv[1]
inp = json.load(open(d + '/input.json'))
model = Glm4vForConditionalGeneration.from_pretrained(d + '/model', torch_dtype=torch.float64, attn_implementation='eager').eval()
ids = torch.tensor([inp['ids']])
px = torch.tensor(np.fromfile(d + '/pixels.f32', dtype=np.float32).reshape(inp['n'], inp['row'])).double()
grid = torch.tensor(inp['grids'])
mm = (ids == inp['image_token_id']).int()  # transformers 5.x: text 0, image 1
with torch.no_grad():
    try:
        out = model(input_ids=ids, pixel_values=px, image_grid_thw=grid, mm_token_type_ids=mm)
        pos, delta = model.model.get_rope_index(ids, mm, image_grid_thw=grid)
    except TypeError:  # transformers 4.x has no mm_token_type_ids
        out = model(input_ids=ids, pixel_values=px, image_grid_thw=grid)
        pos, delta = model.model.get_rope_index(ids, grid, None, None)
out.logits[0].double().numpy().astype(np.float64).tofile(d + '/logits.f64')
json.dump({'pos': pos[:, 0].tolist(), 'delta': int(delta[0, 0])}, open(d + '/pos.json', 'w'))
`;

test('logits and positions equal HF Glm4vForConditionalGeneration on a random tiny checkpoint', { skip: py.skip }, () => {
  const dir = tempDir('glm4v-hf-');
  const hf = tinyHfConfig();
  const cfg = glm4vConfigFromHf(hf, 'tiny');
  const model = new Glm4vForConditionalGeneration(cfg, { dtype: 'f64' });
  randomizeAll(model, 11);
  const f32 = new Glm4vForConditionalGeneration(cfg);
  noGrad(() => {
    const src = model.stateDict();
    for (const [name, t] of f32.stateDict()) (t.data as Float32Array).set(src.get(name)!.data);
  });
  saveGlm4vModel(join(dir, 'model'), f32);
  const grids: [number, number, number][] = [[1, 8, 12], [1, 6, 4]];
  const c = cfg;
  const ids = [5, 6, c.imageStartTokenId, ...Array(24).fill(c.imageTokenId), c.imageEndTokenId, 7, c.imageStartTokenId, ...Array(6).fill(c.imageTokenId), c.imageEndTokenId, 8, 9];
  const rng = new Rng(12);
  const n = 120, row = 96;
  const pixels = Float32Array.from({ length: n * row }, () => rng.normal());
  writeFileSync(join(dir, 'pixels.f32'), Buffer.from(pixels.buffer));
  writeFileSync(join(dir, 'input.json'), JSON.stringify({ ids, n, row, grids, image_token_id: c.imageTokenId }));
  const r = spawnSync(py.python!, ['-c', HF_FORWARD, dir], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  const theirs = new Float64Array(readFileSync(join(dir, 'logits.f64')).buffer.slice(0));
  const pos = JSON.parse(readFileSync(join(dir, 'pos.json'), 'utf8'));
  // glmkit in f64 on the f32-rounded weights (what the folder holds)
  const m64 = new Glm4vForConditionalGeneration(cfg, { dtype: 'f64' });
  noGrad(() => {
    const src = f32.stateDict();
    for (const [name, t] of m64.stateDict()) (t.data as Float64Array).set(src.get(name)!.data);
  });
  const ours = noGrad(() => m64.forward({ inputIds: Tensor.ids(ids, [1, ids.length]), pixelValues: Tensor.from(pixels, [n, row], 'f64'), imageGridThw: grids }));
  let d = 0;
  for (let i = 0; i < theirs.length; i++) d = Math.max(d, Math.abs(theirs[i] - ours.logits.data[i]));
  console.log(`glm4v vs HF transformers (float64): logits max abs diff ${d.toExponential(2)} over ${ids.length} tokens`);
  assert.equal(theirs.length, ours.logits.size);
  // HF keeps the position-table interpolation and the rotary tables in float32 even in a float64
  // model, so agreement is at float32 level (glmkit and the float64 reference agree to ~1e-14).
  assert.ok(d < 5e-5, `logits differ by ${d}`);
  for (let rowI = 0; rowI < 3; rowI++) assert.deepEqual(Array.from(ours.positionIds.subarray(rowI * ids.length, (rowI + 1) * ids.length)), pos.pos[rowI]);
  assert.equal(ours.ropeDeltas[0], pos.delta);
});

const HF_PROCESS = `
import json, sys, numpy as np
from PIL import Image
try:
    from transformers.models.glm4v.image_processing_pil_glm4v import Glm4vImageProcessorPil as P
except Exception:
    from transformers.models.glm4v.image_processing_glm4v import Glm4vImageProcessor as P
d = sys.argv[1]
p = P(size={'shortest_edge': 6272, 'longest_edge': 100352}, patch_size=14, merge_size=2, temporal_patch_size=2)
out = p(images=[Image.open(d + '/img.png')], return_tensors='np')
np.asarray(out['pixel_values'], dtype=np.float32).tofile(d + '/pv.f32')
json.dump(np.asarray(out['image_grid_thw']).tolist(), open(d + '/grid.json', 'w'))
`;

test('preprocessImage equals HF Glm4vImageProcessor (PIL path) on a PNG', { skip: py.skip }, async () => {
  const dir = tempDir('glm4v-hfproc-');
  const rng = new Rng(13);
  const raw = Buffer.from(Uint8Array.from({ length: 173 * 131 * 3 }, () => rng.int(256)));
  const png = await sharp(raw, { raw: { width: 173, height: 131, channels: 3 } }).png().toBuffer();
  writeFileSync(join(dir, 'img.png'), png);
  const r = spawnSync(py.python!, ['-c', HF_PROCESS, dir], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  const cfg = imageProcessorConfigFromHf({ size: { shortest_edge: 6272, longest_edge: 100352 } }, 'test');
  const ours = await preprocessImage(png, cfg);
  assert.deepEqual([ours.gridThw], JSON.parse(readFileSync(join(dir, 'grid.json'), 'utf8')));
  const theirs = new Float32Array(readFileSync(join(dir, 'pv.f32')).buffer.slice(0));
  let d = 0;
  for (let i = 0; i < theirs.length; i++) d = Math.max(d, Math.abs(theirs[i] - ours.pixelValues[i]));
  console.log(`preprocessImage vs HF Glm4vImageProcessor: pixel_values max abs diff ${d.toExponential(2)}`);
  assert.ok(d < 1e-6, `pixel_values differ by ${d}`);
});
