/**
 * The bf16-weight GEMM: the native kernel on every ISA path (skinny decode kernels and the chunked
 * convert-then-GEMM path) against the reference twin, plus the identity that makes bf16 storage
 * exact to reason about: with B's values already bf16, the result equals the float32 GEMM's within
 * float32 rounding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHalf } from '../../io/half.js';
import type { GemmBf16Args } from './backend.js';
import { referenceBackend } from './index.js';
import { GEMM_ISA_PATHS, native, randArray, withGemmIsa } from './kernel-testing.js';
import { nativeInfo, setNativeThreads } from './native.js';

interface Case {
  m: number;
  n: number;
  k: number;
  transB: boolean;
  beta?: number;
}

function makeArgs(c: Case, seed: number): GemmBf16Args {
  return {
    a: randArray(c.m * c.k, seed),
    b: toHalf(randArray(c.k * c.n, seed + 1), 'bf16'),
    c: randArray(c.m * c.n, seed + 2),
    m: c.m, n: c.n, k: c.k, transB: c.transB, beta: c.beta ?? 0,
  };
}

function run(be: typeof referenceBackend, args: GemmBf16Args): Float32Array {
  const c = Float32Array.from(args.c);
  be.gemmBf16({ ...args, c });
  return c;
}

/** |native - reference| <= 2e-7 (k + 8) * (|A| @ |B| + |beta C|) for every output. */
const expected = new Map<string, { want: Float32Array; mag: Float32Array }>();

function check(c: Case, seed: number): void {
  const args = makeArgs(c, seed);
  const got = run(native!, args);
  const key = JSON.stringify([c, seed]);
  const { want, mag } = expected.get(key) ?? expectedOf(c, args);
  expected.set(key, { want, mag });
  const tol = 2e-7 * (c.k + 8);
  const label = `[${c.m}x${c.k}] @ bf16[${c.transB ? `${c.n}x${c.k}]T` : `${c.k}x${c.n}]`} beta=${c.beta ?? 0}`;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol * mag[i] + 1e-30)) assert.fail(`${label}: element ${i}: native ${got[i]} vs reference ${want[i]} (|diff| ${err.toExponential(3)})`);
  }
}

/** The reference result and the magnitude |A| @ |B| + |beta C| of every output (computed once per case). */
function expectedOf(c: Case, args: GemmBf16Args): { want: Float32Array; mag: Float32Array } {
  const want = run(referenceBackend, args);
  const absB = toHalf(Float32Array.from(new Float32Array(new Uint32Array(Array.from(args.b, (h) => h << 16)).buffer), Math.abs), 'bf16');
  const mag = run(referenceBackend, { ...args, a: args.a.map(Math.abs), b: absB, c: args.c.map((v) => Math.abs((c.beta ?? 0) * v)), beta: 1 });
  return { want, mag };
}

test('reference gemmBf16 matches a hand-computed product (bf16 values are exact here)', () => {
  // [[1, 2], [3, 4]] @ W^T with W = [[0.5, -1], [2, 0.25]]: [[-1.5, 2.5], [-2.5, 7]]; then + 0.5 * C (C = 1)
  const args: GemmBf16Args = { a: new Float32Array([1, 2, 3, 4]), b: toHalf(new Float32Array([0.5, -1, 2, 0.25]), 'bf16'), c: new Float32Array(4).fill(1), m: 2, n: 2, k: 2, transB: true, beta: 0.5 };
  assert.deepEqual(Array.from(run(referenceBackend, args)), [-1, 3, -2, 7.5]);
  // B not transposed: [[1, 2], [3, 4]] @ [[0.5, -1], [2, 0.25]] = [[4.5, -0.5], [9.5, -2]]
  assert.deepEqual(Array.from(run(referenceBackend, { ...args, transB: false, beta: 0 })), [4.5, -0.5, 9.5, -2]);
});

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1], [1, 7, 15], [1, 9, 16], [2, 33, 17], [3, 5, 100], [4, 64, 257], [5, 3, 31], [6, 17, 33], [7, 2, 64], [8, 31, 129],
  [9, 20, 40], [40, 33, 70], // past the skinny limit: the chunked path
  [1, 700, 400], [8, 520, 520], // threaded skinny (n * k >= 262144)
  [9, 2100, 520], // chunked path with two chunks of k (n * kc <= 2^20)
];

for (const { isa, env, skip } of GEMM_ISA_PATHS) {
  test(`native gemmBf16 (${isa}) matches the reference, both layouts, beta 0 and 0.5`, { skip }, () => {
    withGemmIsa(env, () => {
      if (env === 'avx512') assert.equal(nativeInfo()?.bf16Isa, 'avx512');
      if (env === 'avx2') assert.equal(nativeInfo()?.bf16Isa, 'avx2+fma');
      if (env === 'portable') assert.equal(nativeInfo()?.bf16Isa, 'portable');
      let seed = 1;
      for (const [m, n, k] of SHAPES) {
        const betas = m * n * k > 1e5 ? [0.5] : [0, 0.5];
        for (const transB of [true, false]) for (const beta of betas) check({ m, n, k, transB, beta }, (seed += 3));
      }
    });
  });
}

test('native gemmBf16 equals the float32 GEMM on the widened weights (within float32 rounding), and ignores NaN in C when beta is 0', { skip: GEMM_ISA_PATHS[0].skip }, () => {
  for (const [m, n, k] of [[1, 300, 257], [30, 40, 50]] as const) {
    const args = makeArgs({ m, n, k, transB: true }, 7);
    const wide = new Float32Array(new Uint32Array(Array.from(args.b, (h) => h << 16)).buffer);
    const f32 = new Float32Array(m * n);
    native!.gemm({ a: args.a, b: wide, c: f32, batch: 1, m, n, k, transA: false, transB: true, strideA: 0, strideB: 0, strideC: m * n, alpha: 1, beta: 0 });
    const got = run(native!, { ...args, c: new Float32Array(m * n).fill(Number.NaN) });
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - f32[i]) <= 1e-5 * (1 + Math.abs(f32[i])), `[${m}x${k}] element ${i}: ${got[i]} vs ${f32[i]}`);
  }
});

test('native gemmBf16 is bitwise identical across thread counts', { skip: GEMM_ISA_PATHS[0].skip }, () => {
  const before = nativeInfo()?.threads ?? 1;
  for (const c of [{ m: 3, n: 2000, k: 300, transB: true }, { m: 20, n: 1100, k: 1000, transB: false }]) {
    const args = makeArgs(c, 11);
    try {
      setNativeThreads(1);
      const one = run(native!, args);
      setNativeThreads(2);
      const two = run(native!, args);
      assert.deepEqual(Array.from(two), Array.from(one), `[${c.m}x${c.k}] @ bf16 differs between 1 and 2 threads`);
    } finally {
      setNativeThreads(before);
    }
  }
});

test('native gemmBf16 refuses a Float32Array where bf16 bits are expected', { skip: GEMM_ISA_PATHS[0].skip }, () => {
  const args = makeArgs({ m: 1, n: 2, k: 2, transB: true }, 3);
  assert.throws(() => native!.gemmBf16({ ...args, b: new Float32Array(4) as unknown as Uint16Array }), /Uint16Array/);
});
