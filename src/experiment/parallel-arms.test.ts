import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { tempDir } from '../util/temp-dir.js';
import { claimArm, clearClaims, WORKER_ENV, workerSlot } from './parallel-arms.js';

test('an arm is claimed by one worker only, and clearClaims forgets the claims', () => {
  const out = tempDir();
  assert.equal(claimArm(out, 'a-seed0'), true);
  assert.equal(claimArm(out, 'a-seed0'), false);
  assert.equal(claimArm(out, 'a-seed1'), true);
  clearClaims(out);
  assert.ok(!existsSync(join(out, '.claims')));
  assert.equal(claimArm(out, 'a-seed0'), true);
});

test('workerSlot reads i/N from the environment and refuses anything else', () => {
  assert.equal(workerSlot({}), null);
  assert.deepEqual(workerSlot({ [WORKER_ENV]: '1/3' }), { index: 1, of: 3 });
  for (const bad of ['3/3', 'x', '1-2']) assert.throws(() => workerSlot({ [WORKER_ENV]: bad }), (e: unknown) => e instanceof ConfigError && e.message.includes(bad));
});
