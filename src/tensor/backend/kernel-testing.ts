/**
 * Helpers shared by the kernel tests (native vs reference): the native backend (or a skip reason),
 * seeded random arrays, and an elementwise closeness assertion that names the failing index.
 */
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { nativeBackendForTests, needNativeOptions } from '../../util/test-skip.js';

export const native = nativeBackendForTests();
/** Test options for a native test: the suite's skip policy (src/util/test-skip.ts). */
export const needNative = needNativeOptions();

/** `n` uniform numbers in [lo, hi), reproducible for a seed. */
export function randArray(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.random();
  return a;
}

/** |a[i] - b[i]| <= atol + rtol * |b[i]| for every finite pair, identical non-finite values, else an assertion naming i. */
export function assertAllClose(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) {
      // infinities must match exactly (sign included), NaN must meet NaN
      assert.ok(Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i])), `${what}[${i}]: got ${a[i]}, expected ${b[i]}`);
      continue;
    }
    const err = Math.abs(a[i] - b[i]);
    assert.ok(err <= atol + rtol * Math.abs(b[i]), `${what}[${i}]: got ${a[i]}, expected ${b[i]} (error ${err})`);
  }
}
