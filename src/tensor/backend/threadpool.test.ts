// native/threadpool.cpp under exceptions: a range that throws (on the calling thread or on a worker)
// lets every other range finish before parallel_for returns, and the exception reaches JavaScript as
// an Error. Before the fix a throw on the caller returned while a worker still ran on the dead stack
// frame, and a throw on a worker terminated the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { needNativeOptions, nativeBackendForTests } from '../../util/test-skip.js';
import { referenceBackend } from './index.js';
import { loadNativeAddon, nativeInfo, setNativeThreads } from './native.js';

const { skip } = needNativeOptions();

test('parallel_for: a throwing range waits for the others, then reaches JavaScript', { skip }, () => {
  const addon = loadNativeAddon() as unknown as { _testThrowInParallel(n: number, bad: number, out: Int32Array): void };
  const threads = nativeInfo()!.threads;
  setNativeThreads(2);
  try {
    const n = 8; // two ranges: [0, 4) on the calling thread, [4, 8) on the worker
    for (let rep = 0; rep < 10; rep++) {
      for (const bad of [1, 5]) {
        const out = new Int32Array(n).fill(-1);
        assert.throws(() => addon._testThrowInParallel(n, bad, out), new RegExp(`chunk ${bad} failed on purpose`));
        // the other range ran to its end before the call returned
        const other = bad < 4 ? [4, 5, 6, 7] : [0, 1, 2, 3];
        assert.deepEqual(other.map((i) => out[i]), other, `bad ${bad}, rep ${rep}: ${Array.from(out)}`);
      }
    }
    // the pool still works: a threaded GEMM after the failures matches the reference
    const native = nativeBackendForTests()!;
    const m = 64, k = 96, nn = 80;
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)), b = Float32Array.from({ length: k * nn }, (_, i) => Math.cos(i));
    const args = { a, b, batch: 1, m, n: nn, k, transA: false, transB: false, strideA: 0, strideB: 0, strideC: m * nn, alpha: 1, beta: 0 };
    const got = new Float32Array(m * nn), want = new Float32Array(m * nn);
    native.gemm({ ...args, c: got });
    referenceBackend.gemm({ ...args, c: want });
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])), `element ${i}`);
  } finally {
    setNativeThreads(threads);
  }
});

// With GLMKIT_SPIN_US the pool spins for a while before sleeping: jobs that arrive back to back find
// the worker spinning, jobs after a pause find it asleep. Both hand-offs must run every range (the
// test runs with the environment's setting; the suite runs it again with a spin in a child process).
test('parallel_for: back-to-back jobs and jobs after a pause (spin and sleep hand-offs) all complete', { skip }, () => {
  const addon = loadNativeAddon() as unknown as { _testThrowInParallel(n: number, bad: number, out: Int32Array): void };
  const threads = nativeInfo()!.threads;
  setNativeThreads(2);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  try {
    for (let rep = 0; rep < 300; rep++) {
      const out = new Int32Array(2).fill(-1); // two ranges: [0, 1) here, [1, 2) on the worker
      addon._testThrowInParallel(2, 2, out); // bad = 2: no range throws
      assert.deepEqual(Array.from(out), [0, 1], `rep ${rep}`);
      if (rep % 3 === 2) Atomics.wait(pause, 0, 0, 2); // 2 ms: longer than the spin, so the worker sleeps
    }
  } finally {
    setNativeThreads(threads);
  }
});

test('parallel_for: the hand-off test passes with a spin (GLMKIT_SPIN_US=200)', { skip: skip || process.env.GLMKIT_SPIN_US !== undefined }, () => {
  // The spin is read once per process, so the hand-off test reruns in a child process.
  const env: NodeJS.ProcessEnv = { ...process.env, GLMKIT_SPIN_US: '200' };
  delete env.NODE_TEST_CONTEXT;
  const args = ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-name-pattern=hand-offs', fileURLToPath(import.meta.url)];
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `spinning run failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /# pass 1\n/);
  assert.match(r.stdout, /# fail 0\n/);
});
