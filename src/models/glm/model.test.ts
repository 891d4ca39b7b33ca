// The GLM model family: checkpoint names, KV-cache decoding equal to a full forward (also with a
// left-padded batch), gradients against finite differences on micro configs, and overfitting a
// small batch with a dense and an MoE model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import * as F from '../../tensor/ops/index.js';
import { assertClose, gradcheck } from '../../tensor/testing.js';
import { AdamW } from '../../optim/adamw.js';
import { configFromHf, loadPreset, type GlmConfig } from './config.js';
import { expectedTensors } from './names.js';
import { GlmForCausalLM, GlmForSequenceClassification } from './model.js';

function micro(moe: boolean, over: Record<string, unknown> = {}): GlmConfig {
  return configFromHf(
    {
      model_type: moe ? 'glm4_moe' : 'glm4',
      vocab_size: 13, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 4, partial_rotary_factor: 0.5,
      rope_theta: 10000, rms_norm_eps: 1e-5, max_position_embeddings: 64, attention_bias: true,
      tie_word_embeddings: false, initializer_range: 0.5, pad_token_id: null, bos_token_id: null, eos_token_id: null,
      ...(moe ? { moe_intermediate_size: 6, n_routed_experts: 4, n_shared_experts: 1, num_experts_per_tok: 2, first_k_dense_replace: 1, n_group: 2, topk_group: 1, norm_topk_prob: true, routed_scaling_factor: 2.5, use_qk_norm: true, num_nextn_predict_layers: 1 } : {}),
      ...over,
    },
    'micro',
  );
}

function randomIds(rng: Rng, B: number, T: number, V: number): Tensor {
  return Tensor.ids(Array.from({ length: B * T }, () => rng.int(V)), [B, T]);
}

test('state dict names and shapes are exactly the HF checkpoint tensors', () => {
  for (const name of ['tiny', 'tiny-moe']) {
    const cfg = loadPreset(name);
    const model = new GlmForCausalLM(cfg);
    const sd = model.stateDict();
    const expected = expectedTensors(cfg).filter((t) => !t.optional);
    assert.deepEqual([...sd.keys()].sort(), expected.map((t) => t.name).sort(), name);
    for (const t of expected) assert.deepEqual(sd.get(t.name)!.shape, t.shape, t.name);
  }
});

for (const moe of [false, true]) {
  const kind = moe ? 'MoE' : 'dense';

  test(`${kind}: KV-cache decoding gives the logits of a full forward`, () => {
    const cfg = micro(moe);
    const model = new GlmForCausalLM(cfg, { seed: 3 }).eval();
    const rng = new Rng(5);
    const ids = randomIds(rng, 2, 9, cfg.vocabSize);
    noGrad(() => {
      const full = model.forward(ids).logits!; // [2, 9, V]
      const cache = model.createCache(2, 16);
      const pieces = [model.forward(F.slice(ids, 1, 0, 5), { cache }).logits!];
      for (let t = 5; t < 9; t++) pieces.push(model.forward(F.slice(ids, 1, t, t + 1), { cache }).logits!);
      assertClose(F.concat(pieces, 1), full, { atol: 2e-5, rtol: 1e-4 }, 'cached vs full');
    });
  });

  test(`${kind}: a left-padded batch decodes like each sequence alone`, () => {
    const cfg = micro(moe);
    const model = new GlmForCausalLM(cfg, { seed: 4 }).eval();
    const rng = new Rng(6);
    const lens = [3, 6];
    const T = 6, steps = 3;
    const seqs = lens.map((n) => Array.from({ length: n + steps }, () => rng.int(cfg.vocabSize)));
    noGrad(() => {
      // Batched: left-pad the prompts, then feed the same continuation tokens step by step.
      const ids = new Int32Array(2 * T), mask = new Int32Array(2 * T);
      seqs.forEach((s, b) => {
        for (let t = 0; t < lens[b]; t++) {
          ids[b * T + T - lens[b] + t] = s[t];
          mask[b * T + T - lens[b] + t] = 1;
        }
      });
      const cache = model.createCache(2, T + steps);
      const first = model.forward(new Tensor(ids, [2, T]), { cache, attentionMask: mask }).logits!;
      const batched: number[][][] = [[], []];
      for (let b = 0; b < 2; b++) batched[b].push(Array.from(first.data.subarray((b * T + T - 1) * cfg.vocabSize, (b * T + T) * cfg.vocabSize)));
      for (let s = 0; s < steps; s++) {
        const next = Tensor.ids(seqs.map((q, b) => q[lens[b] + s]), [2, 1]);
        const out = model.forward(next, { cache }).logits!;
        for (let b = 0; b < 2; b++) batched[b].push(Array.from(out.data.subarray(b * cfg.vocabSize, (b + 1) * cfg.vocabSize)));
      }
      // Alone: a full forward of each unpadded sequence.
      seqs.forEach((q, b) => {
        const alone = model.forward(Tensor.ids(q, [1, q.length])).logits!;
        for (let s = 0; s <= steps; s++) {
          const pos = lens[b] - 1 + s;
          assertClose(batched[b][s], alone.data.subarray(pos * cfg.vocabSize, (pos + 1) * cfg.vocabSize), { atol: 2e-5, rtol: 1e-4 }, `seq ${b} step ${s}`);
        }
      });
      // A padded full forward (no cache) agrees too.
      const padded = model.forward(new Tensor(ids, [2, T]), { attentionMask: mask }).logits!;
      assertClose(padded.data.subarray((T - 1) * cfg.vocabSize, T * cfg.vocabSize), batched[0][0], { atol: 2e-5 }, 'padded full forward');
    });
  });

  test(`${kind}: gradients of the loss match finite differences (f64, micro config)`, () => {
    const cfg = micro(moe);
    const model = new GlmForCausalLM(cfg, { seed: 8, dtype: 'f64' });
    const rng = new Rng(9);
    const ids = randomIds(rng, 2, 5, cfg.vocabSize);
    const targets = Tensor.ids(Array.from({ length: 10 }, (_, i) => (i === 3 ? -100 : rng.int(cfg.vocabSize))), [2, 5]);
    const params = model.parameters();
    const loss = () => {
      const out = model.forward(ids, { targets, mtp: moe, balanceLoss: moe });
      let l = out.loss!;
      if (out.mtpLoss) l = F.add(l, F.mul(out.mtpLoss, 0.3));
      if (out.balanceLoss) l = F.add(l, F.mul(out.balanceLoss, 0.1));
      return l;
    };
    gradcheck(loss, params, { atol: 1e-6, rtol: 1e-4 });
  });

  test(`${kind}: a tiny model overfits a small batch`, () => {
    const cfg = micro(moe, { hidden_size: 32, intermediate_size: 64, head_dim: 8, vocab_size: 32, initializer_range: 0.1 });
    const model = new GlmForCausalLM(cfg, { seed: 1 });
    const rng = new Rng(2);
    const ids = randomIds(rng, 2, 12, cfg.vocabSize);
    const targets = Tensor.ids(Array.from({ length: 24 }, (_, i) => (i % 12 === 11 ? -100 : ids.data[i + 1])), [2, 12]);
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    let first = 0, last = 0;
    for (let step = 0; step < 150; step++) {
      const out = model.forward(ids, { targets, mtp: moe });
      const l = out.mtpLoss ? F.add(out.loss!, F.mul(out.mtpLoss, 0.3)) : out.loss!;
      if (step === 0) first = out.loss!.item();
      last = out.loss!.item();
      l.backward();
      opt.update();
      opt.zeroGrad();
      for (const m of model.moeLayers()) m.updateBias(m.takeLoad(), 1e-3);
    }
    assert.ok(first > 2, `initial loss ${first} should be near ln(32)`);
    assert.ok(last < 0.05, `loss after 150 steps ${last} should be near 0 (from ${first})`);
  });
}

test('MoE routing: the selection bias moves which experts are chosen but not the weights', () => {
  const cfg = micro(true);
  const model = new GlmForCausalLM(cfg, { seed: 11 });
  const moe = model.moeLayers()[0];
  const x = Tensor.randn([5, cfg.hiddenSize], new Rng(1));
  const before = noGrad(() => moe.route(x));
  // A large bias on expert 3 forces it into every token's choice, in group 1 (experts 2, 3).
  moe.gate.eScoreCorrectionBias.data.set([0, 0, 0, 10]);
  const after = noGrad(() => moe.route(x));
  for (let n = 0; n < 5; n++) {
    const chosen = Array.from(after.experts.subarray(n * 2, n * 2 + 2));
    assert.ok(chosen.includes(3), `token ${n} chose ${chosen}`);
    assert.ok(chosen.every((e) => e >= 2), `token ${n}: group-limited routing keeps one group, chose ${chosen}`);
    // weights come from unbiased sigmoid scores, normalised and scaled by 2.5
    const s = chosen.map((e) => after.scores.data[n * 4 + e]);
    const z = s[0] + s[1];
    assertClose(after.weights.data.subarray(n * 2, n * 2 + 2), s.map((v) => (2.5 * v) / z), { atol: 1e-5 });
  }
  assert.notDeepEqual(Array.from(before.experts), Array.from(after.experts));
  // Aux-loss-free update: overloaded experts get their bias lowered, idle ones raised.
  moe.gate.eScoreCorrectionBias.data.fill(0);
  moe.updateBias([10, 0, 5, 5], 0.001);
  assertClose(moe.gate.eScoreCorrectionBias.data, [-0.001, 0.001, 0, 0], { atol: 1e-9 });
});

test('sequence classification scores the last real token', () => {
  const cfg = micro(false);
  const rm = new GlmForSequenceClassification(cfg, 1, { seed: 2 });
  const ids = Tensor.ids([1, 2, 3, 4, 1, 2, 0, 0], [2, 4]);
  const mask = new Int32Array([1, 1, 1, 1, 1, 1, 0, 0]);
  noGrad(() => {
    const s = rm.forward(ids, { attentionMask: mask });
    assert.deepEqual(s.shape, [2, 1]);
    const alone = rm.forward(Tensor.ids([1, 2], [1, 2]));
    assertClose([s.data[1]], [alone.data[0]], { atol: 1e-5 });
  });
  assert.ok(rm.stateDict().has('score.weight'));
});

test('sequence classification: the top layer run at the last real token only gives the full forward\'s scores and gradients', () => {
  for (const moe of [false, true]) {
    const cfg = micro(moe);
    const rm = new GlmForSequenceClassification(cfg, 1, { seed: 5 });
    const rng = new Rng(6);
    const B = 3, T = 7;
    const ids = randomIds(rng, B, T, cfg.vocabSize);
    const mask = new Int32Array(B * T);
    [7, 4, 1].forEach((n, b) => mask.fill(1, b * T, b * T + n)); // right padding, one row of a single token
    const run = (full: boolean) => {
      rm.zeroGrad();
      const s = full
        ? rm.score.forward(F.indexSelect(F.reshape(rm.model.forward(ids, { attentionMask: mask }).hidden, [B * T, cfg.hiddenSize]), 0, Tensor.ids([6, T + 3, 2 * T], [B])))
        : rm.forward(ids, { attentionMask: mask });
      F.sum(F.mul(s, Tensor.from([1, -2, 0.5], [B, 1]))).backward();
      // an expert that no last position routes to has no gradient: zeros
      return { scores: [...s.data], grads: rm.parameters().map((p) => (p.grad ? [...p.grad.data] : new Array<number>(p.size).fill(0))) };
    };
    const full = run(true), last = run(false);
    assertClose(last.scores, full.scores, { atol: 1e-5 });
    full.grads.forEach((g, i) => assertClose(last.grads[i], g, { atol: 1e-4 }));
    assert.ok(full.grads.some((g) => g.some((v) => v !== 0)), 'a gradient that is not all zeros');
  }
});
