// Softmax, log-softmax and cross-entropy kernels: reference against hand-computed values and float64
// finite differences; native against reference on many shapes; non-finite inputs; ignore index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlmkitError } from '../../errors.js';
import { referenceBackend as ref } from './index.js';
import type { Backend } from './backend.js';
import { native, needNative, randArray, assertAllClose } from './kernel-testing.js';

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
function rng(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0;
  return (lo = -1, hi = 1) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return lo + (hi - lo) * u;
  };
}

test('reference softmax / log-softmax match hand-computed values', () => {
  // [0, ln 3] -> [1/4, 3/4];  [1, 2, 3] -> e^k / (e + e^2 + e^3) = [0.0900.., 0.2447.., 0.6652..].
  const x = new Float64Array([0, Math.log(3)]);
  const y = new Float64Array(2);
  ref.softmaxForward(x, y, 1, 2);
  assertAllClose(y, [0.25, 0.75], 1e-15, 0, 'softmax');
  ref.logSoftmaxForward(x, y, 1, 2);
  assertAllClose(y, [Math.log(0.25), Math.log(0.75)], 1e-15, 0, 'logSoftmax');
  const x3 = new Float64Array([1, 2, 3, 1001, 1002, 1003]); // shift invariance: same probabilities
  const y3 = new Float64Array(6);
  ref.softmaxForward(x3, y3, 2, 3);
  const p = [0.09003057317038046, 0.24472847105479764, 0.6652409557748219];
  // x - max loses ~1e-13 of 1003 in double, hence the looser tolerance.
  assertAllClose(y3, [...p, ...p], 1e-13, 0, 'softmax [1,2,3]');
  // In place (out aliases x).
  ref.softmaxForward(x3, x3, 2, 3);
  assertAllClose(x3, [...p, ...p], 1e-13, 0, 'softmax in place');
});

test('reference cross-entropy matches hand-computed values, ignore index', () => {
  // logits [0, ln 3]: p = [1/4, 3/4]. Target 0: loss = ln 4; target 1: loss = ln(4/3). Row 2 ignored.
  const logits = new Float64Array([0, Math.log(3), 0, Math.log(3), 5, 7]);
  const targets = new Int32Array([0, 1, -100]);
  const losses = new Float64Array(3).fill(9), lse = new Float64Array(3);
  ref.crossEntropyForward(logits, targets, losses, lse, 3, 2, -100);
  assertAllClose(losses, [Math.log(4), Math.log(4 / 3), 0], 1e-15, 0, 'losses');
  assertAllClose(lse, [Math.log(4), Math.log(4), 7 + Math.log(1 + Math.exp(-2))], 1e-15, 1e-15, 'lse');
  const dloss = new Float64Array([2, 1, 1]);
  const dlogits = new Float64Array(6).fill(9);
  ref.crossEntropyBackward(logits, targets, lse, dloss, dlogits, 3, 2, -100);
  assertAllClose(dlogits, [2 * (0.25 - 1), 2 * 0.75, 0.25, 0.75 - 1, 0, 0], 1e-15, 0, 'dlogits');
});

/** Central finite differences of L(x) = sum(w * f(x)) in float64, compared to the analytic dx. */
function checkGrad(fwd: (x: Float64Array) => Float64Array, analytic: Float64Array, x: Float64Array, w: Float64Array, what: string): void {
  const h = 1e-6;
  const num = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    x[i] = old + h;
    const fp = fwd(x);
    x[i] = old - h;
    const fm = fwd(x);
    x[i] = old;
    let d = 0;
    for (let j = 0; j < fp.length; j++) d += w[j] * (fp[j] - fm[j]);
    num[i] = d / (2 * h);
  }
  assertAllClose(analytic, num, 1e-7, 1e-6, what);
}

test('reference softmax, log-softmax and cross-entropy backward match float64 finite differences', () => {
  const rows = 3, cols = 5, n = rows * cols;
  const x = Float64Array.from(randArray(n, 1));
  const dy = Float64Array.from(randArray(n, 2));
  const y = new Float64Array(n), dx = new Float64Array(n);

  const sm = (v: Float64Array) => { const o = new Float64Array(n); ref.softmaxForward(v, o, rows, cols); return o; };
  ref.softmaxForward(x, y, rows, cols);
  ref.softmaxBackward(y, dy, dx, rows, cols);
  checkGrad(sm, dx.slice(), x, dy, 'softmax dx');

  const lsm = (v: Float64Array) => { const o = new Float64Array(n); ref.logSoftmaxForward(v, o, rows, cols); return o; };
  ref.logSoftmaxForward(x, y, rows, cols);
  ref.logSoftmaxBackward(y, dy, dx, rows, cols);
  checkGrad(lsm, dx.slice(), x, dy, 'log-softmax dx');

  const targets = new Int32Array([4, -1, 0]);
  const dloss = new Float64Array([0.7, 1.3, -0.4]);
  const ce = (v: Float64Array) => { const l = new Float64Array(rows); ref.crossEntropyForward(v, targets, l, new Float64Array(rows), rows, cols, -1); return l; };
  const lse = new Float64Array(rows), losses = new Float64Array(rows);
  ref.crossEntropyForward(x, targets, losses, lse, rows, cols, -1);
  ref.crossEntropyBackward(x, targets, lse, dloss, dx, rows, cols, -1);
  checkGrad(ce, dx.slice(), x, dloss, 'cross-entropy dlogits');
});

/** Rows chosen so that every size is split across threads (>= ~40k elements). */
const SIZES = [1, 7, 33, 1000].map((cols) => ({ cols, rows: Math.max(5, Math.ceil(40000 / cols)) + 3 }));

function bothRowwise(be: Backend, x: Float32Array, rows: number, cols: number, dy: Float32Array) {
  const n = rows * cols;
  const sm = new Float32Array(n), lsm = new Float32Array(n), dsm = new Float32Array(n), dlsm = new Float32Array(n);
  be.softmaxForward(x, sm, rows, cols);
  be.softmaxBackward(sm, dy, dsm, rows, cols);
  be.logSoftmaxForward(x, lsm, rows, cols);
  be.logSoftmaxBackward(lsm, dy, dlsm, rows, cols);
  return { sm, lsm, dsm, dlsm };
}

test('native softmax / log-softmax match the reference on 1, 7, 33, 1000 columns', needNative, () => {
  for (const [k, { rows, cols }] of SIZES.entries()) {
    const x = randArray(rows * cols, 10 + k, -8, 8), dy = randArray(rows * cols, 20 + k);
    const a = bothRowwise(native!, x, rows, cols, dy);
    const b = bothRowwise(ref, x, rows, cols, dy);
    assertAllClose(a.sm, b.sm, 1e-7, 1e-5, `softmax ${rows}x${cols}`);
    assertAllClose(a.lsm, b.lsm, 2e-6, 1e-6, `logSoftmax ${rows}x${cols}`);
    assertAllClose(a.dsm, b.dsm, 1e-6, 1e-4, `softmaxBackward ${rows}x${cols}`);
    assertAllClose(a.dlsm, b.dlsm, 1e-5, 1e-4, `logSoftmaxBackward ${rows}x${cols}`);
    // In place: out aliases x.
    const xi = x.slice();
    native!.softmaxForward(xi, xi, rows, cols);
    assert.deepEqual(xi, a.sm, 'in-place softmax equals out-of-place');
    const xl = x.slice();
    native!.logSoftmaxForward(xl, xl, rows, cols);
    assert.deepEqual(xl, a.lsm, 'in-place log-softmax equals out-of-place');
  }
});

function ceBoth(be: Backend, x: Float32Array, t: Int32Array, dloss: Float32Array, rows: number, cols: number, ignore: number) {
  const losses = new Float32Array(rows).fill(123), lse = new Float32Array(rows), dlogits = new Float32Array(rows * cols).fill(123);
  be.crossEntropyForward(x, t, losses, lse, rows, cols, ignore);
  be.crossEntropyBackward(x, t, lse, dloss, dlogits, rows, cols, ignore);
  return { losses, lse, dlogits };
}

test('native cross-entropy matches the reference, with ignored rows, on 1, 7, 33, 1000 columns', needNative, () => {
  for (const [k, { rows, cols }] of SIZES.entries()) {
    const r = rng(30 + k);
    const x = randArray(rows * cols, 40 + k, -10, 10);
    const t = Int32Array.from({ length: rows }, () => (r() < -0.6 ? -100 : Math.floor(r(0, cols))));
    const dloss = randArray(rows, 50 + k, 0, 2);
    const a = ceBoth(native!, x, t, dloss, rows, cols, -100);
    const b = ceBoth(ref, x, t, dloss, rows, cols, -100);
    // lse is stored in float32: one ulp of |lse| ~ 10 is ~1e-6, which bounds the agreement of
    // loss and of p - 1 at the target (times dloss <= 2).
    assertAllClose(a.losses, b.losses, 2e-6, 1e-6, `losses ${rows}x${cols}`);
    assertAllClose(a.lse, b.lse, 2e-6, 2e-7, `lse ${rows}x${cols}`);
    assertAllClose(a.dlogits, b.dlogits, 4e-6, 1e-5, `dlogits ${rows}x${cols}`);
    for (let i = 0; i < rows; i++) {
      if (t[i] !== -100) continue;
      assert.equal(a.losses[i], 0, 'ignored row has loss 0');
      assert.ok(Number.isFinite(a.lse[i]) && a.lse[i] !== 0, 'ignored row still has its lse written');
      for (let j = 0; j < cols; j++) assert.equal(a.dlogits[i * cols + j], 0, 'ignored row has zero gradient');
    }
  }
});

test('native kernels are deterministic across repeated calls and thread counts', needNative, async () => {
  const { setNativeThreads, nativeInfo } = await import('./native.js');
  const rows = 300, cols = 1000;
  const x = randArray(rows * cols, 60, -20, 20), dy = randArray(rows * cols, 61);
  const t = Int32Array.from({ length: rows }, (_, i) => (i * 37) % cols);
  const dloss = randArray(rows, 62, 0, 1);
  const threads = nativeInfo()!.threads;
  const first = { ...bothRowwise(native!, x, rows, cols, dy), ...ceBoth(native!, x, t, dloss, rows, cols, -100) };
  const again = { ...bothRowwise(native!, x, rows, cols, dy), ...ceBoth(native!, x, t, dloss, rows, cols, -100) };
  setNativeThreads(threads === 1 ? 3 : 1);
  try {
    const other = { ...bothRowwise(native!, x, rows, cols, dy), ...ceBoth(native!, x, t, dloss, rows, cols, -100) };
    for (const key of Object.keys(first) as (keyof typeof first)[]) {
      assert.deepEqual(again[key], first[key], `${key}: repeated call`);
      assert.deepEqual(other[key], first[key], `${key}: other thread count`);
    }
  } finally {
    setNativeThreads(threads);
  }
});

test('softmax and cross-entropy on extreme and non-finite inputs agree across backends', needNative, () => {
  const NI = -Infinity;
  const rowsData = [
    [1000, 0, -1000, 88, 89],
    [-1e30, -1e30 + 1e24, -1e30, -1e30, -1e30],
    [NI, 0, 1, NI, -200],
    [NI, NI, NI, NI, NI], // no mass: softmax 0, log-softmax -inf, lse -inf
    [-87.5, -103.9, -104.5, -150, -88.7],
    [3e38, 3e38, -3e38, 0, 1],
    [Infinity, 0, 0, 0, 0], // NaN row
    [NaN, NI, NI, NI, NI], // NaN row
  ];
  const rows = rowsData.length, cols = 5;
  const x = Float32Array.from(rowsData.flat());
  const dy = randArray(rows * cols, 70);
  const a = bothRowwise(native!, x, rows, cols, dy);
  const b = bothRowwise(ref, x, rows, cols, dy);
  assertAllClose(a.sm, b.sm, 1e-7, 1e-6, 'softmax extreme');
  assertAllClose(a.lsm, b.lsm, 1e-6, 1e-6, 'log-softmax extreme');
  assert.deepEqual(Array.from(a.sm.subarray(15, 20)), [0, 0, 0, 0, 0], 'all -inf row: softmax is 0');
  assert.deepEqual(Array.from(a.lsm.subarray(15, 20)), [NI, NI, NI, NI, NI], 'all -inf row: log-softmax is -inf');
  assert.ok(a.sm.subarray(30, 40).every(Number.isNaN), '+inf or NaN in a row makes it NaN');
  assert.equal(a.sm[0], 1, 'softmax([1000, 0, ...]) puts all mass on 1000');
  assert.equal(a.sm[10], 0, 'exp(-inf) = 0');

  // Cross-entropy: target at a -inf logit -> +inf; all -inf row -> +inf (or 0 when ignored).
  const t = new Int32Array([0, 1, 0, 2, 0, 4, 1, 1]);
  const dloss = new Float32Array(rows).fill(1);
  const ca = ceBoth(native!, x, t, dloss, rows, cols, -100);
  const cb = ceBoth(ref, x, t, dloss, rows, cols, -100);
  assertAllClose(ca.losses, cb.losses, 1e-5, 1e-6, 'losses extreme');
  assertAllClose(ca.lse, cb.lse, 1e-5, 1e-6, 'lse extreme');
  assertAllClose(ca.dlogits, cb.dlogits, 1e-6, 1e-6, 'dlogits extreme');
  assert.equal(ca.losses[2], Infinity, 'target logit -inf: loss +inf');
  assert.equal(ca.losses[3], Infinity, 'all -inf row: loss +inf');
  assert.equal(ca.lse[3], NI, 'all -inf row: lse -inf');
  assert.deepEqual(Array.from(ca.dlogits.subarray(15, 20)), [0, 0, -1, 0, 0], 'all -inf row: gradient -dloss at the target');
  assert.ok(Number.isNaN(ca.losses[6]) && Number.isNaN(ca.losses[7]), 'NaN rows give NaN loss');
});

test('an out-of-range target is a GlmkitError on both backends, not a crash', () => {
  const rows = 2, cols = 3;
  const x = new Float32Array(rows * cols), l = new Float32Array(rows), lse = new Float32Array(rows), d = new Float32Array(rows * cols);
  for (const be of native ? [ref, native] : [ref]) {
    for (const bad of [3, -1, 1 << 30]) {
      const t = new Int32Array([0, bad]);
      const isTargetError = (e: unknown) => e instanceof GlmkitError && /target/.test((e as Error).message);
      assert.throws(() => be.crossEntropyForward(x, t, l, lse, rows, cols, -100), isTargetError, `${be.name} forward, target ${bad}`);
      assert.throws(() => be.crossEntropyBackward(x, t, lse, l, d, rows, cols, -100), isTargetError, `${be.name} backward, target ${bad}`);
    }
  }
});
