import { test } from 'node:test';
import assert from 'node:assert/strict';
import { positionPrior, rocAuc, stepValidationMetrics } from './prm-metrics.js';

test('ROC AUC against hand counts of right-over-wrong pairs (ties one half)', () => {
  // positives 3, 1; negatives 2, 0: pairs (3>2, 3>0, 1<2, 1>0) = 3 of 4
  assert.equal(rocAuc([3, 2, 1, 0], [true, false, true, false]), 0.75);
  assert.equal(rocAuc([1, 1, 1], [true, false, true]), 0.5);
  assert.equal(rocAuc([5, 0], [true, false]), 1);
  assert.equal(rocAuc([5, 0], [false, true]), 0);
  assert.ok(Number.isNaN(rocAuc([1, 2], [true, true])));
});

test('position prior: share of right steps at each index, the overall share beyond the longest', () => {
  const p = positionPrior([{ labels: [true, false] }, { labels: [true, true, false] }]);
  assert.equal(p(0), 1);
  assert.equal(p(1), 0.5);
  assert.equal(p(2), 0);
  assert.equal(p(7), 3 / 5);
});

test('validation metrics: a perfect scorer beside the constant and position baselines', () => {
  const train = [{ labels: [true, true, true] }, { labels: [true, false, false] }];
  const val = [{ labels: [true, true] }, { labels: [false, false] }, { labels: [true, false] }];
  const perfect = val.map((e) => e.labels.map((y) => (y ? 3 : -3)));
  const m = stepValidationMetrics(perfect, val, train, 'min');
  assert.equal(m.step_accuracy, 1);
  assert.equal(m.step_auc, 1);
  assert.equal(m.response_accuracy, 1);
  assert.equal(m.response_auc, 1);
  // majority of the training steps is right: 3 of the 6 validation steps are right
  assert.equal(m.step_accuracy_constant, 0.5);
  // position prior: index 0 -> 1, index 1 -> 0.5 (not above 0.5, so "wrong"); val: (T,T) (F,F) (T,F)
  assert.equal(m.step_accuracy_position, 4 / 6);
  // majority of the training responses: one right of two, ties count as right; one of three val responses is right
  assert.equal(m.response_accuracy_constant, 1 / 3);
  assert.equal(m.right_steps, 0.5);
});
