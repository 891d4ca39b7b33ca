/**
 * Helpers shared by the kernel tests (native vs reference): the native backend (or a skip reason),
 * seeded random arrays, and an elementwise closeness assertion that names the failing index.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../../util/rng.js';
import { nativeBackendForTests, needNativeOptions } from '../../util/test-skip.js';
import { nativeInfo, setNativeThreads } from './native.js';

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

/** Every GEMM path: the automatic choice, each SIMD path the CPU has (a missing one skips, saying so), portable. */
const cpuFlags = (() => {
  try {
    return new Set((readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags')) ?? '').split(':')[1]?.trim().split(/\s+/));
  } catch {
    return new Set<string>();
  }
})();
export const GEMM_ISA_PATHS = [
  { isa: 'auto', env: undefined, skip: needNative.skip },
  { isa: 'avx512', env: 'avx512', skip: needNative.skip || (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => cpuFlags.has(f)) ? false : 'this CPU lacks AVX-512F/BW/VL/DQ') },
  { isa: 'avx2', env: 'avx2', skip: needNative.skip || (cpuFlags.has('avx2') && cpuFlags.has('fma') ? false : 'this CPU lacks AVX2/FMA') },
  { isa: 'portable', env: 'portable', skip: needNative.skip },
] as const;

/** Skip reason for the AVX512_BF16 (bf16-dot) kernel tests: false where the CPU has avx512_bf16 and AVX-512F/BW/VL/DQ. */
export const BF16_DOT_SKIP: string | false = GEMM_ISA_PATHS[1].skip || (cpuFlags.has('avx512_bf16') ? false : 'this CPU lacks avx512_bf16 (lscpu): the bf16-dot kernel cannot run here');

/** Every kernel path for GLMKIT_ISA (which caps the GEMMs and the vector kernels alike): same rows as GEMM_ISA_PATHS. */
export const ISA_PATHS = GEMM_ISA_PATHS;

/**
 * Runs fn with GLMKIT_ISA set as given (undefined: automatic choice), restoring it after. The addon
 * re-reads it at every call, so every kernel in fn runs on that path (or the next one the CPU has).
 */
export function withIsa<T>(isa: string | undefined, fn: () => T): T {
  return withEnv('GLMKIT_ISA', isa, fn);
}

/**
 * Runs fn with GLMKIT_GEMM_ISA set as given (undefined: automatic choice) and 2 native threads (so
 * the threaded paths run whatever GLMKIT_THREADS says), restoring both after.
 */
export function withGemmIsa<T>(isa: string | undefined, fn: () => T): T {
  const threads = nativeInfo()?.threads ?? 1;
  setNativeThreads(2);
  try {
    return withEnv('GLMKIT_GEMM_ISA', isa, fn);
  } finally {
    setNativeThreads(threads);
  }
}

/** Runs fn with environment variable `name` set to `value` (undefined: unset), restoring it after (the kernels read their switches per call). */
export function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const prev = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return fn();
  } finally {
    if (prev === undefined) delete process.env[name];
    else process.env[name] = prev;
  }
}
