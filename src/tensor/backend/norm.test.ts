// RMSNorm kernels: reference against hand-computed values and float64 finite differences; native
// against reference on many shapes; dw accumulation; determinism across calls and thread counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceBackend as ref } from './index.js';
import { nativeInfo, setNativeThreads } from './native.js';
import type { Backend } from './backend.js';
import { native, needNative, randArray, assertAllClose } from './kernel-testing.js';

test('reference rmsnorm forward matches hand-computed values', () => {
  // Row [3, 4]: mean(x^2) = 12.5, rstd = 1/sqrt(12.5) = 0.28284271247461906; w = [1, 2].
  // Row [1, -1] with eps = 0.25: mean = 1, rstd = 1/sqrt(1.25) = 0.8944271909999159.
  const x = new Float64Array([3, 4, 1, -1]), w = new Float64Array([1, 2]);
  const out = new Float64Array(4), rstd = new Float64Array(2);
  ref.rmsnormForward(x.subarray(0, 2), w, out.subarray(0, 2), rstd.subarray(0, 1), 1, 2, 0);
  ref.rmsnormForward(x.subarray(2), w, out.subarray(2), rstd.subarray(1), 1, 2, 0.25);
  assertAllClose(rstd, [0.28284271247461906, 0.8944271909999159], 1e-15, 0, 'rstd');
  assertAllClose(out, [0.848528137423857, 2.2627416997969525, 0.8944271909999159, -1.7888543819998317], 1e-15, 0, 'out');
});

test('reference rmsnorm backward matches float64 finite differences (dx and dw)', () => {
  const rows = 3, dim = 5, eps = 1e-5;
  const x = Float64Array.from(randArray(rows * dim, 1)), w = Float64Array.from(randArray(dim, 2));
  const dy = Float64Array.from(randArray(rows * dim, 3));
  const loss = (xv: Float64Array, wv: Float64Array) => {
    const o = new Float64Array(rows * dim);
    ref.rmsnormForward(xv, wv, o, new Float64Array(rows), rows, dim, eps);
    return o.reduce((s, v, i) => s + v * dy[i], 0);
  };
  const out = new Float64Array(rows * dim), rstd = new Float64Array(rows);
  ref.rmsnormForward(x, w, out, rstd, rows, dim, eps);
  const dx = new Float64Array(rows * dim), dw = new Float64Array(dim).fill(0.5); // dw accumulates onto 0.5
  ref.rmsnormBackward(dy, x, w, rstd, dx, dw, rows, dim);
  const h = 1e-6;
  const fd = (arr: Float64Array, i: number) => {
    const old = arr[i];
    arr[i] = old + h;
    const lp = loss(x, w);
    arr[i] = old - h;
    const lm = loss(x, w);
    arr[i] = old;
    return (lp - lm) / (2 * h);
  };
  assertAllClose(dx, Array.from(x, (_, i) => fd(x, i)), 1e-7, 1e-6, 'dx');
  assertAllClose(dw, Array.from(w, (_, i) => 0.5 + fd(w, i)), 1e-7, 1e-6, 'dw');
});

function run(be: Backend, x: Float32Array, w: Float32Array, dy: Float32Array, dw0: Float32Array, rows: number, dim: number) {
  const out = new Float32Array(rows * dim), rstd = new Float32Array(rows), dx = new Float32Array(rows * dim), dw = dw0.slice();
  be.rmsnormForward(x, w, out, rstd, rows, dim, 1e-6);
  be.rmsnormBackward(dy, x, w, rstd, dx, dw, rows, dim);
  return { out, rstd, dx, dw };
}

test('native rmsnorm matches the reference on 1, 7, 33, 1000 columns', needNative, () => {
  for (const [k, dim] of [1, 7, 33, 1000].entries()) {
    const rows = Math.max(5, Math.ceil(40000 / dim)) + 3;
    const x = randArray(rows * dim, 10 + k, -3, 3), w = randArray(dim, 20 + k), dy = randArray(rows * dim, 30 + k);
    const dw0 = randArray(dim, 40 + k);
    const a = run(native!, x, w, dy, dw0, rows, dim);
    const b = run(ref, x, w, dy, dw0, rows, dim);
    assertAllClose(a.rstd, b.rstd, 0, 1e-6, `rstd ${rows}x${dim}`);
    assertAllClose(a.out, b.out, 1e-6, 1e-5, `out ${rows}x${dim}`);
    assertAllClose(a.dx, b.dx, 1e-5, 1e-4, `dx ${rows}x${dim}`);
    // dw sums up to 40k rows (each term rounded to float32 in native, summed in double): the error
    // bound scales with the sum of |terms| of each column, not with the (cancelling) result.
    for (let j = 0; j < dim; j++) {
      let mag = Math.abs(dw0[j]);
      for (let r = 0; r < rows; r++) mag += Math.abs(dy[r * dim + j] * x[r * dim + j] * b.rstd[r]);
      const err = Math.abs(a.dw[j] - b.dw[j]);
      assert.ok(err <= 1e-6 * mag + 1e-6, `dw ${rows}x${dim}[${j}]: got ${a.dw[j]}, expected ${b.dw[j]} (error ${err}, term magnitude ${mag})`);
    }
  }
});

test('native rmsnorm is deterministic across calls and thread counts', needNative, () => {
  const rows = 500, dim = 300;
  const x = randArray(rows * dim, 50), w = randArray(dim, 51), dy = randArray(rows * dim, 52), dw0 = randArray(dim, 53);
  const first = run(native!, x, w, dy, dw0, rows, dim);
  const again = run(native!, x, w, dy, dw0, rows, dim);
  const threads = nativeInfo()!.threads;
  setNativeThreads(threads === 1 ? 3 : 1);
  let other;
  try {
    other = run(native!, x, w, dy, dw0, rows, dim);
  } finally {
    setNativeThreads(threads);
  }
  for (const key of ['out', 'rstd', 'dx', 'dw'] as const) {
    assert.deepEqual(again[key], first[key], `${key}: repeated call`);
    assert.deepEqual(other[key], first[key], `${key}: other thread count`);
  }
});

test('reference layernorm forward matches hand-computed values', () => {
  // Row [1, 2, 3]: mean 2, var 2/3, rstd = 1/sqrt(2/3) = 1.224744871391589; w = [1, 2, 3], b = [0, 1, -1].
  const x = new Float64Array([1, 2, 3]), w = new Float64Array([1, 2, 3]), b = new Float64Array([0, 1, -1]);
  const out = new Float64Array(3), mean = new Float64Array(1), rstd = new Float64Array(1);
  ref.layernormForward(x, w, b, out, mean, rstd, 1, 3, 0);
  assertAllClose(mean, [2], 1e-15, 0, 'mean');
  assertAllClose(rstd, [1.224744871391589], 1e-15, 0, 'rstd');
  assertAllClose(out, [-1.224744871391589, 1, 2.674234614174767], 1e-14, 0, 'out');
});

test('reference layernorm backward matches float64 finite differences (dx, dw and db)', () => {
  const rows = 3, dim = 5, eps = 1e-5;
  const x = Float64Array.from(randArray(rows * dim, 61)), w = Float64Array.from(randArray(dim, 62)), b = Float64Array.from(randArray(dim, 63));
  const dy = Float64Array.from(randArray(rows * dim, 64));
  const loss = () => {
    const o = new Float64Array(rows * dim);
    ref.layernormForward(x, w, b, o, new Float64Array(rows), new Float64Array(rows), rows, dim, eps);
    return o.reduce((s, v, i) => s + v * dy[i], 0);
  };
  const out = new Float64Array(rows * dim), mean = new Float64Array(rows), rstd = new Float64Array(rows);
  ref.layernormForward(x, w, b, out, mean, rstd, rows, dim, eps);
  const dx = new Float64Array(rows * dim), dw = new Float64Array(dim).fill(0.5), db = new Float64Array(dim).fill(-0.25);
  ref.layernormBackward(dy, x, w, mean, rstd, dx, dw, db, rows, dim);
  const h = 1e-6;
  const fd = (arr: Float64Array, i: number) => {
    const old = arr[i];
    arr[i] = old + h;
    const lp = loss();
    arr[i] = old - h;
    const lm = loss();
    arr[i] = old;
    return (lp - lm) / (2 * h);
  };
  assertAllClose(dx, Array.from(x, (_, i) => fd(x, i)), 1e-7, 1e-6, 'dx');
  assertAllClose(dw, Array.from(w, (_, i) => 0.5 + fd(w, i)), 1e-7, 1e-6, 'dw');
  assertAllClose(db, Array.from(b, (_, i) => -0.25 + fd(b, i)), 1e-7, 1e-6, 'db');
});

function runLn(be: Backend, x: Float32Array, w: Float32Array, b: Float32Array, dy: Float32Array, rows: number, dim: number) {
  const out = new Float32Array(rows * dim), mean = new Float32Array(rows), rstd = new Float32Array(rows);
  const dx = new Float32Array(rows * dim), dw = new Float32Array(dim).fill(0.5), db = new Float32Array(dim).fill(-0.5);
  be.layernormForward(x, w, b, out, mean, rstd, rows, dim, 1e-5);
  be.layernormBackward(dy, x, w, mean, rstd, dx, dw, db, rows, dim);
  return { out, mean, rstd, dx, dw, db };
}

test('native layernorm matches the reference on 1, 7, 33, 1000 columns (offset rows) and is thread-count independent', needNative, () => {
  for (const [k, dim] of [1, 7, 33, 1000].entries()) {
    const rows = Math.max(5, Math.ceil(20000 / dim)) + 3;
    const x = randArray(rows * dim, 70 + k, 2, 6), w = randArray(dim, 80 + k), b = randArray(dim, 90 + k), dy = randArray(rows * dim, 100 + k);
    const a = runLn(native!, x, w, b, dy, rows, dim);
    const r = runLn(ref, x, w, b, dy, rows, dim);
    assertAllClose(a.mean, r.mean, 1e-6, 1e-6, `mean ${rows}x${dim}`);
    assertAllClose(a.out, r.out, 1e-4, 1e-4, `out ${rows}x${dim}`);
    assertAllClose(a.dx, r.dx, 1e-3, 1e-3, `dx ${rows}x${dim}`);
    assertAllClose(a.dw, r.dw, 1e-2, 1e-4, `dw ${rows}x${dim}`);
    assertAllClose(a.db, r.db, 1e-2, 1e-4, `db ${rows}x${dim}`);
  }
  const rows = 300, dim = 200;
  const x = randArray(rows * dim, 5), w = randArray(dim, 6), b = randArray(dim, 7), dy = randArray(rows * dim, 8);
  const first = runLn(native!, x, w, b, dy, rows, dim);
  const threads = nativeInfo()!.threads;
  setNativeThreads(threads === 1 ? 3 : 1);
  try {
    const other = runLn(native!, x, w, b, dy, rows, dim);
    for (const key of ['out', 'mean', 'rstd', 'dx', 'dw', 'db'] as const) assert.deepEqual(other[key], first[key], `${key}: other thread count`);
  } finally {
    setNativeThreads(threads);
  }
});
