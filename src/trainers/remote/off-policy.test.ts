// Truncated importance weights of --rollout-ahead against hand-computed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyBehaviourWeights, behaviourGrid, truncatedWeight } from './off-policy.js';

test('w = min(exp(logp_old - logp_behaviour), C); never NaN', () => {
  assert.ok(Math.abs(truncatedWeight(-1, -1.5, 2) - Math.exp(0.5)) < 1e-12);
  assert.equal(truncatedWeight(-0.1, -3, 2), 2, 'capped');
  assert.ok(Math.abs(truncatedWeight(-2, -1, 2) - Math.exp(-1)) < 1e-12, 'below 1 is kept');
  assert.equal(truncatedWeight(NaN, -1, 2), 2);
  assert.equal(truncatedWeight(-Infinity, -1, 2), 0);
});

test('the surrogate coefficients are scaled per token where the mask is set', () => {
  const coef = Float32Array.from([-1, -1, 2, 5]), constant = Float32Array.from([0, 0.5, 0, 7]);
  const old = [-1, -1, -1, -1], mu = [-1, -1 - Math.log(1.5), -5, -1], mask = [1, 1, 1, 0];
  const r = applyBehaviourWeights(coef, constant, old, mu, mask, 2);
  assert.deepEqual(Array.from(coef), [-1, Math.fround(-1.5), 4, 5]);
  assert.deepEqual(Array.from(constant), [0, 0.75, 0, 7], 'masked tokens untouched');
  assert.ok(Math.abs(r.mean - (1 + 1.5 + 2) / 3) < 1e-6);
  assert.ok(Math.abs(r.capped - 1 / 3) < 1e-12);
});

test('behaviour log-probs sit where the loss predicts each completion token', () => {
  const g = behaviourGrid([{ r: { promptIds: [1, 2, 3], logprobs: [-0.5, -0.25] } }, { r: { promptIds: [4], logprobs: [-1] } }], 2, 5);
  assert.deepEqual(Array.from(g), [0, 0, -0.5, -0.25, 0, -1, 0, 0, 0, 0]);
});
