// Alarms: derived fields, one warning per onset after K steps with the likely cause, strict stop
// naming the last checkpoint written before the alarm began.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../util/temp-dir.js';
import { AlarmTracker, correlation, type StepMetrics } from './alarms.js';

test('a zero-variance alarm persisting K steps warns once with the likely cause, and again after it clears', () => {
  const lines: string[] = [];
  const a = new AlarmTracker('grpo', 3, false, (l) => lines.push(l));
  const zv = [1, 0.95, 1, 1, 1, 0.2, 0.9, 0.9, 0.9];
  const ms: StepMetrics[] = zv.map((v, i) => ({ step: i + 1, grad_norm: 0.5, 'alarm/zero_var_groups': v }));
  for (const m of ms) a.observe(m);
  assert.deepEqual(ms.map((m) => m['alarm/active']), [1, 1, 1, 1, 1, 0, 1, 1, 1]);
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^grpo: alarm zero_var_groups for 3 steps \(step 3\): 100% of groups have zero reward variance.*prompts too easy or too hard.*curriculum/);
  assert.match(lines[1], /\(step 9\): 90% of groups/);
});

test('derived alarms: grad norm zero or non-finite, length drift, KL spike; RM-vs-gold correlation', () => {
  const lines: string[] = [];
  const a = new AlarmTracker('ppo', 1, false, (l) => lines.push(l));
  const m1: StepMetrics = { step: 1, grad_norm: 0, 'alarm/mean_length': 10, 'alarm/kl': 0.01 };
  a.observe(m1);
  assert.equal(m1['alarm/grad_norm_bad'], 1);
  assert.equal(m1['alarm/length_drift'], 1);
  assert.equal(m1['alarm/kl_spike'], undefined, 'no running mean yet');
  assert.match(lines[0], /gradient norm is 0: no learning signal/);
  const m2: StepMetrics = { step: 2, grad_norm: NaN, 'alarm/mean_length': 40, 'alarm/kl': 0.5 };
  a.observe(m2);
  assert.equal(m2['alarm/grad_norm_bad'], 1);
  assert.equal(m2['alarm/length_drift'], 4);
  assert.ok(Math.abs((m2['alarm/kl_spike'] as number) - 50) < 1e-9);
  assert.ok(lines.some((l) => /length is 4\.00x that of the first step/.test(l)));
  assert.ok(lines.some((l) => /KL to the reference is 50\.0x its running mean/.test(l)));
  assert.equal(lines.filter((l) => /gradient norm/.test(l)).length, 1, 'a continuing alarm warns once');
  const m3: StepMetrics = { step: 3, grad_norm: 1, 'alarm/rm_gold_corr': correlation([1, 2, 3, 4], [4, 3, 2, 1]) };
  a.observe(m3);
  assert.equal(m3['alarm/rm_gold_corr'], -1);
  assert.match(lines.at(-1)!, /reward hacking/);
  assert.ok(Number.isNaN(correlation([1, 1], [1, 2])));
  // resume: the state carries over
  const b = new AlarmTracker('ppo', 1, false, () => {});
  b.importState(JSON.parse(JSON.stringify(a.exportState())) as Record<string, unknown>);
  const m4: StepMetrics = { step: 4, grad_norm: 1, 'alarm/mean_length': 5 };
  b.observe(m4);
  assert.equal(m4['alarm/length_drift'], 0.5);
});

test('with strict checks a persistent alarm stops the run, naming the last checkpoint before it began', () => {
  const out = tempDir('glmkit-alarm-');
  for (const s of [2, 4]) {
    mkdirSync(join(out, `checkpoint-${s}`));
    writeFileSync(join(out, `checkpoint-${s}`, 'trainer_state.json'), '{}');
  }
  const a = new AlarmTracker('grpo', 2, true, () => assert.fail('no warning in strict mode'), (step) => (step >= 4 ? join(out, 'checkpoint-4') : step >= 2 ? join(out, 'checkpoint-2') : null));
  a.observe({ step: 4, grad_norm: 1, 'alarm/truncated': 0.9, 'alarm/truncated_reward': 0 });
  assert.throws(
    () => a.observe({ step: 5, grad_norm: 1, 'alarm/truncated': 0.8, 'alarm/truncated_reward': 0.1 }),
    (e: Error) => e.name === 'TrainingError' && /alarm truncated for 2 steps \(step 5\): 80% of completions hit the length limit without EOS \(their mean reward 0\.100\)/.test(e.message) && /the last good checkpoint \(before the alarm began at step 4\) is .*checkpoint-2/.test(e.message),
  );
});
