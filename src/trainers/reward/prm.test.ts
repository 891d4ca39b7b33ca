import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../tensor/tensor.js';
import { aggregateStepScores, stepBceLoss } from './prm.js';
import { stepTargets } from './prm-trainer.js';

const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('per-step BCE against a hand computation (weighted steps only, mean over them)', () => {
  const logits = new Tensor(new Float32Array([2, -1, 0.5, 3]), [4]);
  const labels = new Float32Array([1, 0, 1, 0]), weights = new Float32Array([1, 1, 1, 0]);
  const want = -(Math.log(sig(2)) + Math.log(1 - sig(-1)) + Math.log(sig(0.5))) / 3;
  assert.ok(Math.abs(stepBceLoss(logits, labels, weights).item() - want) < 1e-5);
  assert.throws(() => stepBceLoss(logits, labels, new Float32Array(4)), /no labelled step/);
});

test('aggregation of step scores: min, product and last of the step probabilities', () => {
  const l = [1, -2, 0];
  assert.ok(Math.abs(aggregateStepScores(l, 'min') - sig(-2)) < 1e-12);
  assert.ok(Math.abs(aggregateStepScores(l, 'prod') - sig(1) * sig(-2) * 0.5) < 1e-12);
  assert.equal(aggregateStepScores(l, 'last'), 0.5);
  assert.ok(Math.abs(aggregateStepScores([-800, 3], 'prod')) < 1e-300);
});

test('step targets: every step under process supervision, only the last ("all right") under outcome', () => {
  const ex = (labels: boolean[]) => ({ ids: [], stepEnds: labels.map((_, i) => i), labels });
  const batch = [ex([true, true, false]), ex([true, true])];
  const p = stepTargets(batch, 'process');
  assert.deepEqual([...p.labels], [1, 1, 0, 1, 1]);
  assert.deepEqual([...p.weights], [1, 1, 1, 1, 1]);
  const o = stepTargets(batch, 'outcome');
  assert.deepEqual([...o.labels], [0, 0, 0, 0, 1]);
  assert.deepEqual([...o.weights], [0, 0, 1, 0, 1]);
});

test('step targets with class balancing: right and wrong labelled steps weigh half of the batch each', () => {
  const ex = (labels: boolean[]) => ({ ids: [], stepEnds: labels.map((_, i) => i), labels });
  const batch = [ex([true, true, false]), ex([true, true])];
  const p = stepTargets(batch, 'process', true);
  // 4 right, 1 wrong: weights 5/8 and 5/2, total 5
  assert.deepEqual([...p.weights], [5 / 8, 5 / 8, 5 / 2, 5 / 8, 5 / 8]);
  const o = stepTargets(batch, 'outcome', true);
  assert.deepEqual([...o.weights], [0, 0, 1, 0, 1]);
  assert.deepEqual([...stepTargets([ex([true, true])], 'process', true).weights], [1, 1]);
  // the weighted loss: sum w BCE / sum w
  const logits = new Tensor(new Float32Array([1, 1, 1, 1, 1]), [5]);
  const want = (4 * (5 / 8) * -Math.log(sig(1)) + (5 / 2) * -Math.log(1 - sig(1))) / 5;
  assert.ok(Math.abs(stepBceLoss(logits, p.labels, p.weights).item() - want) < 1e-5);
});
