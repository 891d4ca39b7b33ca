// Optimizer state save/load: a run resumed from optimizer.safetensors mid-way ends with bit-identical
// parameters to an uninterrupted one (Muon + AdamW, and AdamW alone); mismatched state is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { Tensor } from '../tensor/tensor.js';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { AdamW } from './adamw.js';
import { Muon } from './muon.js';
import { HybridOptimizer } from './param-groups.js';
import { warmupCosine } from './schedule.js';
import { loadOptimizerState, saveOptimizerState } from './state.js';

const cfg = loadPreset('tiny-moe');
const schedule = warmupCosine({ peakLr: 5e-3, minLr: 5e-4, warmupSteps: 2, totalSteps: 4 });

/** One training step s (1-based) on a batch that depends only on s. */
function trainStep(model: GlmForCausalLM, opt: HybridOptimizer, s: number): void {
  const rng = new Rng(100 + s);
  const B = 2, T = 8;
  const ids = Tensor.ids(Array.from({ length: B * T }, () => rng.int(cfg.vocabSize)), [B, T]);
  const targets = Tensor.ids(Array.from({ length: B * T }, (_, i) => (i % T === T - 1 ? -100 : ids.data[i + 1])), [B, T]);
  opt.lr = schedule(s);
  model.forward(ids, { targets }).loss!.backward();
  opt.update();
  opt.zeroGrad();
}

function bitsEqual(a: GlmForCausalLM, b: GlmForCausalLM): void {
  const pb = new Map(b.namedParameters());
  for (const [n, p] of a.namedParameters()) {
    const x = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
    const q = pb.get(n)!.data;
    assert.ok(x.equals(Buffer.from(q.buffer, q.byteOffset, q.byteLength)), `${n} differs between the resumed and the uninterrupted run`);
  }
}

for (const muon of [true, false]) {
  test(`resume from optimizer.safetensors is bit-exact (${muon ? 'Muon + AdamW' : 'AdamW only'})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'glmkit-optim-'));
    try {
      const straight = new GlmForCausalLM(cfg, { seed: 1 });
      const optA = HybridOptimizer.forModel(straight, { lr: 0, muon });
      for (let s = 1; s <= 4; s++) trainStep(straight, optA, s);

      const first = new GlmForCausalLM(cfg, { seed: 1 });
      const optB = HybridOptimizer.forModel(first, { lr: 0, muon });
      for (let s = 1; s <= 2; s++) trainStep(first, optB, s);
      const file = join(dir, 'optimizer.safetensors');
      const exported = optB.exportState();
      saveOptimizerState(file, exported);
      // the MTP layer gets no gradient without mtp: true, so it has no state
      assert.ok(![...exported.tensors.keys()].some((k) => k.startsWith(`model.layers.${cfg.numHiddenLayers}.`)));
      assert.ok(exported.tensors.has('model.embed_tokens.weight.exp_avg_sq'));
      assert.equal(exported.tensors.has('model.layers.0.self_attn.q_proj.weight.momentum_buffer'), muon);

      // a fresh process: other initial weights, then the saved weights and optimizer state
      const resumed = new GlmForCausalLM(cfg, { seed: 2 });
      resumed.loadStateDict(first.stateDict());
      const optC = HybridOptimizer.forModel(resumed, { lr: 0, muon });
      optC.importState(loadOptimizerState(file));
      assert.equal(optC.step, 2);
      for (let s = 3; s <= 4; s++) trainStep(resumed, optC, s);
      bitsEqual(resumed, straight);

      // without the optimizer state the result differs (the test can tell)
      const cold = new GlmForCausalLM(cfg, { seed: 2 });
      cold.loadStateDict(first.stateDict());
      const optD = HybridOptimizer.forModel(cold, { lr: 0, muon });
      for (let s = 3; s <= 4; s++) trainStep(cold, optD, s);
      assert.throws(() => bitsEqual(cold, straight));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('importState refuses state from another grouping, size or optimizer', () => {
  const w = Tensor.zeros([4, 3]).requireGrad(), b = Tensor.zeros([3]).requireGrad();
  w.grad = Tensor.full([4, 3], 0.5);
  b.grad = Tensor.full([3], 0.5);
  const muon = new Muon([{ params: [w], names: ['w'] }], { lr: 0.1 });
  const adam = new AdamW([{ params: [b], names: ['b'] }], { lr: 0.1 });
  const hybrid = new HybridOptimizer(muon, adam);
  hybrid.update();
  const state = hybrid.exportState();
  assert.deepEqual(Object.keys(state.scalars).sort(), ['adamw', 'muon']);
  assert.deepEqual([...state.tensors.keys()].sort(), ['b.exp_avg', 'b.exp_avg_sq', 'w.momentum_buffer']);
  // AdamW alone does not know the Muon buffer
  assert.throws(() => new AdamW([{ params: [b], names: ['b'] }], { lr: 0.1 }).importState(state), (e: unknown) => e instanceof CheckpointError && /w\.momentum_buffer/.test(e.message));
  // a Muon over a differently sized matrix
  const w2 = Tensor.zeros([4, 4]).requireGrad();
  assert.throws(() => new Muon([{ params: [w2], names: ['w'] }], { lr: 0.1 }).loadState(state, new Set()), /has 12 elements, expected 16/);
  // no muon section
  assert.throws(() => new Muon([{ params: [w], names: ['w'] }], { lr: 0.1 }).importState(adam.exportState()), /no 'muon' section/);
  // a faithful round trip through exportState restores buffers and step
  const again = new HybridOptimizer(new Muon([{ params: [w], names: ['w'] }], { lr: 0 }), new AdamW([{ params: [b], names: ['b'] }], { lr: 0 }));
  again.importState(state);
  assert.equal(again.step, 1);
  assert.equal(again.lr, 0.1);
  assert.deepEqual([...again.muon!.state.get(w)!.momentum], [...muon.state.get(w)!.momentum]);
  assert.deepEqual([...again.adamw!.state.get(b)!.v], [...adam.state.get(b)!.v]);
});
