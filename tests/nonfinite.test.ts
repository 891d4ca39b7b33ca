// Non-finite steps are never applied: a NaN loss (or a finite loss with NaN gradients) at a step skips
// that update, logs `skipped_nonfinite`, and training goes on with finite losses; max_nonfinite_skips in
// a row stop the run with a TrainingError that names the last good checkpoint, and write no model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as F from '../src/tensor/ops/index.js';
import { TrainingError } from '../src/errors.js';
import { readMetrics } from '../src/trainers/base/metrics.js';
import { loadCausalLM } from '../src/models/glm/checkpoint.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import type { MicroBatchResult } from '../src/trainers/base/trainer.js';
import { PretrainTrainer, packText, pretrainSchema, type PretrainConfig } from '../src/trainers/pretrain/pretrain-trainer.js';
import { makeFixture, type Fixture } from './fixtures.js';
import { tempDir } from './helpers.js';

function assertFiniteIn(x: unknown, what: string, lo: number): void {
  assert.ok(typeof x === 'number' && Number.isFinite(x) && x >= lo, `${what}: expected a finite number >= ${lo}, got ${String(x)}`);
}

let fx: Fixture;

test('setup fixture', async () => {
  fx = await makeFixture(tempDir(), { docs: 40, chats: 4 });
});

/** Pretraining whose micro-batch loss is poisoned at the given (0-based) steps: NaN loss, or NaN gradients only. */
class PoisonedPretrain extends PretrainTrainer {
  constructor(cfg: PretrainConfig, private readonly poison: (step: number) => 'loss' | 'grad' | null) {
    const tok = loadTokenizer(fx.model);
    super(cfg, loadCausalLM(fx.model), tok, packText(fx.pretrainData, tok, 16), null);
  }

  protected override microBatchLoss(accumulation: number): MicroBatchResult {
    const r = super.microBatchLoss(accumulation);
    const kind = this.poison(this.step);
    if (kind === 'loss') return { ...r, loss: F.mul(r.loss, NaN), lossValue: NaN };
    if (kind === 'grad') return { ...r, loss: F.mul(r.loss, NaN) };
    return r;
  }
}

const cfgFor = (out: string, extra: Record<string, unknown> = {}) => resolveConfig(pretrainSchema, { object: { model: fx.model, data: fx.pretrainData, out, max_steps: 6, save_steps: 1, per_device_train_batch_size: 2, gradient_accumulation_steps: 2, max_seq_length: 16, warmup_steps: 1, threads: 1, quiet: true, ...extra } });

test('one NaN loss and one NaN gradient step are skipped, logged, and training continues with finite losses', async () => {
  const out = tempDir();
  const trainer = new PoisonedPretrain(cfgFor(out), (s) => (s === 1 ? 'loss' : s === 3 ? 'grad' : null));
  const r = await trainer.train();
  assert.equal(r.steps, 6);
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assert.deepEqual(m.map((x) => x.step), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(m.map((x) => x.skipped_nonfinite ?? 0), [0, 1, 0, 1, 0, 0]);
  assert.deepEqual(m.map((x) => x.skipped_nonfinite_total ?? 0), [0, 1, 1, 2, 2, 2]);
  assert.equal(m[1].loss, null, 'the NaN loss is logged (as null in JSON)');
  for (const i of [0, 2, 4, 5]) assertFiniteIn(m[i].loss, `loss at step ${i + 1}`, 0);
  assertFiniteIn(m[3].loss, 'the loss of the NaN-gradient step is finite', 0);
  assert.equal(trainer.optimizer.step, 4, 'only the 4 finite steps were applied');
  for (const [name, t] of loadCausalLM(join(out, 'final')).stateDict()) assert.ok(t.data.every(Number.isFinite), `${name} holds a non-finite value`);
  // no checkpoint of a skipped step
  assert.ok(existsSync(join(out, 'checkpoint-1')) && existsSync(join(out, 'checkpoint-3')));
  assert.ok(!existsSync(join(out, 'checkpoint-2')) && !existsSync(join(out, 'checkpoint-4')));
  // the skip count is part of the checkpoint: resuming from checkpoint-3 logs the same rows
  const again = tempDir();
  cpSync(join(out, 'checkpoint-3'), join(again, 'checkpoint-3'), { recursive: true });
  await new PoisonedPretrain(cfgFor(again, { resume: 'true' }), (s) => (s === 1 ? 'loss' : s === 3 ? 'grad' : null)).train();
  const strip = (rows: typeof m) => rows.map(({ tokens_per_s: _t, ...rest }) => rest);
  assert.deepEqual(strip(readMetrics(join(again, 'metrics.jsonl'))), strip(m.slice(3)));
});

test('max_nonfinite_skips NaN steps in a row stop the run with a TrainingError, keeping the last good checkpoint', async () => {
  const out = tempDir();
  const trainer = new PoisonedPretrain(cfgFor(out, { max_nonfinite_skips: 2 }), (s) => (s >= 2 ? 'loss' : null));
  await assert.rejects(trainer.train(), (e: unknown) => {
    assert.ok(e instanceof TrainingError, String(e));
    assert.match(e.message, /2 steps in a row \(up to step 4\) had a non-finite loss or gradient norm/);
    assert.match(e.message, /last good checkpoint is .*checkpoint-2/);
    return true;
  });
  assert.ok(existsSync(join(out, 'checkpoint-2')));
  assert.ok(!existsSync(join(out, 'checkpoint-3')) && !existsSync(join(out, 'checkpoint-4')));
  assert.ok(!existsSync(join(out, 'final')), 'no final model of a broken run');
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assert.deepEqual(m.map((x) => x.skipped_nonfinite ?? 0), [0, 0, 1, 1]);
  // the default allows 3 in a row
  const out3 = tempDir();
  await assert.rejects(new PoisonedPretrain(cfgFor(out3), (s) => (s >= 1 ? 'loss' : null)).train(), /3 steps in a row \(up to step 4\)/);
});
