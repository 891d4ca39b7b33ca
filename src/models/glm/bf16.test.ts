// Models kept in bf16: the same logits as the f32 model with bf16-rounded weights (dense and MoE),
// half the bytes, a bf16 save/load round trip that is exact, and greedy generation unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import { assertClose } from '../../tensor/testing.js';
import { tempDir } from '../../util/temp-dir.js';
import { generate } from '../../generation/generate.js';
import { loadPreset } from './config.js';
import { castWeights, loadCausalLM, saveModel } from './checkpoint.js';
import { GlmForCausalLM, GlmForSequenceClassification } from './model.js';

/** A model and its twin whose matrices hold the same bf16-rounded values, one in f32 and one in bf16. */
function twins(preset: string): { f32: GlmForCausalLM; bf16: GlmForCausalLM } {
  const cfg = loadPreset(preset);
  const f32 = new GlmForCausalLM(cfg, { seed: 7 });
  castWeights(f32, 'bf16');
  castWeights(f32, 'f32'); // values now exactly bf16-representable, stored as f32
  const bf16 = new GlmForCausalLM(cfg, { seed: 7 });
  castWeights(bf16, 'bf16');
  return { f32, bf16 };
}

test('a bf16 model gives the logits of the f32 model with the same rounded weights (dense and MoE), in about half the bytes', () => {
  for (const preset of ['tiny', 'tiny-moe']) {
    const { f32, bf16 } = twins(preset);
    const ids = Tensor.ids([1, 5, 9, 200, 3, 7, 7, 40], [2, 4]);
    const want = noGrad(() => f32.forward(ids).logits!);
    const got = noGrad(() => bf16.forward(ids).logits!);
    assertClose(got, want, { atol: 2e-5, rtol: 2e-5 }, preset);
    const matrices = bf16.namedParameters().filter(([, t]) => t.ndim === 2);
    assert.ok(matrices.every(([n, t]) => (n.endsWith('mlp.gate.weight') ? t.dtype === 'f32' : t.dtype === 'bf16')), `${preset}: matrices bf16, router f32`);
    assert.ok(bf16.namedParameters().every(([, t]) => t.ndim !== 1 || t.dtype === 'f32'), `${preset}: norms stay f32`);
    const ratio = bf16.parameterBytes() / f32.parameterBytes();
    assert.ok(ratio > 0.5 && ratio < 0.56, `${preset}: bytes ratio ${ratio}`);
  }
});

test('greedy generation from a bf16 model matches the f32 model with the same rounded weights', () => {
  const { f32, bf16 } = twins('tiny');
  const prompts = [[1, 5, 9], [200, 3, 7, 7, 40]];
  const opts = { maxNewTokens: 12, temperature: 0, seed: 0 };
  assert.deepEqual(generate(bf16, prompts, opts).tokens, generate(f32, prompts, opts).tokens);
});

test('a bf16 model saves as BF16 safetensors and loads back (dtype bf16) with identical logits', () => {
  const { bf16 } = twins('tiny-moe');
  const dir = tempDir('glmkit-bf16-');
  saveModel(dir, bf16);
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
  const again = loadCausalLM(dir, { dtype: 'bf16' });
  const ids = Tensor.ids([4, 8, 15, 16, 23, 42], [1, 6]);
  assert.deepEqual(Array.from(noGrad(() => again.forward(ids).logits!).data), Array.from(noGrad(() => bf16.forward(ids).logits!).data));
  assert.equal(castWeights(again, 'f32') > 0, true);
  assert.ok(again.parameters().every((p) => p.dtype === 'f32' && p.requiresGrad), 'widened back: trainable f32 again');
});

test('a bf16 reward model scores like its rounded f32 twin, and its matrices take no gradient', () => {
  const make = () => new GlmForSequenceClassification(loadPreset('tiny'), 1, { seed: 2 });
  const f32 = make(), bf16 = make();
  castWeights(f32, 'bf16');
  castWeights(f32, 'f32');
  castWeights(bf16, 'bf16');
  assert.ok(bf16.namedParameters().filter(([, t]) => t.ndim === 2).every(([, t]) => !t.requiresGrad));
  const ids = Tensor.ids([3, 4, 5, 6, 7, 8], [2, 3]);
  assertClose(noGrad(() => bf16.forward(ids)), noGrad(() => f32.forward(ids)), { atol: 2e-5, rtol: 2e-5 }, 'scores');
});
