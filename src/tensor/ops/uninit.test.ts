// Ops allocate most outputs without zeroing them (allocUninit), on the promise that they then write
// every element. With the arrays poisoned (NaN), a model's loss and every gradient must come out the
// same, bit for bit, as with zeroed arrays: an op that leaves part of an output unwritten shows as NaN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setPoisonUninit } from '../dtype.js';
import { Tensor } from '../tensor.js';
import * as F from './index.js';
import { loadPreset } from '../../models/glm/config.js';
import { GlmForCausalLM } from '../../models/glm/model.js';

function lossAndGrads(preset: string, dtype: 'f32' | 'f64'): { loss: number; grads: Map<string, Float32Array | Float64Array> } {
  const cfg = { ...loadPreset(preset), vocabSize: 96, padTokenId: null, eosTokenId: null, bosTokenId: null };
  const model = new GlmForCausalLM(cfg, { seed: 1, dtype });
  const B = 2, T = 40;
  const ids = Tensor.ids(Array.from({ length: B * T }, (_, i) => (i * 37) % 96), [B, T]);
  const targets = Tensor.ids(Array.from({ length: B * T }, (_, i) => (i % 7 === 0 ? -100 : (i * 11) % 96)), [B, T]);
  const mask = new Int32Array(B * T).fill(1).fill(0, 0, 5); // left padding in row 0
  const out = model.forward(ids, { targets, attentionMask: mask, mtp: true });
  const loss = out.mtpLoss ? F.add(out.loss!, out.mtpLoss) : out.loss!;
  loss.backward();
  const grads = new Map<string, Float32Array | Float64Array>();
  for (const [name, p] of model.namedParameters()) if (p.grad) grads.set(name, p.grad.data as Float32Array | Float64Array); // MoE: unrouted experts and the bias get none
  return { loss: loss.item(), grads };
}

for (const [preset, dtype] of [['tiny', 'f32'], ['tiny-moe', 'f32'], ['tiny', 'f64']] as const) {
  test(`unzeroed outputs are fully written: ${preset} ${dtype} loss and gradients equal with NaN-poisoned allocations`, () => {
    const clean = lossAndGrads(preset, dtype);
    setPoisonUninit(true);
    let poisoned: ReturnType<typeof lossAndGrads>;
    try {
      poisoned = lossAndGrads(preset, dtype);
    } finally {
      setPoisonUninit(false);
    }
    assert.ok(Number.isFinite(clean.loss));
    assert.equal(poisoned.loss, clean.loss);
    for (const [name, g] of clean.grads) {
      const p = poisoned.grads.get(name)!;
      for (let i = 0; i < g.length; i++) if (!Object.is(p[i], g[i])) assert.fail(`${name}[${i}]: ${p[i]} with poisoned allocations, ${g[i]} without`);
    }
  });
}
