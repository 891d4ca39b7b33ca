// HF folders: save -> load round trip (f32 exact, bf16 within rounding), classifier folders,
// and clear errors for a missing tensor or a wrong shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import { assertClose } from '../../tensor/testing.js';
import { CheckpointError } from '../../errors.js';
import { tempDir } from '../../util/temp-dir.js';
import { readSafetensors, writeSafetensors } from '../../io/safetensors.js';
import { loadPreset } from './config.js';
import { loadModel, saveModel } from './checkpoint.js';
import { GlmForCausalLM, GlmForSequenceClassification } from './model.js';

const tmp = () => tempDir('glmkit-ckpt-');

test('save then load gives the same logits (dense and MoE, f32 and bf16)', () => {
  for (const preset of ['tiny', 'tiny-moe']) {
    const cfg = loadPreset(preset);
    const model = new GlmForCausalLM(cfg, { seed: 5 });
    const ids = Tensor.ids([1, 5, 9, 200, 3], [1, 5]);
    const want = noGrad(() => model.forward(ids).logits!);
    for (const dtype of ['F32', 'BF16'] as const) {
      const dir = tmp();
      saveModel(dir, model, { dtype });
      const cfgJson = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      assert.equal(cfgJson.model_type, cfg.modelType);
      const loaded = loadModel(dir);
      assert.ok(loaded instanceof GlmForCausalLM);
      const got = noGrad(() => loaded.forward(ids).logits!);
      if (dtype === 'F32') assert.deepEqual(Array.from(got.data), Array.from(want.data), `${preset} f32 exact`);
      else assertClose(got, want, { atol: 0.05, rtol: 0.05 }, `${preset} bf16`);
    }
  }
});

test('a reward model folder loads as a sequence classifier', () => {
  const rm = new GlmForSequenceClassification(loadPreset('tiny'), 1, { seed: 1 });
  const dir = tmp();
  saveModel(dir, rm);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(cfg.architectures, ['Glm4ForSequenceClassification']);
  const loaded = loadModel(dir);
  assert.ok(loaded instanceof GlmForSequenceClassification);
  const ids = Tensor.ids([4, 5, 6], [1, 3]);
  assert.deepEqual(Array.from(noGrad(() => loaded.forward(ids)).data), Array.from(noGrad(() => rm.forward(ids)).data));
});

test('a missing tensor or a wrong shape is a CheckpointError naming it', () => {
  const dir = tmp();
  saveModel(dir, new GlmForCausalLM(loadPreset('tiny')));
  const tensors = readSafetensors(join(dir, 'model.safetensors'));
  const kept = [...tensors].filter(([n]) => n !== 'model.layers.1.self_attn.k_proj.bias').map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
  writeSafetensors(join(dir, 'model.safetensors'), kept);
  assert.throws(() => loadModel(dir), (e: unknown) => e instanceof CheckpointError && /model\.layers\.1\.self_attn\.k_proj\.bias/.test(e.message));
  const bad = [...tensors].map(([name, t]) => (name === 'model.norm.weight' ? { name, shape: [t.shape[0] - 1], data: t.data.subarray(1) } : { name, shape: t.shape, data: t.data }));
  writeSafetensors(join(dir, 'model.safetensors'), bad);
  assert.throws(() => loadModel(dir), (e: unknown) => e instanceof CheckpointError && /model\.norm\.weight/.test(e.message) && /expected shape/.test(e.message));
  assert.throws(() => loadModel(tmp()), /no config\.json/);
});
