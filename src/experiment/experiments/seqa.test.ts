// The seqa experiment reports on the test half of the world questions only: its settings were chosen
// on the validation half (scripts/seqa-validation.ts), so no reported question may come from there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validationTestSplit } from '../../eval/splits.js';
import { testQuestions } from './seqa.js';

test('seqa experiment questions: distinct, all from the test half', () => {
  const qs = testQuestions(30);
  assert.equal(qs.length, 30);
  assert.equal(new Set(qs.map((q) => q.prefix + '|' + q.choices.join())).size, 30);
  const split = validationTestSplit(qs, (q) => [q.prefix, q.choices]);
  assert.equal(split.validation.length, 0);
  assert.equal(split.test.length, 30);
});
