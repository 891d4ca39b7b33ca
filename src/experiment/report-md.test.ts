import { test } from 'node:test';
import assert from 'node:assert/strict';
import { armCells } from './report-md.js';

test('arm cells: nested metrics become dotted columns; arrays and deep levels stay in result.json', () => {
  const cells = armCells({ accuracy: 0.5, name: 'x', scores: { student: { tool: 0.45, chat: 0.82 } }, curve: [1, 2], a: { b: { c: { d: 1 } } } });
  assert.deepEqual(cells, [['accuracy', 0.5], ['name', 'x'], ['scores.student.tool', 0.45], ['scores.student.chat', 0.82]]);
});
