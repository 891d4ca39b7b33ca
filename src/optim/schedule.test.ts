// LR schedules and batch-size warm-up at key steps, against values worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchWarmup, constant, linear, lrSchedule, warmupCosine } from './schedule.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b), `${what}: got ${a}, expected ${b}`);

test('warmupCosine: GLM-4.5 peak 2.5e-4 -> 2.5e-5, 100 warm-up steps, 1100 total', () => {
  const lr = warmupCosine({ peakLr: 2.5e-4, minLr: 2.5e-5, warmupSteps: 100, totalSteps: 1100 });
  close(lr(0), 0, 'step 0');
  close(lr(1), 2.5e-6, 'step 1');
  close(lr(50), 1.25e-4, 'step 50');
  close(lr(100), 2.5e-4, 'end of warm-up');
  // t = 0.25: 2.5e-5 + 2.25e-4 * (1 + cos(pi/4)) / 2 = 2.5e-5 + 2.25e-4 * 0.8535533905932737
  close(lr(350), 2.170495128834866e-4, 'quarter of the decay');
  close(lr(600), 1.375e-4, 'middle of the decay');
  // t = 0.75: 2.5e-5 + 2.25e-4 * 0.14644660940672624
  close(lr(850), 5.795048711651341e-5, 'three quarters');
  close(lr(1100), 2.5e-5, 'end');
  close(lr(5000), 2.5e-5, 'flat after the end');
  for (let s = 101; s <= 1100; s += 37) assert.ok(lr(s) <= lr(s - 1), `cosine is non-increasing at ${s}`);
});

test('warmupCosine without warm-up starts at the peak; totalSteps == warmupSteps keeps the peak', () => {
  const a = warmupCosine({ peakLr: 1, minLr: 0, totalSteps: 10 });
  close(a(0), 1, 'step 0');
  close(a(5), 0.5, 'step 5');
  close(a(10), 0, 'step 10');
  const b = warmupCosine({ peakLr: 1, warmupSteps: 4, totalSteps: 4 });
  close(b(2), 0.5, 'warm-up');
  close(b(4), 1, 'end of warm-up');
  close(b(100), 1, 'after');
});

test('linear decay and constant', () => {
  const l = linear({ peakLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 });
  close(l(5), 5e-4, 'warm-up');
  close(l(10), 1e-3, 'peak');
  close(l(35), 1e-4 + 9e-4 * 0.75, 'quarter');
  close(l(60), 5.5e-4, 'middle');
  close(l(110), 1e-4, 'end');
  close(l(111), 1e-4, 'after');
  const c = constant({ lr: 3e-4, warmupSteps: 3 });
  close(c(0), 0, 'constant step 0');
  close(c(1), 1e-4, 'constant step 1');
  close(c(3), 3e-4, 'constant step 3');
  close(c(1e6), 3e-4, 'constant later');
  close(constant({ lr: 2 })(0), 2, 'no warm-up');
  close(lrSchedule('cosine', { peakLr: 1, totalSteps: 10 })(5), 0.5, 'lrSchedule cosine');
  close(lrSchedule('linear', { peakLr: 1, totalSteps: 10 })(5), 0.5, 'lrSchedule linear');
  close(lrSchedule('constant', { peakLr: 1, totalSteps: 10 })(5), 1, 'lrSchedule constant');
});

test('schedules reject inconsistent settings', () => {
  assert.throws(() => warmupCosine({ peakLr: 1e-4, minLr: 1e-3, totalSteps: 10 }), /minLr/);
  assert.throws(() => warmupCosine({ peakLr: 1e-4, warmupSteps: 20, totalSteps: 10 }), /totalSteps/);
  assert.throws(() => linear({ peakLr: -1, totalSteps: 10 }), /peakLr/);
  assert.throws(() => lrSchedule('step' as 'cosine', { peakLr: 1, totalSteps: 1 }), /unknown schedule/);
});

test('batchWarmup: linear ramp rounded down to a multiple, flat after', () => {
  const b = batchWarmup({ start: 4, end: 32, steps: 100, multiple: 4 });
  assert.equal(b(0), 4);
  assert.equal(b(25), 8); // 4 + 28 * 0.25 = 11 -> 8
  assert.equal(b(50), 16); // 18 -> 16
  assert.equal(b(100), 32);
  assert.equal(b(1000), 32);
  const c = batchWarmup({ start: 1, end: 8, steps: 7 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map(c), [1, 2, 3, 4, 5, 6, 7, 8, 8]);
  assert.equal(batchWarmup({ start: 2, end: 6, steps: 0 })(0), 6);
  assert.throws(() => batchWarmup({ start: 0, end: 8, steps: 10 }), /start/);
});
