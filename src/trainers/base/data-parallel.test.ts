// Data-parallel training: shards deal every row once and balance lengths; the gradients of a
// micro-batch split over 2 and 3 threads match one thread's up to float summation order, for the
// LM loss (packed and SFT rows), the reward model's pairwise loss, DPO (with its NLL term) and EXO;
// a trainer on 2 threads is deterministic and follows the one-thread run's losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPreset } from '../../models/glm/config.js';
import { GlmForCausalLM, GlmForSequenceClassification } from '../../models/glm/model.js';
import { Rng } from '../../util/rng.js';
import type { Tensor } from '../../tensor/tensor.js';
import { DataParallel } from './data-parallel.js';
import { dealRows, dpoShards, exoShards, lmShards, rewardShards, shardLoss, type Shard } from './shard-losses.js';
import { resolveConfig } from './config.js';
import { PretrainTrainer, pretrainSchema } from '../pretrain/pretrain-trainer.js';
import type { SftExample } from '../sft/sft-data.js';

const rng = new Rng(7);
const randIds = (n: number) => Int32Array.from({ length: n }, () => 3 + Math.floor(rng.random() * 1000));

test('dealRows gives every row to one shard and spreads long rows out', () => {
  const lengths = [50, 10, 40, 20, 30, 60, 5, 45];
  const parts = dealRows(8, 3, lengths);
  assert.deepEqual(parts.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
  const cost = parts.map((p) => p.reduce((a, i) => a + lengths[i], 0));
  assert.ok(Math.max(...cost) - Math.min(...cost) <= 60, `shard lengths ${cost}`);
  for (const p of parts) assert.deepEqual(p, [...p].sort((a, b) => a - b), 'drawn order inside a shard');
  assert.deepEqual(dealRows(5, 2, null), [[0, 1, 2], [3, 4]]);
});

function grads(params: Tensor[]): Float32Array[] {
  return params.map((p) => Float32Array.from((p.grad?.data as Float32Array) ?? new Float32Array(p.size)));
}

/** The gradient of the whole micro-batch on one thread, then split over W threads. */
function compare(model: GlmForCausalLM | GlmForSequenceClassification, shardsFor: (W: number) => Shard[], Ws: number[]): void {
  const params = model.parameters();
  for (const p of params) p.zeroGrad();
  const one = shardLoss(model, shardsFor(1)[0]);
  one.loss.backward();
  const ref = grads(params);
  for (const W of Ws) {
    for (const p of params) p.zeroGrad();
    const dp = DataParallel.create(model, params, W)!;
    const r = dp.run(shardsFor(W));
    assert.ok(Math.abs(r.lossValue - one.lossValue) < 1e-5 * Math.abs(one.lossValue), `W=${W}: loss ${r.lossValue} vs ${one.lossValue}`);
    assert.equal(r.tokens, one.tokens, `W=${W}: tokens`);
    for (const [k, v] of Object.entries(one.metrics)) assert.ok(Math.abs(r.metrics[k] - v) < 1e-5, `W=${W}: ${k} ${r.metrics[k]} vs ${v}`);
    const got = grads(params);
    let worst = 0;
    ref.forEach((g, i) => {
      let scale = 1e-6;
      for (const v of g) scale = Math.max(scale, Math.abs(v));
      for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(got[i][j] - g[j]) / scale);
    });
    assert.ok(worst < 1e-4, `W=${W}: largest gradient difference ${worst} of the tensor's largest entry`);
    // a second call with the same weights gives bit-identical gradients
    for (const p of params) p.zeroGrad();
    dp.run(shardsFor(W));
    grads(params).forEach((g, i) => assert.deepEqual(g, got[i], `W=${W}: deterministic`));
  }
  for (const p of params) p.zeroGrad();
}

test('packed pre-training rows: W = 2 and 3 give the one-thread gradient', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 3 });
  const rows = Array.from({ length: 6 }, () => ({ ids: randIds(33), mask: new Uint8Array(0) }));
  compare(model, (W) => lmShards(rows, true, W, { padId: 0, lengthGroups: 1, accumulation: 2 }), [2, 3]);
});

test('SFT rows of different lengths, with length groups: W = 2 and 3 give the one-thread gradient', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 4 });
  const rows: SftExample[] = [12, 40, 25, 7, 33, 18, 29].map((n) => ({ ids: randIds(n), mask: Uint8Array.from({ length: n }, (_, t) => (t > n / 3 ? 1 : 0)) }));
  compare(model, (W) => lmShards(rows, false, W, { padId: 0, lengthGroups: 2, accumulation: 1 }), [2, 3]);
});

test('SFT rows weighted per sequence: the loss and gradient are the mean of each row\'s own token-mean, and W = 2 and 3 give them', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 5 });
  const rows: SftExample[] = [12, 40, 25, 7, 33].map((n) => ({ ids: randIds(n), mask: Uint8Array.from({ length: n }, (_, t) => (t > n / 3 ? 1 : 0)) }));
  const shardsFor = (W: number) => lmShards(rows, false, W, { padId: 0, lengthGroups: 2, accumulation: 1, perSequence: true });
  // reference: each row alone with the token-mean loss, averaged
  const params = model.parameters();
  for (const p of params) p.zeroGrad();
  let mean = 0;
  for (const r of rows) {
    const one = shardLoss(model, lmShards([r], false, 1, { padId: 0, lengthGroups: 1, accumulation: rows.length })[0]);
    one.loss.backward();
    mean += one.lossValue / rows.length;
  }
  const ref = grads(params);
  for (const p of params) p.zeroGrad();
  const seq = shardLoss(model, shardsFor(1)[0]);
  seq.loss.backward();
  assert.ok(Math.abs(seq.lossValue - mean) < 1e-5 * mean, `${seq.lossValue} vs ${mean}`);
  grads(params).forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(v - ref[i][j]) < 1e-5 + 1e-4 * Math.abs(ref[i][j]), `param ${i}[${j}]: ${v} vs ${ref[i][j]}`)));
  // the token-mean weighs the long rows more: a different loss
  const tok = shardLoss(model, lmShards(rows, false, 1, { padId: 0, lengthGroups: 2, accumulation: 1 })[0]);
  assert.ok(Math.abs(tok.lossValue - seq.lossValue) > 1e-4, `${tok.lossValue} vs ${seq.lossValue}`);
  compare(model, shardsFor, [2, 3]);
});

/** A response of n random tokens, its second half the answer. */
const response = (n: number) => {
  const ids = [...randIds(n)];
  return { ids, mask: ids.map((_, t) => (t >= n / 2 ? 1 : 0)), length: n - Math.ceil(n / 2) };
};

test('reward pairs: W = 2 gives the one-thread gradient and pair statistics', () => {
  const model = new GlmForSequenceClassification(loadPreset('tiny'), 1, { seed: 5 });
  const pairs = [20, 31, 14, 26, 9].map((n) => ({ chosen: response(n), rejected: response(n + 3) }));
  compare(model, (W) => rewardShards(pairs, W, { padId: 0, lengthGroups: 2, center: 0.01, accumulation: 1 }), [2]);
});

test('DPO pairs with the NLL term: W = 2 and 3 give the one-thread gradient and statistics', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 6 });
  const items = [18, 30, 11, 24, 9, 27].map((n, i) => ({ chosen: response(n), rejected: response(n + 2), refW: -20 - i, refL: -22 + i }));
  const chosenTokens = items.reduce((a, p) => a + p.chosen.length, 0);
  compare(model, (W) => dpoShards(items, W, { beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0, rpoAlpha: 0.5, padId: 0, lengthGroups: 2, share: 1, chosenTokens, accumulation: 1 }), [2, 3]);
});

test('EXO candidate groups: W = 2 gives the one-thread gradient and statistics', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 8 });
  const groups = [0, 1, 2, 3, 4].map((g) => ({ seqs: [12 + g, 20, 16 - g].map(response), ref: [-15, -18 - g, -16], logTargets: [-0.1, -2.5, -1.2 - g / 10], rewards: [1, 0, 0.5] }));
  compare(model, (W) => exoShards(groups, W, { betaPi: 0.1, temperature: 1, padId: 0, rewards: true, share: 1, accumulation: 2 }), [2]);
});

test('a pre-training run on 2 threads is deterministic and follows the one-thread run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-dp-'));
  try {
    // counting patterns a model learns within a few steps
    const seqs = Array.from({ length: 24 }, (_, s) => Int32Array.from({ length: 65 }, (_, t) => 3 + ((s + t) % 16)));
    const run = async (name: string, W: number) => {
      const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 9 });
      const cfg = resolveConfig(pretrainSchema, { object: { out: join(dir, name), max_steps: 4, per_device_train_batch_size: 6, learning_rate: 3e-3, warmup_steps: 0, data_parallel: W, quiet: true }, objectSource: 'test' });
      const r = await new PretrainTrainer(cfg, model, null as never, seqs, null).train();
      return r.metrics.map((m) => Number(m.loss));
    };
    const [a, b, one] = [await run('a', 2), await run('b', 2), await run('one', 1)];
    assert.deepEqual(a, b, 'two runs on 2 threads log the same losses');
    a.forEach((l, i) => assert.ok(Math.abs(l - one[i]) < 2e-3 * one[i], `step ${i + 1}: ${l} on 2 threads, ${one[i]} on 1`));
    assert.ok(a[3] < a[0], `the loss moved: ${a}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
