#!/usr/bin/env node
// Builds the native addon with node-gyp (run by `npm ci` as the package's install script).
// A failed build does not fail the install: glmkit then runs on the reference backend and
// `glmkit info` says so. `--strict` (npm run build:native) makes a failure fatal, for development.
// Builds are serialised with a lock directory so parallel invocations do not corrupt build/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const lock = join(root, 'build.lock');

function acquire() {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch {
      // A lock older than 15 minutes is stale (a killed build).
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`build lock ${lock} held for over 10 minutes`);
      spawnSync('sleep', ['1']);
    }
  }
}

if (process.env.GLMKIT_SKIP_NATIVE === '1') {
  console.log('glmkit: GLMKIT_SKIP_NATIVE=1, not building the native addon (reference backend only)');
  process.exit(0);
}

acquire();
let status = 1;
try {
  const incremental = existsSync(join(root, 'build', 'Makefile')) && !process.argv.includes('--clean');
  const args = incremental ? ['build'] : ['rebuild'];
  const jobs = ['-j', 'max'];
  const r = spawnSync('node-gyp', [...args, ...jobs], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  status = r.status ?? 1;
  if (r.error) console.error(`glmkit: could not run node-gyp: ${r.error.message}`);
} finally {
  rmSync(lock, { recursive: true, force: true });
}

if (status !== 0) {
  const msg = 'glmkit: the native addon did not build; glmkit will run on the pure-TypeScript reference backend (slow). Run `npm run build:native` to see why.';
  if (strict) {
    console.error(msg);
    process.exit(status);
  }
  console.warn(msg);
}
process.exit(0);
