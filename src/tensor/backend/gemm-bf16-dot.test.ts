/**
 * The opt-in bf16-dot path of the bf16-weight GEMM (GemmBf16Args.bf16Dot, GLMKIT_BF16_DOT=1): the
 * native AVX512_BF16 kernel against its reference twin (activations rounded to bf16 the same way,
 * sums in double: agreement within float32 summation error), against the default float32-activation
 * path (within bf16 rounding of the activations), across thread counts, and its fallback where the
 * path cannot run (ISA capped below AVX-512: bitwise the default path). On a CPU without avx512_bf16
 * the native tests are skipped with that reason printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { f32ToBf16Bits, toHalf } from '../../io/half.js';
import type { GemmBf16Args } from './backend.js';
import { referenceBackend } from './index.js';
import { roundToBf16Daz } from './reference/gemm.js';
import { BF16_DOT_SKIP, GEMM_ISA_PATHS, native, randArray, withGemmIsa } from './kernel-testing.js';
import { nativeInfo, setNativeThreads } from './native.js';

function makeArgs(m: number, n: number, k: number, beta: number, seed: number): GemmBf16Args {
  return { a: randArray(m * k, seed), b: toHalf(randArray(k * n, seed + 1), 'bf16'), c: randArray(m * n, seed + 2), m, n, k, transB: true, beta };
}

function run(be: typeof referenceBackend, args: GemmBf16Args): Float32Array {
  const c = Float32Array.from(args.c);
  be.gemmBf16({ ...args, c });
  return c;
}

/** |A| @ |W|^T + |beta C| per output: the scale of every error bound below. */
function magnitude(args: GemmBf16Args): Float32Array {
  const absB = Uint16Array.from(args.b, (h) => h & 0x7fff);
  return run(referenceBackend, { ...args, a: args.a.map(Math.abs), b: absB, c: args.c.map((v) => Math.abs(args.beta * v)), beta: 1, bf16Dot: false });
}

test('roundToBf16Daz: nearest even like f32ToBf16Bits on normal numbers, denormals to signed zero, NaN stays NaN', () => {
  const xs = new Float32Array([1 + 2 ** -8, 1 + 2 ** -8 + 2 ** -12, 1 + 3 * 2 ** -8, -3.14159, 65504.7, 1e-39, -1e-39, NaN, Infinity, -0]);
  const got = roundToBf16Daz(xs);
  assert.equal(got[0], 1); // halfway: to even
  assert.equal(got[1], 1 + 2 ** -7); // past halfway: up
  assert.equal(got[2], 1 + 2 ** -6); // halfway between 1+2^-7 and 1+2^-6: to even (up)
  for (const i of [3, 4, 8]) assert.equal(got[i], new Float32Array(new Uint32Array([f32ToBf16Bits(xs[i]) << 16]).buffer)[0], `element ${i}`);
  assert.ok(Object.is(got[5], 0) && Object.is(got[6], -0), `denormals: ${got[5]}, ${got[6]}`);
  assert.ok(Number.isNaN(got[7]) && Object.is(got[9], -0));
});

test('reference gemmBf16 with bf16Dot rounds the activations (hand-computed) and leaves transB=false alone', () => {
  // x = [1 + 2^-8 + 2^-12, 3] rounds to [1 + 2^-7, 3]; W = [[1, 1]]: 4 + 2^-7 instead of 4 + 2^-8 + 2^-12
  const a = new Float32Array([1 + 2 ** -8 + 2 ** -12, 3]);
  const args: GemmBf16Args = { a, b: toHalf(new Float32Array([1, 1]), 'bf16'), c: new Float32Array(1), m: 1, n: 1, k: 2, transB: true, beta: 0 };
  assert.equal(run(referenceBackend, { ...args, bf16Dot: true })[0], 4 + 2 ** -7);
  assert.equal(run(referenceBackend, args)[0], Math.fround(4 + 2 ** -8 + 2 ** -12));
  assert.equal(run(referenceBackend, { ...args, transB: false, n: 1, bf16Dot: true })[0], Math.fround(4 + 2 ** -8 + 2 ** -12));
});

// m <= 8: decode; m > 8: prefill (row blocks of 8, and 64-column blocks); m > 256: A rounded in two
// passes; n * k >= 262144: threaded
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1], [1, 7, 15], [1, 9, 32], [2, 33, 17], [3, 5, 100], [4, 64, 257], [5, 3, 31], [6, 17, 33], [7, 2, 64], [8, 31, 129],
  [9, 20, 40], [17, 70, 33], [40, 130, 70], [300, 37, 45], [1, 700, 400], [8, 520, 520], [20, 600, 512],
];

test('native bf16-dot gemmBf16 (avx512_bf16) matches its reference twin and stays within bf16 rounding of the default path', { skip: BF16_DOT_SKIP }, () => {
  withGemmIsa(undefined, () => {
    assert.equal(nativeInfo()?.bf16Dot, 'avx512_bf16');
    let seed = 5;
    for (const [m, n, k] of SHAPES) {
      for (const beta of m * n * k > 1e5 ? [0.5] : [0, 0.5]) {
        const args = makeArgs(m, n, k, beta, (seed += 3));
        const got = run(native!, { ...args, bf16Dot: true });
        const twin = run(referenceBackend, { ...args, bf16Dot: true });
        const f32 = run(native!, args);
        const mag = magnitude(args);
        const tol = 2e-7 * (k + 8);
        let maxVsF32 = 0;
        for (let i = 0; i < got.length; i++) {
          const label = `[${m}x${k}] @ bf16[${n}x${k}]T beta=${beta}: element ${i}`;
          const e = Math.abs(got[i] - twin[i]);
          if (!(e <= tol * mag[i] + 1e-30)) assert.fail(`${label}: native ${got[i]} vs twin ${twin[i]} (|diff| ${e.toExponential(3)}, bound ${(tol * mag[i]).toExponential(3)})`);
          const d = Math.abs(got[i] - f32[i]);
          // each rounded activation is within 2^-9 relative of the float32 one
          if (!(d <= (2 ** -9 + tol) * mag[i] + 1e-30)) assert.fail(`${label}: bf16 dot ${got[i]} vs float32 path ${f32[i]} (|diff| ${d.toExponential(3)})`);
          maxVsF32 = Math.max(maxVsF32, d / (mag[i] + 1e-30));
        }
        if (k >= 32) assert.ok(maxVsF32 > 1e-5, `[${m}x${k}]: the bf16-dot result equals the float32 path (activations not rounded?)`);
      }
    }
  });
});

test('native bf16-dot gemmBf16 is bitwise identical across thread counts', { skip: BF16_DOT_SKIP }, () => {
  const before = nativeInfo()?.threads ?? 1;
  for (const [m, n, k] of [[1, 2000, 300], [12, 1100, 520]] as const) {
    const args = { ...makeArgs(m, n, k, 0, 11), bf16Dot: true };
    try {
      setNativeThreads(1);
      const one = run(native!, args);
      setNativeThreads(2);
      const two = run(native!, args);
      assert.deepEqual(Array.from(two), Array.from(one), `[${m}x${k}] bf16 dot differs between 1 and 2 threads`);
    } finally {
      setNativeThreads(before);
    }
  }
});

test('bf16Dot falls back to the default path, bitwise, when GLMKIT_GEMM_ISA caps the ISA below AVX-512, and is ignored without transB', { skip: GEMM_ISA_PATHS[0].skip }, () => {
  for (const env of ['avx2', 'portable']) {
    withGemmIsa(env, () => {
      assert.match(nativeInfo()?.bf16Dot ?? '', /^off \(ISA capped below avx512\)$/);
      const args = makeArgs(3, 40, 70, 0.5, 21);
      assert.deepEqual(Array.from(run(native!, { ...args, bf16Dot: true })), Array.from(run(native!, args)), `${env}: bf16Dot changed the result`);
    });
  }
  const args = { ...makeArgs(3, 40, 70, 0, 23), transB: false };
  assert.deepEqual(Array.from(run(native!, { ...args, bf16Dot: true })), Array.from(run(native!, args)), 'transB=false: bf16Dot changed the result');
});
