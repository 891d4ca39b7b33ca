import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { readMetrics } from '../trainers/base/metrics.js';
import { tempDir } from '../util/temp-dir.js';
import { readJsonl } from './jsonl.js';

test('readJsonl numbers lines as in the file (blank lines counted); an empty file is an error unless allowed', () => {
  const f = join(tempDir(), 'a.jsonl');
  writeFileSync(f, '{"a": 1}\n\n\n{"a": 2}\n');
  assert.deepEqual(readJsonl(f).map((r) => r.line), [1, 4]);
  writeFileSync(f, '\n');
  assert.throws(() => readJsonl(f), (e: unknown) => e instanceof DataError && /holds no records/.test((e as Error).message));
  assert.deepEqual(readJsonl(f, { allowEmpty: true }), []);
});

test('metrics.jsonl is read through the JSONL reader: a bad line is a DataError naming file:line', () => {
  const f = join(tempDir(), 'metrics.jsonl');
  writeFileSync(f, '{"step": 1, "loss": 2.5}\n\n{"step": 2, "loss"\n');
  assert.throws(() => readMetrics(f), (e: unknown) => e instanceof DataError && (e as Error).message.startsWith(`${f}:3: not valid JSON`));
  writeFileSync(f, '{"step": 1, "loss": 2.5}\n\n{"step": 2, "loss": 2.25}\n');
  assert.deepEqual(readMetrics(f).map((m) => m.loss), [2.5, 2.25]);
  writeFileSync(f, '');
  assert.deepEqual(readMetrics(f), []);
});
