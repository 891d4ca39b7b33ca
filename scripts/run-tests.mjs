#!/usr/bin/env node
// Runs the test suite with node's built-in test runner (TypeScript through tsx).
// Unit tests sit beside the code (src/**/*.test.ts); integration tests live in tests/.
//   node scripts/run-tests.mjs                 all tests
//   node scripts/run-tests.mjs src/tensor gemm only files whose path contains one of the words
// Skips follow one policy (src/util/test-skip.ts): a test skips only for a missing optional component
// (llama.cpp) and prints why; the native addon is required unless GLMKIT_SKIP_NATIVE=1.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = [...walk(join(root, 'src'), []), ...walk(join(root, 'tests'), [])]
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
