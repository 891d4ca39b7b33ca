// Mixed-precision training (`mixed_precision: bf16`, src/tensor/ops/precision.ts): the gradient of a
// micro-batch differs from float32 by bf16 rounding only; data-parallel workers compute their shards
// in the caller's precision (W = 2 matches one thread under bf16, not the float32 gradient); a
// pre-training run learns, follows the float32 run's losses within bf16 noise, keeps float32 weights
// and records the setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPreset } from '../../models/glm/config.js';
import { GlmForCausalLM } from '../../models/glm/model.js';
import { withBf16Compute } from '../../tensor/ops/precision.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Rng } from '../../util/rng.js';
import { resolveConfig } from './config.js';
import { DataParallel } from './data-parallel.js';
import { lmShards, shardLoss } from './shard-losses.js';
import { PretrainTrainer, pretrainSchema } from '../pretrain/pretrain-trainer.js';

const rng = new Rng(21);
const rows = Array.from({ length: 6 }, () => ({ ids: Int32Array.from({ length: 41 }, () => 3 + Math.floor(rng.random() * 1000)), mask: new Uint8Array(0) }));
const shards = (W: number) => lmShards(rows, true, W, { padId: 0, lengthGroups: 1, accumulation: 1 });

function gradient(model: GlmForCausalLM, bf16: boolean, W: number): Float32Array {
  const params = model.parameters();
  for (const p of params) p.zeroGrad();
  withBf16Compute(bf16, () => {
    if (W === 1) shardLoss(model, shards(1)[0]).loss.backward();
    else DataParallel.create(model, params, W)!.run(shards(W));
  });
  const flat = Float32Array.from(params.flatMap((p: Tensor) => Array.from((p.grad?.data as Float32Array) ?? new Float32Array(p.size))));
  for (const p of params) p.zeroGrad();
  return flat;
}

/** max |a - b| over max |b|. */
function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, s = 1e-12;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

test('bf16 compute: the gradient is the float32 one up to bf16 rounding, and data-parallel workers use it too', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 5 });
  const f32 = gradient(model, false, 1), bf16 = gradient(model, true, 1), bf16W2 = gradient(model, true, 2);
  const rounding = relDiff(bf16, f32);
  assert.ok(rounding > 1e-4 && rounding < 5e-2, `bf16 vs float32 gradient: ${rounding} of the largest entry (bf16 rounding is ~4e-3 per operand)`);
  const split = relDiff(bf16W2, bf16);
  assert.ok(split < 1e-4 && split < rounding / 10, `W = 2 under bf16 vs one thread under bf16: ${split} (bf16 vs float32: ${rounding})`);
});

test('a pre-training run with mixed_precision bf16 learns, follows the float32 run and keeps float32 weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-mp-'));
  try {
    const seqs = Array.from({ length: 24 }, (_, s) => Int32Array.from({ length: 65 }, (_, t) => 3 + ((s + t) % 16)));
    const run = async (name: string, mp: 'no' | 'bf16') => {
      const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 9 });
      const cfg = resolveConfig(pretrainSchema, { object: { out: join(dir, name), max_steps: 6, per_device_train_batch_size: 6, learning_rate: 3e-3, warmup_steps: 0, mixed_precision: mp, quiet: true }, objectSource: 'test' });
      const r = await new PretrainTrainer(cfg, model, null as never, seqs, null).train();
      for (const p of model.parameters()) assert.ok(p.data instanceof Float32Array, 'master weights stay float32');
      return r.metrics.map((m) => Number(m.loss));
    };
    const [f32, bf16] = [await run('f32', 'no'), await run('bf16', 'bf16')];
    assert.notDeepEqual(bf16, f32, 'bf16 compute changes the arithmetic');
    bf16.forEach((l, i) => assert.ok(Math.abs(l - f32[i]) < 0.02 * f32[i], `step ${i + 1}: ${l} with bf16 compute, ${f32[i]} in float32`));
    assert.ok(bf16[5] < 0.8 * bf16[0], `the loss moved: ${bf16}`);
    assert.equal(JSON.parse(readFileSync(join(dir, 'bf16', 'training_config.json'), 'utf8')).mixed_precision, 'bf16');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
