// Gradient clipping against hand computations: the norm, the scaled gradients, the untouched cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../tensor/tensor.js';
import { clipGradNorm, gradNorm } from './clip.js';

function withGrad(values: number[]): Tensor {
  const p = Tensor.zeros([values.length]).requireGrad();
  p.grad = Tensor.from(values, [values.length]);
  return p;
}

test('clipGradNorm: global norm over all grads, scaled when above the max', () => {
  const a = withGrad([3, 4]), b = withGrad([12]), none = Tensor.zeros([2]).requireGrad();
  const norm = clipGradNorm([a, none, b], 6.5);
  assert.equal(norm, 13); // sqrt(9 + 16 + 144)
  const coef = 6.5 / (13 + 1e-6);
  const got = [...a.grad!.data, ...b.grad!.data];
  [3, 4, 12].forEach((v, i) => assert.ok(Math.abs(got[i] - Math.fround(v * coef)) < 1e-6, `grad ${i}: ${got[i]} vs ${v * coef}`));
  assert.ok(Math.abs(gradNorm([a, b]) - 6.5) < 1e-5, 'the clipped norm is maxNorm');
  assert.equal(none.grad, null);
});

test('clipGradNorm: below the max, or with maxNorm 0 / Infinity, grads are untouched', () => {
  for (const max of [13, 100, 0, Infinity]) {
    const a = withGrad([3, 4]), b = withGrad([12]);
    assert.equal(clipGradNorm([a, b], max), 13);
    assert.deepEqual([...a.grad!.data, ...b.grad!.data], [3, 4, 12]);
  }
  assert.throws(() => clipGradNorm([withGrad([1])], -1), /maxNorm/);
});

test('clipGradNorm: a NaN or Inf norm is reported and the grads are left as they are', () => {
  for (const bad of [NaN, Infinity]) {
    const a = withGrad([3, bad]), b = withGrad([12]);
    const n = clipGradNorm([a, b], 1);
    assert.ok(bad === bad ? n === Infinity : Number.isNaN(n), `norm ${n}`);
    assert.equal(b.grad!.data[0], 12);
    assert.equal(a.grad!.data[0], 3);
  }
});

test('gradNorm accumulates in f64 (float32 grads, many small entries)', () => {
  const n = 1 << 20;
  const p = Tensor.zeros([n]).requireGrad();
  p.grad = Tensor.full([n], 1e-3);
  const v = Math.fround(1e-3);
  const exact = Math.sqrt(n * v * v);
  // a float32 running sum of 2^20 terms of 1e-6 drifts by percents; f64 stays within 1e-9
  assert.ok(Math.abs(gradNorm([p]) - exact) < 1e-9, `norm ${gradNorm([p])} vs ${exact}`);
});
