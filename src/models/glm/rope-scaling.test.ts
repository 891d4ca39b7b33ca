// Scaled RoPE: inv_freq and attention factor against values computed by hand from the formulas of
// transformers' rope utilities, the keys' round trip through config.json (4.x rope_scaling and 5.x
// rope_parameters) and through a saved model folder, and the model's use of the scaled tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import * as F from '../../tensor/ops/index.js';
import { assertClose } from '../../tensor/testing.js';
import { tempDir } from '../../util/temp-dir.js';
import { configFromHf, configToHf, loadPreset, rotaryDim } from './config.js';
import { loadModel, saveModel } from './checkpoint.js';
import { GlmForCausalLM } from './model.js';
import { parseRopeScaling, ropeFrequencies, type RopeScaling } from './rope-scaling.js';
import { glmGgufMetadata } from './gguf-export.js';
import { ConfigError } from '../../errors.js';

const near = (got: ArrayLike<number>, want: number[], tol = 1e-6) => {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])), `entry ${i}: ${got[i]} vs ${want[i]}`);
};
const scaling = (raw: Record<string, unknown>): RopeScaling => parseRopeScaling(raw, 'test')!;

test('plain and linear RoPE: theta^(-2i/d), divided by factor', () => {
  const plain = ropeFrequencies({ rotaryDim: 4, ropeTheta: 10000, maxPositionEmbeddings: 512, ropeScaling: null }, 100);
  near(plain.invFreq, [1, 0.01]);
  assert.equal(plain.attentionFactor, 1);
  const lin = ropeFrequencies({ rotaryDim: 4, ropeTheta: 10000, maxPositionEmbeddings: 512, ropeScaling: scaling({ rope_type: 'linear', factor: 4 }) }, 100);
  near(lin.invFreq, [0.25, 0.0025]);
  assert.equal(lin.attentionFactor, 1);
});

test('dynamic NTK: theta grows only past max_position_embeddings', () => {
  const s = { rotaryDim: 4, ropeTheta: 10000, maxPositionEmbeddings: 512, ropeScaling: scaling({ type: 'dynamic', factor: 2 }) };
  near(ropeFrequencies(s, 300).invFreq, [1, 0.01]); // within the trained length: unchanged
  // L = 1024: theta' = 10000 * (2 * 1024 / 512 - 1)^(4 / 2) = 90000 -> inv_freq_1 = 1 / 300
  near(ropeFrequencies(s, 1024).invFreq, [1, 1 / 300]);
  assert.equal(ropeFrequencies(s, 1024).attentionFactor, 1);
});

test('yarn: ramp over the correction range and 0.1 ln(factor) + 1', () => {
  // rotary dim 16 (GLM tiny), theta 1e4, original 512, factor 8: correction dims 0.81 -> 0 and 3.82 -> 4
  const s = { rotaryDim: 16, ropeTheta: 10000, maxPositionEmbeddings: 4096, ropeScaling: scaling({ rope_type: 'yarn', factor: 8, original_max_position_embeddings: 512 }) };
  const r = ropeFrequencies(s, 10);
  const base = (i: number) => Math.pow(10000, -i / 8);
  near(r.invFreq, [1, base(1) * (0.25 / 8 + 0.75), 0.1 * (0.5 / 8 + 0.5), base(3) * (0.75 / 8 + 0.25), 0.01 / 8, base(5) / 8, base(6) / 8, base(7) / 8]);
  near([r.invFreq[1], r.invFreq[2], r.invFreq[3]], [0.2470529, 0.05625, 0.0108703], 1e-6);
  near([r.attentionFactor], [1.2079442]);
  // mscale / mscale_all_dim: (0.1 ln 8 + 1) / (0.05 ln 8 + 1)
  const m = ropeFrequencies({ ...s, ropeScaling: scaling({ rope_type: 'yarn', factor: 8, original_max_position_embeddings: 512, mscale: 1, mscale_all_dim: 0.5 }) }, 10);
  near([m.attentionFactor], [1.09418]); // 1.2079442 / 1.1039721
  // attention_factor as given wins; without factor, factor = max_position_embeddings / original
  const g = ropeFrequencies({ ...s, ropeScaling: scaling({ rope_type: 'yarn', original_max_position_embeddings: 512, attention_factor: 1.5 }) }, 10);
  near(g.invFreq, r.invFreq as unknown as number[]);
  assert.equal(g.attentionFactor, 1.5);
});

test('ropeTables multiplies cos and sin by the attention factor', () => {
  const { cos, sin } = F.ropeTables([3], 4, 10000, 'f64', { invFreq: [0.5, 0.1], attentionFactor: 2 });
  near(cos.data, [2 * Math.cos(1.5), 2 * Math.cos(0.3)], 1e-12);
  near(sin.data, [2 * Math.sin(1.5), 2 * Math.sin(0.3)], 1e-12);
});

test('4.x rope_scaling round trip keeps spelling and extra keys', () => {
  const raw = { type: 'yarn', factor: 4, original_max_position_embeddings: 512, finetuned: true };
  const cfg = configFromHf({ model_type: 'glm4', max_position_embeddings: 2048, rope_scaling: raw }, 'cfg.json');
  assert.equal(cfg.ropeScaling?.ropeType, 'yarn');
  assert.equal(cfg.ropeScaling?.factor, 4);
  assert.equal(cfg.ropeScaling?.originalMaxPositionEmbeddings, 512);
  assert.deepEqual(configToHf(cfg).rope_scaling, raw);
  cfg.ropeScaling = { ...cfg.ropeScaling!, factor: 8 };
  assert.deepEqual(configToHf(cfg).rope_scaling, { ...raw, factor: 8 });
  cfg.ropeScaling = null;
  assert.equal(configToHf(cfg).rope_scaling, null);
});

test('5.x rope_parameters carry the scaling beside rope_theta', () => {
  const rp = { rope_type: 'dynamic', factor: 2, rope_theta: 50000, partial_rotary_factor: 0.5 };
  const cfg = configFromHf({ model_type: 'glm4', rope_parameters: rp }, 'v5');
  assert.equal(cfg.ropeTheta, 50000);
  assert.deepEqual(cfg.ropeScaling && [cfg.ropeScaling.ropeType, cfg.ropeScaling.factor], ['dynamic', 2]);
  const out = configToHf(cfg);
  assert.deepEqual(out.rope_parameters, rp);
  assert.equal(out.rope_scaling, undefined);
  cfg.ropeScaling = null;
  assert.deepEqual(configToHf(cfg).rope_parameters, { rope_type: 'default', rope_theta: 50000, partial_rotary_factor: 0.5 });
});

test('a scaling set in code is written as rope_scaling and survives save/load', () => {
  const cfg = loadPreset('tiny');
  cfg.ropeScaling = scaling({ rope_type: 'linear', factor: 2 });
  const model = new GlmForCausalLM(cfg, { seed: 3 });
  const dir = tempDir('glmkit-rope-');
  saveModel(dir, model);
  const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(json.rope_scaling, { rope_type: 'linear', factor: 2 });
  const loaded = loadModel(dir) as GlmForCausalLM;
  assert.deepEqual(loaded.config.ropeScaling, cfg.ropeScaling);
});

test('linear factor 2 at positions 2p equals plain RoPE at p (partial rotary kept)', () => {
  const plainCfg = loadPreset('tiny');
  assert.equal(rotaryDim(plainCfg), 16); // half of head_dim 32 rotates
  const plain = new GlmForCausalLM(plainCfg, { seed: 4 });
  const scaled = new GlmForCausalLM({ ...plainCfg, ropeScaling: scaling({ rope_type: 'linear', factor: 2 }) }, { seed: 4 });
  const ids = Tensor.ids([5, 9, 200, 3, 77, 12], [1, 6]);
  const a = noGrad(() => plain.forward(ids, { positions: Int32Array.from([0, 1, 2, 3, 4, 5]) }).logits!);
  const b = noGrad(() => scaled.forward(ids, { positions: Int32Array.from([0, 2, 4, 6, 8, 10]) }).logits!);
  assertClose(b, a, { atol: 1e-5, rtol: 1e-5 });
  const c = noGrad(() => scaled.forward(ids).logits!); // positions 0..5 under scaling differ from plain
  assert.ok(Math.abs(c.data[c.size - 1] - a.data[a.size - 1]) > 1e-6 || Math.abs(c.data[100] - a.data[100]) > 1e-6);
});

test('export gguf refuses a scaled RoPE naming it', () => {
  const cfg = { ...loadPreset('tiny'), ropeScaling: scaling({ rope_type: 'yarn', factor: 4 }) };
  const tok = { tokens: ['a'], types: [1], merges: [], pre: 'glm4', special: {} } as unknown as Parameters<typeof glmGgufMetadata>[1];
  assert.throws(() => glmGgufMetadata(cfg, tok), (e: unknown) => e instanceof ConfigError && /rope_scaling "yarn"/.test((e as Error).message));
});
