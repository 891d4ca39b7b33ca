import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { tempDir } from '../util/temp-dir.js';
import { readStepwise } from './stepwise.js';

test('stepwise rows are read; bad rows name file:line and the field', () => {
  const dir = tempDir();
  const good = JSON.stringify({ prompt: 'What is 1 + 2?', completions: ['1 + 2:', '1 + 2 = 3'], labels: [true, false] });
  const f = join(dir, 'ok.jsonl');
  writeFileSync(f, good + '\n\n' + good + '\n');
  const rows = readStepwise(f);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[1].labels, [true, false]);
  assert.equal(rows[1].line, 3);
  const cases: [unknown, RegExp][] = [
    [{ prompt: 'q', completions: ['a'], labels: [true, false] }, /bad\.jsonl:2: labels: expected 1 labels \(one per step of "completions"\), found 2/],
    [{ prompt: 'q', completions: ['a', 'b'], labels: [true, 1] }, /bad\.jsonl:2: labels: expected label 1 to be true or false, found 1/],
    [{ prompt: 'q', completions: ['a', 'b'], labels: ['true', true] }, /bad\.jsonl:2: labels: expected label 0 to be true or false, found "true"/],
    [{ prompt: 'q', completions: [], labels: [] }, /bad\.jsonl:2: completions: expected a non-empty list/],
    [{ prompt: 3, completions: ['a'], labels: [true] }, /bad\.jsonl:2: prompt: expected a string or a list of messages/],
  ];
  for (const [row, re] of cases) {
    const b = join(dir, 'bad.jsonl');
    writeFileSync(b, good + '\n' + JSON.stringify(row) + '\n');
    assert.throws(() => readStepwise(b), (e: unknown) => e instanceof DataError && re.test(e.message), JSON.stringify(row));
  }
});
