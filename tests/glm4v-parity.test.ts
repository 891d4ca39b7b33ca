// Parity of glmkit's GLM-4.1V (src/models/glm4v) with an independent float64 reference written
// from HF's modeling_glm4v.py (tests/reference/glm4v-reference.ts, which imports nothing from
// glmkit): M-RoPE positions exactly, image features and logits on random tiny checkpoints whose
// every tensor (norm weights and biases included) is random. Max abs differences are printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/util/rng.js';
import { noGrad } from '../src/tensor/autograd.js';
import { Tensor } from '../src/tensor/tensor.js';
import { glm4vConfigFromHf, glm4vConfigToHf, validateGlm4vConfig, type Glm4vConfig } from '../src/models/glm4v/config.js';
import { Glm4vForConditionalGeneration } from '../src/models/glm4v/model.js';
import { referenceLogits, referenceRopeIndex, referenceVision } from './reference/glm4v-reference.js';
import { randomizeAll, tinyHfConfig } from './glm4v-fixtures.js';

function prompt(cfg: Glm4vConfig, grids: number[][], text: number[][]): number[] {
  const ids: number[] = [...text[0]];
  grids.forEach((g, i) => {
    ids.push(cfg.imageStartTokenId, ...Array((g[0] * g[1] * g[2]) / 4).fill(cfg.imageTokenId), cfg.imageEndTokenId, ...text[i + 1]);
  });
  return ids;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('config round trip: nested and flat HF layouts read the same; mrope sections must sum to rotary_dim / 2', () => {
  const nested = glm4vConfigFromHf(tinyHfConfig(), 'tiny');
  const back = glm4vConfigFromHf(glm4vConfigToHf(nested), 'back');
  assert.deepEqual(back.vision, nested.vision);
  assert.deepEqual(back.mropeSection, [1, 2, 1]);
  assert.equal(back.text.hiddenSize, 64);
  assert.equal(back.text.headDim, 16);
  assert.equal(back.text.attentionBias, true);
  const hf = tinyHfConfig();
  const flat = { ...hf, ...(hf.text_config as object), model_type: 'glm4v' } as Record<string, unknown>;
  delete flat.text_config;
  const f = glm4vConfigFromHf(flat, 'flat');
  assert.equal(f.text.vocabSize, 97);
  assert.equal(f.text.numHiddenLayers, 2);
  assert.deepEqual(f.mropeSection, [1, 2, 1]);
  assert.throws(() => validateGlm4vConfig({ ...nested, mropeSection: [1, 1, 1] }, 'bad'), /mrope_section.*sum.*4/);
});

test('M-RoPE positions equal the reference get_rope_index (the worked example: grids [1,8,12] and [1,6,4])', () => {
  const hf = tinyHfConfig();
  const cfg = glm4vConfigFromHf(hf, 'tiny');
  const model = new Glm4vForConditionalGeneration(cfg);
  const grids = [[1, 8, 12], [1, 6, 4]];
  const ids = prompt(cfg, grids, [[5, 6, 7], [8, 9], [10, 11, 12]]);
  const r = model.ropeIndex(Tensor.ids(ids, [1, ids.length]), grids as [number, number, number][], null);
  const ref = referenceRopeIndex(ids, grids, hf);
  for (let row = 0; row < 3; row++) assert.deepEqual(Array.from(r.positions.subarray(row * ids.length, (row + 1) * ids.length)), ref.pos[row], `row ${row}`);
  assert.equal(r.deltas[0], ref.delta);
  assert.equal(ref.delta, -21); // T = 42, max position 20
  assert.equal(ref.pos[0][ids.length - 1], 20);
});

for (const dtype of ['f64', 'f32'] as const) {
  test(`${dtype} logits and image features match the independent reference (two images, grids [1,8,12] and [1,6,4])`, () => {
    const hf = tinyHfConfig();
    const cfg = glm4vConfigFromHf(hf, 'tiny');
    const model = new Glm4vForConditionalGeneration(cfg, { dtype });
    const weights = randomizeAll(model, 7);
    const grids = [[1, 8, 12], [1, 6, 4]];
    const rowLen = 3 * 2 * 4 * 4;
    const n = 96 + 24;
    const rng = new Rng(3);
    const pixels = Float64Array.from({ length: n * rowLen }, () => rng.normal());
    const ids = prompt(cfg, grids, [[5, 6, 7], [8, 9], [10, 11, 12]]);
    const out = noGrad(() =>
      model.forward({ inputIds: Tensor.ids(ids, [1, ids.length]), pixelValues: Tensor.from(pixels, [n, rowLen], dtype), imageGridThw: grids as [number, number, number][] }),
    );
    const feats = noGrad(() => model.imageFeatures(Tensor.from(pixels, [n, rowLen], dtype), grids as [number, number, number][]));
    const refFeats = referenceVision(weights, hf.vision_config as Record<string, unknown>, pixels, grids);
    const ref = referenceLogits(weights, hf, ids, pixels, grids);
    const dFeat = maxAbs(feats.data, refFeats), dLogit = maxAbs(out.logits.data, ref.logits);
    const scale = ref.logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    console.log(`glm4v parity (${dtype}): image features max abs diff ${dFeat.toExponential(2)}, logits max abs diff ${dLogit.toExponential(2)} (max |logit| ${scale.toFixed(2)}, T=${ids.length}, V=97)`);
    const tol = dtype === 'f64' ? 1e-9 : 2e-4;
    assert.ok(dFeat < tol, `features differ by ${dFeat}`);
    assert.ok(dLogit < tol * Math.max(1, scale), `logits differ by ${dLogit}`);
    assert.ok(scale > 0.5, 'logits are not trivially small');
  });
}

test('text-only prompts: logits match the reference and positions are 0..T-1 on all rows', () => {
  const hf = tinyHfConfig();
  const cfg = glm4vConfigFromHf(hf, 'tiny');
  const model = new Glm4vForConditionalGeneration(cfg, { dtype: 'f64' });
  const weights = randomizeAll(model, 9);
  const ids = [1, 2, 3, 4, 5, 6, 7];
  const out = noGrad(() => model.forward({ inputIds: Tensor.ids(ids, [1, 7]) }));
  const ref = referenceLogits(weights, hf, ids, null, []);
  assert.deepEqual(Array.from(out.positionIds), [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6]);
  assert.ok(maxAbs(out.logits.data, ref.logits) < 1e-9);
});

test('the comparison catches one-detail mistakes: each mutation of glmkit\'s side moves the logits by far more than the f32 agreement', () => {
  const hf = tinyHfConfig();
  const cfg = glm4vConfigFromHf(hf, 'tiny');
  const grids = [[1, 8, 12], [1, 6, 4]] as [number, number, number][];
  const rng = new Rng(3);
  const pixels = Float64Array.from({ length: 120 * 96 }, () => rng.normal());
  const ids = prompt(cfg, grids, [[5, 6, 7], [8, 9], [10, 11, 12]]);
  const base = new Glm4vForConditionalGeneration(cfg, { dtype: 'f64' });
  const weights = randomizeAll(base, 7);
  const ref = referenceLogits(weights, hf, ids, pixels, grids);
  const run = (m: Glm4vForConditionalGeneration) =>
    noGrad(() => m.forward({ inputIds: Tensor.ids(ids, [1, ids.length]), pixelValues: Tensor.from(pixels, [120, 96], 'f64'), imageGridThw: grids }).logits.data);
  const mutate = (c: Glm4vConfig, edit: (sd: Map<string, Tensor>) => void) => {
    const m = new Glm4vForConditionalGeneration(c, { dtype: 'f64' });
    noGrad(() => {
      const sd = m.stateDict();
      for (const [name, t] of sd) (t.data as Float64Array).set(weights.get(name)!.data);
      edit(sd);
    });
    return maxAbs(run(m), ref.logits);
  };
  assert.ok(mutate(cfg, () => {}) < 1e-9);
  const results: Record<string, number> = {
    'position table read [x][y]': mutate(cfg, (sd) => {
      const t = sd.get('model.visual.embeddings.position_embedding.weight')!, S = 12, D = 24, c = Float64Array.from(t.data);
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let d = 0; d < D; d++) t.data[(y * S + x) * D + d] = c[(x * S + y) * D + d];
    }),
    'merger gate/up swapped': mutate(cfg, (sd) => {
      const g = sd.get('model.visual.merger.gate_proj.weight')!, u = sd.get('model.visual.merger.up_proj.weight')!, c = Float64Array.from(g.data);
      g.data.set(u.data);
      u.data.set(c);
    }),
    'downsample kernel transposed (ih <-> iw)': mutate(cfg, (sd) => {
      const w = sd.get('model.visual.downsample.weight')!, c = Float64Array.from(w.data);
      for (let i = 0; i < c.length / 4; i++) [w.data[i * 4 + 1], w.data[i * 4 + 2]] = [c[i * 4 + 2], c[i * 4 + 1]];
    }),
    'M-RoPE sections h/w swapped': mutate({ ...cfg, mropeSection: [1, 1, 2] }, () => {}),
  };
  console.log(`glm4v mutations (logits max abs diff vs reference): ${JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, +v.toExponential(2)])))}`);
  for (const [k, v] of Object.entries(results)) assert.ok(v > 1e-3, `${k}: only ${v}`);
});
