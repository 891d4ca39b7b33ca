import { test } from 'node:test';
import assert from 'node:assert/strict';
import { majorityBaseline } from './baseline.js';
import { generateVisionTask } from './index.js';

test('majority baseline: share of the most common answer per family', () => {
  const b = majorityBaseline([
    { family: 'spatial', answer: 'yes' },
    { family: 'spatial', answer: 'no' },
    { family: 'spatial', answer: 'yes' },
    { family: 'count', answer: '2' },
    { family: 'count', answer: '3' },
  ]);
  assert.deepEqual(Object.keys(b), ['count', 'spatial']);
  assert.deepEqual(b.spatial, { n: 3, majority: 'yes', accuracy: 2 / 3 });
  assert.deepEqual(b.count, { n: 2, majority: '2', accuracy: 0.5 });
});

test('held-out chance levels of the world: near 0.5 for two-way answers, low for counting and reading', () => {
  const recs = [...generateVisionTask('rl', { n: 400, seed: 1, split: 'test' })];
  const b = majorityBaseline(recs);
  assert.equal(Object.keys(b).length, 8);
  for (const f of ['spatial', 'geometry']) assert.ok(b[f].accuracy >= 0.4 && b[f].accuracy <= 0.75, `${f} ${b[f].accuracy}`);
  for (const f of ['digits', 'words', 'table', 'clock']) assert.ok(b[f].accuracy < 0.25, `${f} ${b[f].accuracy}`);
  assert.ok(b.count.accuracy < 0.4, `count ${b.count.accuracy}`);
});
