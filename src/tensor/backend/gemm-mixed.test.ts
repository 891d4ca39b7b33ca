/**
 * bf16 compute (GemmArgs.bf16Compute, mixed-precision training): the native GEMM on every ISA path
 * against its reference twin, which rounds A and B to bfloat16 (roundToBf16Daz) and sums in double.
 * On a CPU with avx512_bf16 the automatic and avx512 paths run the vdpbf16ps micro-kernel
 * (native/kernels/gemm_mixed_avx512.cpp); the avx2 and portable caps run their float32 kernels on
 * panels rounded while packing. Errors are bounded by float32 summation over k terms of the rounded
 * operands, far tighter than the bf16 rounding itself, so a path that skipped the rounding fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import type { Backend, GemmArgs } from './backend.js';
import { referenceBackend } from './index.js';
import { roundToBf16Daz } from './reference/gemm.js';
import { BF16_DOT_SKIP, GEMM_ISA_PATHS, native, withGemmIsa } from './kernel-testing.js';
import { nativeInfo, setNativeThreads } from './native.js';

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha?: number;
  beta?: number;
  batch?: number;
}

function makeArgs(c: Case, seed: number): GemmArgs {
  const rng = new Rng(seed);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.random() * 2 - 1);
  const batch = c.batch ?? 1;
  return {
    a: rand(batch * c.m * c.k), b: rand(batch * c.k * c.n), c: rand(batch * c.m * c.n), batch, m: c.m, n: c.n, k: c.k,
    transA: c.transA, transB: c.transB, strideA: c.m * c.k, strideB: c.k * c.n, strideC: c.m * c.n,
    alpha: c.alpha ?? 1, beta: c.beta ?? 0, bf16Compute: true,
  };
}

function run(be: Backend, args: GemmArgs): Float32Array {
  const c = Float32Array.from(args.c);
  be.gemm({ ...args, c });
  return c;
}

/** Native vs the rounded reference: |diff| <= 2e-7 (k + 8) (|alpha| |A~| |B~| + |beta C|) per output. */
function check(c: Case, seed: number): Float32Array {
  const args = makeArgs(c, seed);
  const got = run(native!, args), want = run(referenceBackend, args);
  const abs = (x: Float32Array) => x.map(Math.abs);
  const mag = run(referenceBackend, { ...args, a: abs(roundToBf16Daz(args.a as Float32Array)), b: abs(roundToBf16Daz(args.b as Float32Array)), c: abs(args.c as Float32Array).map((v) => v * Math.abs(args.beta)), alpha: Math.abs(args.alpha), beta: 1, bf16Compute: false });
  const tol = 2e-7 * (c.k + 8);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol * mag[i] + 1e-30)) assert.fail(`${JSON.stringify(c)}: element ${i}: native ${got[i]} vs rounded reference ${want[i]} (|diff| ${err.toExponential(3)}, allowed ${(tol * mag[i]).toExponential(3)})`);
  }
  return got;
}

// odd k (a half-filled last pair), k past the bf16 kc of 384, m past the 240-row block, n past the
// 32-column panel, skinny shapes (bf16 compute runs them through the packed path), threaded sizes
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1], [1, 7, 33], [7, 1, 33], [3, 40, 20], [12, 32, 384], [13, 33, 385], [25, 65, 3],
  [300, 40, 50], [150, 200, 61], [600, 50, 60], [64, 70, 769], [270, 3080, 2],
];

const EXPECTED: Record<string, RegExp> = { auto: /^avx512_bf16$/, avx512: /^avx512_bf16$/, avx2: /^avx2\+fma \(bf16-rounded panels\)$/, portable: /^portable \(bf16-rounded panels\)$/ };

for (const { isa, env, skip } of GEMM_ISA_PATHS) {
  const pathSkip = skip || ((isa === 'auto' || isa === 'avx512') && BF16_DOT_SKIP);
  test(`bf16 compute gemm (${isa}) matches its rounded reference on every transpose, alpha, beta and batch`, { skip: pathSkip }, () => {
    withGemmIsa(env, () => {
      assert.match(nativeInfo()!.bf16Compute, EXPECTED[isa]);
      let seed = 1;
      for (const [m, n, k] of SHAPES)
        for (const transA of [false, true]) for (const transB of [false, true]) check({ m, n, k, transA, transB }, seed++);
      check({ m: 40, n: 50, k: 70, transA: false, transB: true, alpha: 0.5, beta: 1 }, seed++);
      check({ m: 40, n: 50, k: 70, transA: true, transB: false, alpha: -2, beta: 0.25 }, seed++);
      check({ m: 30, n: 20, k: 90, transA: false, transB: false, batch: 3 }, seed++);
    });
  });
}

test('bf16 compute rounds: far from the float32 product, equal for any thread count', { skip: BF16_DOT_SKIP }, () => {
  const c: Case = { m: 96, n: 80, k: 200, transA: false, transB: true };
  const args = makeArgs(c, 77);
  const mixed = check(c, 77);
  const f32 = run(native!, { ...args, bf16Compute: false });
  const maxDiff = mixed.reduce((a, v, i) => Math.max(a, Math.abs(v - f32[i])), 0);
  assert.ok(maxDiff > 1e-3, `bf16 compute should differ from float32 by bf16 rounding (~0.4% of a term); max |diff| ${maxDiff}`);
  const threads = nativeInfo()!.threads;
  try {
    setNativeThreads(1);
    const one = run(native!, args);
    setNativeThreads(2);
    const two = run(native!, args);
    assert.deepEqual(Array.from(one), Array.from(two));
  } finally {
    setNativeThreads(threads);
  }
});

test('bf16 compute reads denormal operands as zero and keeps NaN, as vcvtne2ps2bf16 (every packing path)', { skip: BF16_DOT_SKIP }, () => {
  for (const [transA, transB] of [[false, false], [true, true], [false, true], [true, false]]) {
    const m = 13, n = 33, k = 37;
    const args = makeArgs({ m, n, k, transA, transB }, 5);
    const a = args.a as Float32Array, b = args.b as Float32Array;
    a[0] = 1e-39; // denormal: read as zero, so A(0,0) B(0,0) adds 0, not the 0.3 of float32
    b[0] = 3e38;
    a[a.length - 1] = NaN;
    const got = run(native!, args), want = run(referenceBackend, args);
    got.forEach((v, i) => (Number.isNaN(want[i]) ? assert.ok(Number.isNaN(v), `element ${i} should be NaN`) : assert.ok(Math.abs(v - want[i]) <= 1e-4 * Math.max(1, Math.abs(want[i])), `transA ${transA} transB ${transB} element ${i}: ${v} vs ${want[i]}`)));
  }
});
