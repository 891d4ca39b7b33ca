/** Helpers for integration tests: run the CLI from source, make temporary folders. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(fileURLToPath(import.meta.url), '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `glmkit ...args` from the TypeScript sources (no build needed). */
export function runCli(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/entry.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** A temporary folder, removed when the test process exits (see src/util/temp-dir.ts). */
export { tempDir } from '../src/util/temp-dir.js';

/**
 * Asserts that `x` is a finite number in [lo, hi]. `typeof x === 'number'` would also accept NaN and
 * Infinity, which is what a broken loss or metric looks like.
 */
export function assertFiniteIn(x: unknown, what: string, lo = -Infinity, hi = Infinity): asserts x is number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < lo || x > hi) {
    assert.fail(`${what}: expected a finite number in [${lo}, ${hi}], got ${typeof x === 'number' ? String(x) : JSON.stringify(x)}`);
  }
}
