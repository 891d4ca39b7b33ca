// Weight interpolation: alpha 0 and 1 give each model exactly, 0.5 the elementwise mean; models of
// other shapes or bfloat16 weights are refused with the tensor's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { interpolateInto } from './merge.js';
import { castWeights } from '../models/glm/checkpoint.js';

const cfg = { ...loadPreset('tiny'), numHiddenLayers: 1 };
const fresh = (seed: number) => new GlmForCausalLM(cfg, { seed });
const weights = (m: GlmForCausalLM) => [...m.stateDict()].map(([k, t]) => [k, Array.from(t.data as Float32Array)] as const);

test('interpolateInto: alpha 0 keeps the model, 1 gives the other, 0.5 the mean', () => {
  const a = weights(fresh(1)), b = weights(fresh(2));
  const m0 = fresh(1);
  interpolateInto(m0, fresh(2), 0);
  assert.deepEqual(weights(m0), a);
  const m1 = fresh(1);
  interpolateInto(m1, fresh(2), 1);
  assert.deepEqual(weights(m1), b);
  const mh = fresh(1);
  interpolateInto(mh, fresh(2), 0.5);
  weights(mh).forEach(([k, v], j) => v.forEach((x, i) => assert.ok(Math.abs(x - 0.5 * (a[j][1][i] + b[j][1][i])) < 1e-6, `${k}[${i}]`)));
});

test('interpolateInto refuses other shapes, bfloat16 weights and weights outside [0, 1]', () => {
  assert.throws(() => interpolateInto(fresh(1), new GlmForCausalLM({ ...cfg, intermediateSize: cfg.intermediateSize * 2 }, { seed: 2 }), 0.5), /mlp.*has shape/);
  assert.throws(() => interpolateInto(fresh(1), new GlmForCausalLM({ ...cfg, numHiddenLayers: 2 }, { seed: 2 }), 0.5), /layers\.1.*no counterpart/);
  assert.throws(() => interpolateInto(fresh(1), fresh(2), 1.5), /\[0, 1\], got 1.5/);
  const bf = fresh(2);
  castWeights(bf, 'bf16');
  assert.throws(() => interpolateInto(fresh(1), bf, 0.5), /is bf16; merge float32 models/);
});
