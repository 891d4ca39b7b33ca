import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmax, bestOfN } from './reward-scorer.js';

test('best-of-n from one set of samples: disjoint groups of n, the top-scored sample of each group', () => {
  const scores = [0.1, 0.9, 0.3, 0.2, 0.8, 0.7, 0.05, 0.6];
  const correct = [1, 0, 1, 1, 0, 1, 0, 1];
  assert.equal(bestOfN(scores, correct, 1), 5 / 8);
  // groups {0,1} {2,3} {4,5} {6,7}: picks 1, 2, 4, 7 -> 0, 1, 0, 1
  assert.equal(bestOfN(scores, correct, 2), 0.5);
  // groups {0..3} {4..7}: picks 1 and 4 -> 0, 0
  assert.equal(bestOfN(scores, correct, 4), 0);
  assert.equal(bestOfN(scores, correct, 8), 0);
  // 8 samples, n = 3: groups {0,1,2} {3,4,5} (the last two samples unused): picks 1 and 4 -> 0, 0
  assert.equal(bestOfN(scores, correct, 3), 0);
  assert.equal(bestOfN([0.2, 0.1, 0.3, 0.9, 0.1, 0], [1, 0, 0, 1, 0, 0], 3), 0.5);
  assert.throws(() => bestOfN(scores, correct, 9), /needs at least 9 samples, got 8/);
  assert.equal(argmax([1, 3, 3, 2]), 1);
});
