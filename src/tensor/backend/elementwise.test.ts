// SwiGLU and embedding kernels: reference against hand-computed values and float64 finite
// differences; native against reference; duplicate ids accumulate; bad ids throw (not crash).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlmkitError } from '../../errors.js';
import { referenceBackend as ref } from './index.js';
import { nativeInfo, setNativeThreads } from './native.js';
import type { Backend } from './backend.js';
import { native, needNative, randArray, assertAllClose } from './kernel-testing.js';

test('reference swiglu matches hand-computed values', () => {
  // One row, inner = 3: gate = [0, 1, -1], up = [5, 2, 3].
  // silu(0) = 0; silu(1) = 1/(1+e^-1) = 0.7310585786300049; silu(-1) = -1/(1+e) = -0.2689414213699951.
  const x = new Float64Array([0, 1, -1, 5, 2, 3]);
  const out = new Float64Array(3);
  ref.swigluForward(x, out, 1, 3);
  assertAllClose(out, [0, 1.4621171572600098, -0.8068242641099853], 1e-15, 0, 'out');
  // d/dg silu(g) at 0 is 1/2, so d gate[0] = dout * up * 0.5 = 1 * 5 * 0.5; d up[0] = silu(0) = 0.
  const dx = new Float64Array(6);
  ref.swigluBackward(x, new Float64Array([1, 0, 0]), dx, 1, 3);
  assertAllClose(dx, [2.5, 0, 0, 0, 0, 0], 1e-15, 0, 'dx');
});

test('reference swiglu backward matches float64 finite differences', () => {
  const rows = 3, inner = 4;
  const x = Float64Array.from(randArray(rows * 2 * inner, 1, -4, 4)), dout = Float64Array.from(randArray(rows * inner, 2));
  const dx = new Float64Array(rows * 2 * inner);
  ref.swigluBackward(x, dout, dx, rows, inner);
  const loss = () => {
    const o = new Float64Array(rows * inner);
    ref.swigluForward(x, o, rows, inner);
    return o.reduce((s, v, i) => s + v * dout[i], 0);
  };
  const h = 1e-6;
  const fd = Array.from(x, (_, i) => {
    const old = x[i];
    x[i] = old + h;
    const lp = loss();
    x[i] = old - h;
    const lm = loss();
    x[i] = old;
    return (lp - lm) / (2 * h);
  });
  assertAllClose(dx, fd, 1e-7, 1e-6, 'dx');
});

test('native swiglu matches the reference on 1, 7, 33, 1000 columns, including saturated gates', needNative, () => {
  for (const [k, inner] of [1, 7, 33, 1000].entries()) {
    const rows = Math.max(5, Math.ceil(40000 / inner)) + 3;
    const x = randArray(rows * 2 * inner, 10 + k, -12, 12);
    x[0] = -200; // sigmoid underflows to 0
    x[Math.min(1, inner - 1) + 2 * inner] = 200; // sigmoid is exactly 1
    const dout = randArray(rows * inner, 20 + k);
    const outs = [native!, ref].map((be: Backend) => {
      const out = new Float32Array(rows * inner), dx = new Float32Array(rows * 2 * inner).fill(7);
      be.swigluForward(x, out, rows, inner);
      be.swigluBackward(x, dout, dx, rows, inner);
      return { out, dx };
    });
    assertAllClose(outs[0].out, outs[1].out, 1e-6, 1e-5, `out ${rows}x${inner}`);
    assertAllClose(outs[0].dx, outs[1].dx, 1e-6, 1e-5, `dx ${rows}x${inner}`);
  }
});

test('reference embedding: gather, and scatter-add where duplicate ids accumulate', () => {
  // table [vocab 3, dim 2]
  const table = new Float64Array([10, 11, 20, 21, 30, 31]);
  const ids = new Int32Array([2, 0, 2, 2]);
  const out = new Float64Array(8);
  ref.embeddingForward(table, ids, out, 3, 2);
  assert.deepEqual(Array.from(out), [30, 31, 10, 11, 30, 31, 30, 31]);
  const dout = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const dtable = new Float64Array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
  ref.embeddingBackward(ids, dout, dtable, 3, 2);
  // row 0 += [3, 4]; row 1 untouched; row 2 += [1, 2] + [5, 6] + [7, 8] = [13, 16]
  assert.deepEqual(Array.from(dtable), [3.5, 4.5, 0.5, 0.5, 13.5, 16.5]);
});

test('native embedding matches the reference (many duplicates) and is deterministic', needNative, () => {
  for (const [k, dim] of [1, 7, 33, 1000].entries()) {
    const vocab = 50, n = Math.max(10, Math.ceil(20000 / dim));
    const table = randArray(vocab * dim, 30 + k);
    const ids = Int32Array.from(randArray(n, 40 + k, 0, vocab), Math.floor);
    const dout = randArray(n * dim, 50 + k);
    const dtable0 = randArray(vocab * dim, 60 + k);
    const res = [native!, ref].map((be: Backend) => {
      const out = new Float32Array(n * dim), dtable = dtable0.slice();
      be.embeddingForward(table, ids, out, vocab, dim);
      be.embeddingBackward(ids, dout, dtable, vocab, dim);
      return { out, dtable };
    });
    assert.deepEqual(res[0].out, res[1].out, `gather ${n}x${dim}`);
    // Each table row receives ~n/vocab float32 additions in native vs double in the reference.
    assertAllClose(res[0].dtable, res[1].dtable, 1e-5, 1e-5, `scatter-add ${n}x${dim}`);
  }
  // Determinism across calls and thread counts, on a size that splits across threads.
  const vocab = 40, dim = 256, n = 8192;
  const ids = Int32Array.from(randArray(n, 70, 0, vocab), Math.floor), dout = randArray(n * dim, 71);
  const once = () => {
    const d = new Float32Array(vocab * dim);
    native!.embeddingBackward(ids, dout, d, vocab, dim);
    return d;
  };
  const first = once();
  assert.deepEqual(once(), first, 'repeated call');
  const threads = nativeInfo()!.threads;
  setNativeThreads(threads === 1 ? 3 : 1);
  try {
    assert.deepEqual(once(), first, 'other thread count');
  } finally {
    setNativeThreads(threads);
  }
});

test('ids outside the vocabulary are a GlmkitError on both backends, not a crash', () => {
  const vocab = 4, dim = 3;
  const table = new Float32Array(vocab * dim), dtable = new Float32Array(vocab * dim);
  for (const be of native ? [ref, native] : [ref]) {
    for (const bad of [4, -1, 2 ** 31 - 1, -(2 ** 31)]) {
      const ids = new Int32Array([0, 3, bad]);
      const out = new Float32Array(ids.length * dim).fill(5);
      const isIdError = (e: unknown) => e instanceof GlmkitError && new RegExp(`id ${bad}\\b`).test((e as Error).message);
      assert.throws(() => be.embeddingForward(table, ids, out, vocab, dim), isIdError, `${be.name} forward, id ${bad}`);
      assert.throws(() => be.embeddingBackward(ids, out, dtable, vocab, dim), isIdError, `${be.name} backward, id ${bad}`);
      assert.ok(dtable.every((v) => v === 0), `${be.name}: dtable untouched after a bad id`);
    }
  }
});

test('reference erf and gelu match known values (exact erf form, not the tanh approximation)', async () => {
  const { erf } = await import('./reference/elementwise.js');
  // erf(0.5) = 0.5204998778130465, erf(1) = 0.8427007929497149, erf(2) = 0.9953222650189527, erf(3.5) = 0.9999992569016276
  assertAllClose([erf(0.5), erf(1), erf(-2), erf(3.5), erf(0)], [0.5204998778130465, 0.8427007929497149, -0.9953222650189527, 0.9999992569016276, 0], 1e-15, 1e-14, 'erf');
  const x = new Float64Array([1, -1, 3]), out = new Float64Array(3);
  ref.geluForward(x, out, 3);
  // gelu(1) = 0.5 * (1 + erf(1/sqrt 2)) = 0.8413447460685429; tanh form would give 0.8411919906082768.
  assertAllClose(out, [0.8413447460685429, -0.15865525393145707, 2.9959503059051100], 1e-15, 1e-14, 'gelu');
});

test('reference gelu backward matches float64 finite differences', () => {
  const n = 40;
  const x = Float64Array.from(randArray(n, 11, -5, 5)), dout = Float64Array.from(randArray(n, 12));
  const dx = new Float64Array(n);
  ref.geluBackward(x, dout, dx, n);
  const h = 1e-6;
  const fd = Array.from(x, (_, i) => {
    const f = (v: number) => {
      const o = new Float64Array(1);
      ref.geluForward(new Float64Array([v]), o, 1);
      return o[0];
    };
    return (dout[i] * (f(x[i] + h) - f(x[i] - h))) / (2 * h);
  });
  assertAllClose(dx, fd, 1e-8, 1e-6, 'dx');
});

test('native gelu matches the reference over [-12, 12] and on large n', needNative, () => {
  const n = 50001;
  const x = randArray(n, 13, -12, 12), dout = randArray(n, 14);
  const outs = [native!, ref].map((be: Backend) => {
    const out = new Float32Array(n), dx = new Float32Array(n).fill(7);
    be.geluForward(x, out, n);
    be.geluBackward(x, dout, dx, n);
    return { out, dx };
  });
  assertAllClose(outs[0].out, outs[1].out, 1e-6, 1e-5, 'out');
  assertAllClose(outs[0].dx, outs[1].dx, 1e-6, 1e-5, 'dx');
});

test('native add and multiply equal the reference bitwise, in place too, on 1 and 2 threads', needNative, () => {
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  const threads = nativeInfo()!.threads;
  try {
    for (const t of [1, 2]) {
      setNativeThreads(t);
      // below and above the 64k threading grain, odd sizes; values with wide exponent ranges
      for (const n of [1, 7, 4096, 65_537, 300_001]) {
        const x = randArray(n, n, -1e6, 1e6).map((v, i) => (i % 3 === 0 ? v * 1e-30 : v)), y = randArray(n, n + 1, -3, 3);
        for (const op of ['addForward', 'mulForward'] as const) {
          const want = new Float32Array(n), got = new Float32Array(n);
          ref[op](x, y, want, n);
          native![op](x, y, got, n);
          assert.deepEqual(bits(got), bits(want), `${op} n=${n} threads=${t}`);
          const inPlace = Float32Array.from(x);
          native![op](inPlace, y, inPlace, n);
          assert.deepEqual(bits(inPlace), bits(want), `${op} in place n=${n}`);
        }
      }
    }
  } finally {
    setNativeThreads(threads);
  }
  assert.throws(() => native!.addForward(new Float32Array(3), new Float32Array(2), new Float32Array(3), 3), GlmkitError);
});
