import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { tempDir } from '../util/temp-dir.js';
import { writeFileAtomic, writeTextAtomic } from './atomic.js';
import { writeGguf } from './gguf.js';

test('an atomic write replaces the file whole', () => {
  const dir = tempDir();
  const f = join(dir, 'state.json');
  writeTextAtomic(f, 'one\n');
  writeTextAtomic(f, 'two\n');
  assert.equal(readFileSync(f, 'utf8'), 'two\n');
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('a failing write leaves the old file and no temporary file', () => {
  const dir = tempDir();
  const f = join(dir, 'model.gguf');
  writeFileSync(f, 'old');
  assert.throws(() => writeFileAtomic(f, () => { throw new Error('disk full'); }), /disk full/);
  assert.equal(readFileSync(f, 'utf8'), 'old');
  assert.deepEqual(readdirSync(dir), ['model.gguf']);
});

test('writing over a folder is a CheckpointError before anything is written (GGUF export to an existing folder)', () => {
  const parent = tempDir();
  const out = join(parent, 'exported');
  mkdirSync(out);
  assert.throws(() => writeGguf(out, [], []), (e: unknown) => e instanceof CheckpointError && /is a folder; expected a file path/.test((e as Error).message));
  assert.deepEqual(readdirSync(parent), ['exported']);
  assert.deepEqual(readdirSync(out), []);
});
