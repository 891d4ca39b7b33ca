import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cohenKappa } from './agreement.js';

test("Cohen's kappa equals a hand computation", () => {
  // 10 items.  annotator 1: a a a a a b b b tie bad   annotator 2: a a a a b b b tie tie bad
  // agree on items 1-4, 6, 7, 9, 10 -> p_o = 8/10 = 0.8
  // annotator 1: a 5, b 3, tie 1, bad 1; annotator 2: a 4, b 3, tie 2, bad 1
  // p_e = (5*4 + 3*3 + 1*2 + 1*1) / 100 = 32/100 = 0.32
  // kappa = (0.8 - 0.32) / (1 - 0.32) = 0.48 / 0.68 = 0.70588...
  const one = ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'tie', 'bad'];
  const two = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'tie', 'tie', 'bad'];
  const k = cohenKappa(one.map((x, i) => [x, two[i]] as const));
  assert.ok(Math.abs(k! - 0.48 / 0.68) < 1e-12, String(k));
  // perfect agreement over two categories: 1; systematic disagreement: below 0
  assert.equal(cohenKappa([['a', 'a'], ['b', 'b']]), 1);
  assert.equal(cohenKappa([['a', 'b'], ['b', 'a']]), -1);
  // undefined cases
  assert.equal(cohenKappa([]), null);
  assert.equal(cohenKappa([['a', 'a'], ['a', 'a']]), null);
});
