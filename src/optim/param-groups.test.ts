// The GLM-4.5 Muon/AdamW split on real models (names listed by hand, not by the predicate under
// test), the hybrid optimizer's shared LR, and both optimizers fitting a tiny GLM on a fixed batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { Tensor } from '../tensor/tensor.js';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM, GlmForSequenceClassification } from '../models/glm/model.js';
import { AdamW } from './adamw.js';
import { Muon } from './muon.js';
import { HybridOptimizer, glmParamGroups } from './param-groups.js';

const sorted = (xs: Iterable<string>) => [...xs].sort();

test('glmParamGroups on tiny (GLM-4 dense): matrices on Muon, embedding/head decayed AdamW, norms/biases undecayed', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'));
  const g = glmParamGroups(model, { muon: true, weightDecay: 0.1 });
  const L = model.config.numHiddenLayers;
  const expectMuon: string[] = [], expectNoDecay: string[] = ['model.norm.weight'];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}.`;
    for (const m of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_up_proj', 'mlp.down_proj']) expectMuon.push(`${p}${m}.weight`);
    for (const b of ['q_proj', 'k_proj', 'v_proj']) expectNoDecay.push(`${p}self_attn.${b}.bias`);
    for (const n of ['input_layernorm', 'post_attention_layernorm', 'post_self_attn_layernorm', 'post_mlp_layernorm']) expectNoDecay.push(`${p}${n}.weight`);
  }
  assert.deepEqual(sorted(g.muon!.names!), sorted(expectMuon));
  assert.equal(g.adamw.length, 2);
  assert.deepEqual(sorted(g.adamw[0].names!), ['lm_head.weight', 'model.embed_tokens.weight']);
  assert.equal(g.adamw[0].weightDecay, 0.1);
  assert.deepEqual(sorted(g.adamw[1].names!), sorted(expectNoDecay));
  assert.equal(g.adamw[1].weightDecay, 0);
  assert.equal(g.muon!.weightDecay, 0.1);
  // every parameter exactly once, tensors matching names
  const all = new Map(model.namedParameters());
  assert.equal(g.muon!.params.length + g.adamw[0].params.length + g.adamw[1].params.length, all.size);
  for (const grp of [g.muon!, ...g.adamw]) grp.names!.forEach((n, i) => assert.equal(grp.params[i], all.get(n), n));
});

test('glmParamGroups on tiny-moe (GLM-4.5): experts, router and eh_proj on Muon; MTP head and q/k norms on AdamW', () => {
  const model = new GlmForCausalLM(loadPreset('tiny-moe'));
  const g = glmParamGroups(model, { muon: true, weightDecay: 0.1 });
  const muon = new Set(g.muon!.names);
  const decay = new Set(g.adamw[0].names);
  const noDecay = new Set(g.adamw[1].names);
  const mtp = `model.layers.${model.config.numHiddenLayers}.`;
  for (const n of ['model.layers.1.mlp.experts.3.up_proj.weight', 'model.layers.1.mlp.shared_experts.down_proj.weight', 'model.layers.1.mlp.gate.weight',
    'model.layers.0.mlp.gate_proj.weight', `${mtp}eh_proj.weight`, `${mtp}self_attn.o_proj.weight`]) assert.ok(muon.has(n), `${n} on Muon`);
  assert.deepEqual(sorted(decay), sorted(['model.embed_tokens.weight', 'lm_head.weight', `${mtp}shared_head.head.weight`]));
  for (const n of ['model.layers.0.self_attn.q_norm.weight', 'model.layers.0.self_attn.k_norm.weight', `${mtp}enorm.weight`, `${mtp}hnorm.weight`,
    `${mtp}shared_head.norm.weight`, 'model.layers.2.self_attn.v_proj.bias']) assert.ok(noDecay.has(n), `${n} on AdamW without decay`);
  for (const [n, p] of model.namedParameters()) {
    const inGroups = Number(muon.has(n)) + Number(decay.has(n)) + Number(noDecay.has(n));
    assert.equal(inGroups, 1, `${n} in exactly one group`);
    if (p.ndim === 1) assert.ok(noDecay.has(n), `1-D ${n} is not decayed`);
  }
});

test('glmParamGroups: muon false puts everything on AdamW; the score head stays on AdamW', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'));
  const g = glmParamGroups(model, { muon: false, weightDecay: 0.05 });
  assert.equal(g.muon, null);
  const twoD = model.namedParameters().filter(([, p]) => p.ndim === 2).map(([n]) => n);
  assert.deepEqual(sorted(g.adamw[0].names!), sorted(twoD));
  assert.equal(g.adamw[0].weightDecay, 0.05);
  const rm = new GlmForSequenceClassification(loadPreset('tiny'), 1);
  const r = glmParamGroups(rm, { muon: true, weightDecay: 0.1 });
  assert.deepEqual(sorted(r.adamw[0].names!), ['model.embed_tokens.weight', 'score.weight']);
  assert.equal(r.roles.get('score.weight'), 'adamw');
});

test('HybridOptimizer: one lr for both, disjoint parameters, one update', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'));
  const opt = HybridOptimizer.forModel(model, { lr: 1e-3 });
  assert.ok(opt.muon instanceof Muon && opt.adamw instanceof AdamW);
  assert.equal(opt.muon.weightDecay, 0.1);
  opt.lr = 2.5e-4;
  assert.equal(opt.muon.lr, 2.5e-4);
  assert.equal(opt.adamw.lr, 2.5e-4);
  assert.equal(opt.parameters().length, model.parameters().length);
  const w = Tensor.zeros([2, 2]).requireGrad();
  assert.throws(() => new HybridOptimizer(new Muon([w], { lr: 1 }), new AdamW([w], { lr: 1 })), /both Muon and AdamW/);
  const plain = HybridOptimizer.forModel(model, { lr: 1e-3, muon: false });
  assert.equal(plain.muon, null);
});

for (const useMuon of [true, false]) {
  test(`tiny GLM on a fixed batch: ${useMuon ? 'Muon + AdamW' : 'AdamW only'} cuts the loss by more than 50% in 30 steps`, () => {
    const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 3 });
    const rng = new Rng(4);
    const B = 2, T = 16, V = model.config.vocabSize;
    const ids = Tensor.ids(Array.from({ length: B * T }, () => rng.int(V)), [B, T]);
    const targets = Tensor.ids(Array.from({ length: B * T }, (_, i) => (i % T === T - 1 ? -100 : ids.data[i + 1])), [B, T]);
    const opt = HybridOptimizer.forModel(model, { lr: 1e-2, muon: useMuon, adamw: { beta2: 0.95 } });
    let first = 0, last = 0;
    for (let step = 0; step < 30; step++) {
      const loss = model.forward(ids, { targets }).loss!;
      if (step === 0) first = loss.item();
      last = loss.item();
      loss.backward();
      opt.update();
      opt.zeroGrad();
    }
    assert.ok(first > 6, `initial loss ${first} should be near ln(${V})`);
    assert.ok(last < 0.5 * first, `loss ${first} -> ${last}: expected a drop of more than 50%`);
    assert.equal(opt.step, 30);
  });
}
