/**
 * GEMM conformance: the native kernel (both micro-kernel ISAs) against the reference backend, which
 * accumulates in double precision. Errors are bounded relative to the magnitude of each output
 * (|alpha| * |A| @ |B| + |beta * C|), as float32 accumulation over k terms allows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DTypeError, NativeError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import type { Backend, GemmArgs } from './backend.js';
import { nativeBackendForTests, needNativeOptions } from '../../util/test-skip.js';
import { referenceBackend } from './index.js';
import { nativeInfo, setNativeThreads } from './native.js';
import { GEMM_ISA_PATHS as ISA_PATHS, withGemmIsa as withIsa } from './kernel-testing.js';

const native = nativeBackendForTests();
const { skip: skipNative } = needNativeOptions();

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  batch?: number;
  /** 'a' or 'b': that operand has stride 0 (one matrix broadcast over the batch). */
  broadcast?: 'a' | 'b';
  /** Extra elements between consecutive C matrices (left untouched by the kernel). */
  gapC?: number;
}

function randomArray(n: number, rng: Rng): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.random() * 2 - 1;
  return x;
}

function absArray(x: Float32Array, scale = 1): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.abs(scale * x[i]);
  return y;
}

/** Builds the arguments of a case with random data (C too, so beta matters). */
function makeArgs(c: Case, rng: Rng): GemmArgs {
  const batch = c.batch ?? 1;
  const sizeA = c.m * c.k, sizeB = c.k * c.n;
  const strideA = c.broadcast === 'a' ? 0 : sizeA;
  const strideB = c.broadcast === 'b' ? 0 : sizeB;
  const strideC = c.m * c.n + (c.gapC ?? 0);
  return {
    a: randomArray(strideA * (batch - 1) + sizeA, rng),
    b: randomArray(strideB * (batch - 1) + sizeB, rng),
    c: randomArray(strideC * (batch - 1) + c.m * c.n, rng),
    batch, m: c.m, n: c.n, k: c.k,
    transA: c.transA ?? false, transB: c.transB ?? false,
    strideA, strideB, strideC,
    alpha: c.alpha ?? 1, beta: c.beta ?? 0,
  };
}

function describeCase(c: Case): string {
  return `${c.batch ?? 1}x[${c.m}x${c.k}]${c.transA ? 'T' : ''} @ [${c.k}x${c.n}]${c.transB ? 'T' : ''} alpha=${c.alpha ?? 1} beta=${c.beta ?? 0}` +
    (c.broadcast ? ` broadcast ${c.broadcast}` : '') + (c.gapC ? ` gapC=${c.gapC}` : '');
}

/** Runs `backend` on a copy of args.c and returns the result. */
function run(backend: Backend, args: GemmArgs): Float32Array {
  const c = Float32Array.from(args.c);
  backend.gemm({ ...args, c });
  return c;
}

/** Checks native against the reference on one case; returns the native output. */
function checkCase(c: Case, seed: number): Float32Array {
  const rng = new Rng(seed);
  const args = makeArgs(c, rng);
  const got = run(native!, args);
  const want = run(referenceBackend, args);
  // Magnitude of every output: |alpha| * |A| @ |B| + |beta| * |C| (in double precision).
  const mag = absArray(args.c as Float32Array, args.beta);
  referenceBackend.gemm({ ...args, a: absArray(args.a as Float32Array), b: absArray(args.b as Float32Array), c: mag, alpha: Math.abs(args.alpha), beta: 1 });
  const tol = 2e-7 * (c.k + 8);
  const label = describeCase(c);
  for (let i = 0; i < got.length; i++) {
    const inGap = args.strideC > c.m * c.n && i % args.strideC >= c.m * c.n;
    if (inGap) {
      assert.equal(got[i], args.c[i], `${label}: C gap element ${i} was written`);
      continue;
    }
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol * mag[i] + 1e-30)) {
      assert.fail(`${label}: element ${i}: native ${got[i]} vs reference ${want[i]} (|diff| ${err.toExponential(3)}, allowed ${(tol * mag[i]).toExponential(3)})`);
    }
  }
  return got;
}

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1], [1, 7, 33], [7, 1, 33], [33, 7, 1], [7, 33, 1000], [1000, 7, 33], [33, 1000, 7], [1, 1000, 33],
  [3, 40, 20], [4, 37, 300], [2, 600, 9], [100, 1, 300], [5, 1, 7], // skinny: few rows or one column
  [6, 16, 256], [13, 17, 257], // AVX2 micro-tile (6 x 16), then one past it in every dimension
  [12, 32, 192], [25, 33, 193], // AVX-512 micro-tile (12 x 32, kc 192), then past it
  [300, 40, 50], // more than one A row block
  // The shapes below have m*n*k >= 1.5e6, enough work (3 MFLOP) for gemm.cpp to use threads.
  [150, 200, 60], // threaded, A in one block
  [600, 50, 60], // threaded, several A row blocks with a shared packed B
  [270, 3080, 2], // threaded, more than one B column block
  [1, 3000, 520], [2, 300, 2600], [3000, 1, 520], // skinny and threaded
];


test('reference gemm matches a hand-computed product', () => {
  // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]]; with alpha 2, beta 0.5 and C = 1.
  const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array([5, 6, 7, 8]);
  const args: GemmArgs = { a, b, c: new Float32Array(4).fill(1), batch: 1, m: 2, n: 2, k: 2, transA: false, transB: false, strideA: 0, strideB: 0, strideC: 4, alpha: 2, beta: 0.5 };
  assert.deepEqual(Array.from(run(referenceBackend, args)), [38.5, 44.5, 86.5, 100.5]);
  // A^T @ B^T with the same storage: [[1,3],[2,4]] @ [[5,7],[6,8]] = [[23,31],[34,46]].
  assert.deepEqual(Array.from(run(referenceBackend, { ...args, transA: true, transB: true, alpha: 1, beta: 0 })), [23, 31, 34, 46]);
  if (native) assert.deepEqual(Array.from(run(native, args)), [38.5, 44.5, 86.5, 100.5]);
});


for (const { isa, env, skip } of ISA_PATHS) {
  test(`native gemm (${isa}) matches the reference on all transpose combinations`, { skip }, () => {
    withIsa(env, () => {
      if (isa === 'avx512') assert.equal(nativeInfo()?.isa, 'avx512');
      if (isa === 'avx2') assert.equal(nativeInfo()?.isa, 'avx2+fma');
      if (isa === 'portable') assert.equal(nativeInfo()?.isa, 'portable');
      let seed = 1;
      for (const [m, n, k] of SHAPES) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) checkCase({ m, n, k, transA, transB }, seed++);
        }
      }
    });
  });

  test(`native gemm (${isa}): alpha, beta, k = 0 and NaN in C`, { skip }, () => {
    withIsa(env, () => {
      for (const [alpha, beta] of [[0.5, 0], [-1.5, 1], [1, 0.25], [2, -1], [0, 0.5]]) {
        checkCase({ m: 37, n: 45, k: 300, alpha, beta }, 100);
        checkCase({ m: 9, n: 20, k: 5, transA: true, alpha, beta }, 101);
      }
      // beta = 0 overwrites: NaN already in C must not reach the output.
      for (const [m, n, k] of [[5, 9, 3], [70, 90, 600], [1, 1, 0]]) {
        for (const alpha of [1, 0]) {
          const args = makeArgs({ m, n, k, alpha }, new Rng(7));
          args.c.fill(NaN);
          const got = run(native!, args);
          const want = run(referenceBackend, { ...args, c: new Float32Array(m * n) });
          assert.ok(got.every(Number.isFinite), `NaN propagated from C with beta=0 (m=${m} n=${n} k=${k} alpha=${alpha})`);
          for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])));
        }
      }
      // k = 0: C = beta * C.
      const args = makeArgs({ m: 4, n: 6, k: 0, beta: 0.5 }, new Rng(8));
      assert.deepEqual(run(native!, args), Float32Array.from(args.c, (v) => 0.5 * v));
    });
  });

  test(`native gemm (${isa}): batches with stride-0 broadcast`, { skip }, () => {
    withIsa(env, () => {
      let seed = 200;
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          checkCase({ m: 33, n: 20, k: 70, batch: 3, transA, transB }, seed++);
          checkCase({ m: 33, n: 20, k: 70, batch: 3, broadcast: 'a', transA, transB, beta: 0.5 }, seed++);
          checkCase({ m: 33, n: 20, k: 70, batch: 4, broadcast: 'b', transA, transB }, seed++);
          checkCase({ m: 7, n: 300, k: 40, batch: 2, broadcast: 'b', transA, transB, gapC: 5 }, seed++);
          checkCase({ m: 100, n: 128, k: 64, batch: 5, transA, transB, alpha: 0.125 }, seed++);
        }
      }
    });
  });
}

/** Small-m shapes (decode: x[m, k] @ W^T): every m in 1..8 with odd n and k around the block edges. */
const SMALL_M_NK: Array<[number, number]> = [[1, 1], [7, 33], [33, 7], [1000, 1], [1, 4097], [17, 1000], [1000, 33], [35, 4097]];

for (const isa of ['auto', 'portable'] as const) {
  const env = isa === 'auto' ? undefined : isa;

  test(`native gemm (${isa}): small m (1..8) with odd n and k, both B layouts`, { skip: skipNative }, () => {
    withIsa(env, () => {
      let seed = 300;
      for (let m = 1; m <= 8; m++) {
        for (const [n, k] of SMALL_M_NK) {
          for (const transB of [true, false]) checkCase({ m, n, k, transB }, seed++);
        }
        // beta, alpha and a transposed A on a shape big enough for the threaded path.
        checkCase({ m, n: 1030, k: 515, transB: true, alpha: 0.5, beta: -1 }, seed++);
        checkCase({ m, n: 1030, k: 515, transB: false, alpha: -2, beta: 0.25 }, seed++);
        checkCase({ m, n: 61, k: 130, transA: true, transB: m % 2 === 0, beta: 1 }, seed++);
      }
      // Batched small-m products (one matrix per batch entry, B shared or not).
      checkCase({ m: 3, n: 45, k: 77, batch: 3, transB: true }, seed++);
      checkCase({ m: 6, n: 45, k: 77, batch: 2, broadcast: 'a', transB: false, gapC: 3 }, seed++);
    });
  });
}

test('native gemm small m is bitwise identical across thread counts and calls', { skip: skipNative }, () => {
  const threads = nativeInfo()!.threads;
  try {
    for (let m = 1; m <= 8; m++) {
      // n * k >= 2^18: large enough for the threaded skinny path; n odd so the split is uneven.
      for (const c of [{ m, n: 1001, k: 700, transB: true }, { m, n: 1001, k: 700, transB: false, beta: 0.5 }, { m, n: 37, k: 4097, transB: true }] as Case[]) {
        const args = makeArgs(c, new Rng(40 + m));
        setNativeThreads(1);
        const first = run(native!, args);
        assert.deepEqual(run(native!, args), first, `${describeCase(c)}: repeated call differs`);
        for (const t of [2, 3]) {
          setNativeThreads(t);
          assert.deepEqual(run(native!, args), first, `${describeCase(c)}: ${t} threads differ from 1 thread`);
        }
      }
    }
  } finally {
    setNativeThreads(threads);
  }
});

test('native gemm is deterministic across calls and thread counts', { skip: skipNative }, () => {
  const threads = nativeInfo()!.threads;
  try {
    for (const c of [{ m: 600, n: 100, k: 300 }, { m: 64, n: 700, k: 513, transB: true }, { m: 64, n: 80, k: 100, batch: 6 }, { m: 2, n: 3000, k: 600 }, { m: 3000, n: 1, k: 600, transA: true }] as Case[]) {
      const args = makeArgs(c, new Rng(5));
      setNativeThreads(2);
      const first = run(native!, args);
      for (let rep = 0; rep < 3; rep++) assert.deepEqual(run(native!, args), first, `${describeCase(c)}: repeated call differs`);
      setNativeThreads(1);
      assert.deepEqual(run(native!, args), first, `${describeCase(c)}: 1 thread differs from 2 threads`);
    }
  } finally {
    setNativeThreads(threads);
  }
});

test('native gemm rejects wrong arguments with an exception', { skip: skipNative }, () => {
  const args = makeArgs({ m: 4, n: 5, k: 6 }, new Rng(9));
  assert.throws(() => native!.gemm({ ...args, a: new Float32Array(23) }), (e: unknown) => e instanceof NativeError && /'a' has 23 elements, expected at least 24/.test(e.message));
  assert.throws(() => native!.gemm({ ...args, c: new Float32Array(19) }), NativeError);
  assert.throws(() => native!.gemm({ ...args, batch: 2, strideB: 30 }), NativeError); // b too short for 2 matrices
  assert.throws(() => native!.gemm({ ...args, m: -1 }), NativeError);
  assert.throws(() => native!.gemm({ ...args, a: new Float64Array(24) }), DTypeError);
});
