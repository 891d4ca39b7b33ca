// The integration-test helpers themselves: assertFiniteIn must reject what `typeof x === 'number'`
// lets through (NaN, infinities), values out of range and non-numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFiniteIn } from './helpers.js';

test('assertFiniteIn accepts finite in-range numbers and rejects NaN, infinities, out-of-range values and non-numbers', () => {
  assertFiniteIn(0, 'zero', 0, 1);
  assertFiniteIn(1, 'one', 0, 1);
  assertFiniteIn(-3.5, 'negative');
  for (const [x, lo, hi] of [[NaN, -Infinity, Infinity], [Infinity, -Infinity, Infinity], [-Infinity, -Infinity, Infinity], [1.5, 0, 1], [-0.1, 0, 1]] as const) {
    assert.throws(() => assertFiniteIn(x, 'metric', lo, hi), new RegExp(`metric: expected a finite number in \\[${lo}, ${hi}\\], got ${x}`));
  }
  for (const x of [null, undefined, '0.5', { v: 1 }]) assert.throws(() => assertFiniteIn(x, 'metric'), /metric: expected a finite number/);
});
