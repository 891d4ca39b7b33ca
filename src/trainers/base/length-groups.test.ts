// Length groups: the split minimises padding and is deterministic, and an SFT, reward-model or DPO
// micro-batch run as length groups gives the loss and the gradient of the one padded batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromHf } from '../../models/glm/config.js';
import { GlmForCausalLM, GlmForSequenceClassification } from '../../models/glm/model.js';
import type { Module } from '../../nn/module.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { Rng } from '../../util/rng.js';
import { tempDir } from '../../util/temp-dir.js';
import { resolveConfig } from './config.js';
import type { MicroBatchResult } from './trainer.js';
import { lengthGroups } from './length-groups.js';
import { SftTrainer, sftSchema } from '../sft/sft-trainer.js';
import { RewardTrainer, rewardSchema } from '../reward/reward-trainer.js';
import { DpoTrainer, dpoSchema } from '../dpo/dpo-trainer.js';
import type { TokenizedPair } from '../../data/preference.js';

test('lengthGroups: sorted runs with the least padded area, at most N, one run keeps the order', () => {
  assert.deepEqual(lengthGroups([5, 100, 6, 98, 7, 99], 2), [[0, 2, 4], [3, 5, 1]]);
  // the long outlier gets a run of its own: 3 x 10 + 1 x 90 beats 2 x 10 + 2 x 90
  assert.deepEqual(lengthGroups([10, 90, 10, 10], 2), [[0, 2, 3], [1]]);
  assert.deepEqual(lengthGroups([30, 10, 20], 1), [[0, 1, 2]]);
  assert.deepEqual(lengthGroups([30, 10], 5), [[1], [0]]);
  assert.deepEqual(lengthGroups([7, 7, 7, 7], 3), [[0, 1, 2, 3]], 'equal lengths: no split that pads no less');
  const lens = Array.from({ length: 16 }, (_, i) => 20 + ((i * 37) % 90));
  const g = lengthGroups(lens, 4);
  assert.equal(g.length, 4);
  assert.deepEqual(g.flat().sort((a, b) => a - b), lens.map((_, i) => i));
  const area = (runs: number[][]) => runs.reduce((a, r) => a + r.length * Math.max(...r.map((i) => lens[i])), 0);
  assert.ok(area(g) < area([lens.map((_, i) => i)]) * 0.7, `${area(g)}`);
});

const tok = { requireId: () => 0, vocabSize: 64 } as unknown as Tokenizer;
const hf = { model_type: 'glm4', vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, partial_rotary_factor: 0.5, max_position_embeddings: 256, attention_bias: true, tie_word_embeddings: false, initializer_range: 0.2, pad_token_id: 0, eos_token_id: 0, bos_token_id: null };
const seq = (rng: Rng, n: number) => Array.from({ length: n }, () => 1 + rng.int(63));
const lengths = [5, 40, 7, 33, 12, 6, 38, 9];

/** Loss and gradients of one micro-batch of `trainer` (its protected microBatchLoss). */
function lossAndGrads(trainer: object, module: Module): { loss: number; grads: Float32Array[] } {
  module.zeroGrad();
  const r = (trainer as { microBatchLoss(a: number): MicroBatchResult }).microBatchLoss(1);
  r.loss.backward();
  return { loss: r.lossValue, grads: module.parameters().map((p) => Float32Array.from(p.grad!.data)) };
}

function assertSame(a: { loss: number; grads: Float32Array[] }, b: { loss: number; grads: Float32Array[] }) {
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5 * Math.abs(a.loss), `loss ${a.loss} vs ${b.loss}`);
  let worst = 0;
  a.grads.forEach((g, i) => {
    const scale = Math.max(...g.map(Math.abs), 1e-8);
    for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - b.grads[i][j]) / scale);
  });
  assert.ok(worst < 1e-4, `largest relative gradient difference ${worst}`);
}

test('SFT: length groups give the loss and gradient of the one padded batch (mean over all target tokens)', () => {
  const rng = new Rng(1);
  const examples = lengths.map((n) => ({ ids: Int32Array.from(seq(rng, n)), mask: Uint8Array.from({ length: n }, (_, t) => (t >= 2 ? 1 : 0)) }));
  const model = new GlmForCausalLM(configFromHf(hf, 'test'), { seed: 3 });
  const run = (groups: number) => {
    const cfg = resolveConfig(sftSchema, { object: { model: 'x', data: 'x', out: tempDir(), per_device_train_batch_size: 8, length_groups: groups, quiet: true }, objectSource: 'test' });
    return lossAndGrads(new SftTrainer(cfg, model, tok, examples, null), model);
  };
  const one = run(1), four = run(4);
  assertSame(one, four);
});

test('SFT weighted per sequence: length groups give the loss of the one padded batch; MoE models refuse it at construction', () => {
  const rng = new Rng(4);
  const examples = lengths.map((n) => ({ ids: Int32Array.from(seq(rng, n)), mask: Uint8Array.from({ length: n }, (_, t) => (t >= 2 ? 1 : 0)) }));
  const cfgOf = (groups: number) => resolveConfig(sftSchema, { object: { model: 'x', data: 'x', out: tempDir(), per_device_train_batch_size: 8, length_groups: groups, loss_weighting: 'sequence', quiet: true }, objectSource: 'test' });
  const model = new GlmForCausalLM(configFromHf(hf, 'test'), { seed: 3 });
  assertSame(lossAndGrads(new SftTrainer(cfgOf(1), model, tok, examples, null), model), lossAndGrads(new SftTrainer(cfgOf(4), model, tok, examples, null), model));
  const moe = new GlmForCausalLM(configFromHf({ ...hf, model_type: 'glm4_moe', n_routed_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 16, first_k_dense_replace: 1 }, 'test'), { seed: 3 });
  assert.throws(() => new SftTrainer(cfgOf(1), moe, tok, examples, null), /--loss-weighting sequence is not available for MoE models/);
});

test('reward model: length groups give the pairwise loss and gradient of the one padded batch', () => {
  const rng = new Rng(2);
  const resp = (n: number) => ({ ids: seq(rng, n), mask: Array.from({ length: n }, (_, t) => (t >= 2 ? 1 : 0)), length: n - 2 });
  const pairs: TokenizedPair[] = lengths.map((n, i) => ({ pair: { prompt: [], chosen: [], rejected: [] } as never, chosen: resp(n), rejected: resp(Math.max(3, n - (i % 3))) }));
  const rm = new GlmForSequenceClassification(configFromHf(hf, 'test'), 1, { seed: 4 });
  const run = (groups: number) => {
    const cfg = resolveConfig(rewardSchema, { object: { model: 'x', data: 'x', out: tempDir(), per_device_train_batch_size: 8, length_groups: groups, quiet: true }, objectSource: 'test' });
    return lossAndGrads(new RewardTrainer(cfg, rm, tok, pairs, null), rm);
  };
  const one = run(1), three = run(3);
  assertSame(one, three);
});

test('DPO: length groups give the loss, the reference log-probs and the gradient of the one padded batch', () => {
  const rng = new Rng(3);
  const resp = (n: number) => ({ ids: seq(rng, n), mask: Array.from({ length: n }, (_, t) => (t >= 2 ? 1 : 0)), length: n - 2 });
  const pairs: TokenizedPair[] = lengths.map((n, i) => ({ pair: { prompt: [], chosen: [], rejected: [] } as never, chosen: resp(n), rejected: resp(Math.max(3, n - 1 - (i % 4))) }));
  const policy = new GlmForCausalLM(configFromHf(hf, 'test'), { seed: 5 });
  const ref = new GlmForCausalLM(configFromHf({ ...hf, initializer_range: 0.25 }, 'test'), { seed: 6 });
  const run = (groups: number) => {
    const cfg = resolveConfig(dpoSchema, { object: { model: 'x', data: 'x', out: tempDir(), per_device_train_batch_size: 8, length_groups: groups, beta: 0.5, rpo_alpha: 0.3, quiet: true }, objectSource: 'test' });
    const trainer = new DpoTrainer(cfg, policy, ref, tok, pairs, null);
    policy.zeroGrad();
    const r = trainer.pairLoss(lengths.map((_, i) => i), pairs, 't:');
    r.loss.backward();
    return { loss: r.loss.item(), grads: policy.parameters().map((p) => Float32Array.from(p.grad!.data)), margin: r.metrics['rewards/margins'], forwards: trainer.reference.forwards };
  };
  const one = run(1), three = run(3);
  assertSame(one, three);
  assert.ok(Math.abs(one.margin - three.margin) < 1e-4 * Math.max(1, Math.abs(one.margin)), `${one.margin} vs ${three.margin}`);
  assert.equal(three.forwards, 3, 'one reference forward per group');
});
