// The kernel paths chosen by GLMKIT_ISA (native/kernels/isa.h), switched inside one process:
// - RMSNorm and AdamW on the AVX-512 path do the portable loops' operations in the same order, so
//   the two give bitwise identical outputs (the test fails if either side fuses or reorders);
// - a given path and thread count gives bitwise identical results run after run (attention forward
//   and backward, softmax, cross-entropy);
// - the paths agree with each other within float rounding (the conformance suite compares each
//   with the reference backend; here avx512 against avx2 directly, on the attention tiles).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttentionShape } from './backend.js';
import { ISA_PATHS, assertAllClose, native, randArray, withIsa } from './kernel-testing.js';
import { nativeFmaPeak, nativeInfo, setNativeThreads } from './native.js';

const avx512 = ISA_PATHS.find((p) => p.isa === 'avx512')!;
const avx2 = ISA_PATHS.find((p) => p.isa === 'avx2')!;
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function rmsnorm(rows: number, dim: number) {
  const x = randArray(rows * dim, 1), w = randArray(dim, 2), dy = randArray(rows * dim, 3);
  const out = new Float32Array(rows * dim), rstd = new Float32Array(rows), dx = new Float32Array(rows * dim);
  const dw = randArray(dim, 4); // accumulated into
  native!.rmsnormForward(x, w, out, rstd, rows, dim, 1e-5);
  native!.rmsnormBackward(dy, x, w, rstd, dx, dw, rows, dim);
  return [out, rstd, dx, dw];
}

function adamw(n: number) {
  const param = randArray(n, 5), grad = randArray(n, 6, -1e-2, 1e-2), m = randArray(n, 7, -1e-3, 1e-3), v = randArray(n, 8, 0, 1e-5);
  for (let step = 1; step <= 3; step++) native!.adamw({ param, grad, m, v, lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step });
  return [param, m, v];
}

test('RMSNorm forward/backward: the AVX-512 path is bitwise identical to the portable loops', { skip: avx512.skip }, () => {
  // dims: under one vector, the 8-double body with a tail, one 64-column dw block, several with a partial one
  for (const [rows, dim] of [[3, 7], [5, 37], [9, 64], [33, 200], [2, 1000]]) {
    const fast = withIsa('avx512', () => rmsnorm(rows, dim));
    const slow = withIsa('portable', () => rmsnorm(rows, dim));
    fast.forEach((a, i) => assert.deepEqual(bits(a), bits(slow[i]), `rmsnorm ${rows}x${dim} output ${i}`));
  }
});

test('AdamW: the AVX-512 path is bitwise identical to the portable loop (3 steps, weight decay)', { skip: avx512.skip }, () => {
  for (const n of [1, 15, 16, 17, 1000, 40_000]) {
    const fast = withIsa('avx512', () => adamw(n));
    const slow = withIsa('portable', () => adamw(n));
    fast.forEach((a, i) => assert.deepEqual(bits(a), bits(slow[i]), `adamw n=${n} output ${i}`));
  }
});

const shape: AttentionShape = { batch: 2, tq: 70, tk: 70, qOffset: 0, headsQ: 4, headsKv: 2, headDim: 48, scale: 1 / Math.sqrt(48), causal: true, prefixLen: null, keyMask: null };

function attention(s: AttentionShape) {
  const nq = s.batch * s.tq * s.headsQ * s.headDim, nk = s.batch * s.tk * s.headsKv * s.headDim;
  const q = randArray(nq, 11), k = randArray(nk, 12), v = randArray(nk, 13), dout = randArray(nq, 14);
  const out = new Float32Array(nq), lse = new Float32Array(s.batch * s.headsQ * s.tq);
  const dq = new Float32Array(nq), dk = new Float32Array(nk), dv = new Float32Array(nk);
  native!.attentionForward({ ...s, q, k, v, out, lse });
  native!.attentionBackward({ ...s, q, k, v, out, lse, dout, dq, dk, dv });
  return [out, lse, dq, dk, dv];
}

test('attention (tiles and decode rows): the AVX-512 path agrees with the AVX2 path and repeats bitwise', { skip: avx512.skip || avx2.skip }, () => {
  const threads = nativeInfo()!.threads;
  try {
    setNativeThreads(2);
    // head_dim 48: three 16-lane vectors; 70 tokens: a partial tile of 6 keys; 57 tokens: one of four
    // vectors, the last masked; tq 3: the decode rows path
    for (const s of [shape, { ...shape, tq: 57, tk: 57 }, { ...shape, tq: 3, qOffset: 67 }]) {
      const a = withIsa('avx512', () => attention(s));
      const again = withIsa('avx512', () => attention(s));
      const b = withIsa('avx2', () => attention(s));
      a.forEach((x, i) => {
        assert.deepEqual(bits(x), bits(again[i]), `attention tq=${s.tq} output ${i} repeats`);
        assertAllClose(x, b[i], 2e-5, 1e-4, `attention tq=${s.tq} output ${i} avx512 vs avx2`);
      });
    }
  } finally {
    setNativeThreads(threads);
  }
});

test('softmax and cross-entropy repeat bitwise on each path and agree across paths', { skip: native ? false : 'no native addon' }, () => {
  const rows = 9, cols = 1037;
  const x = randArray(rows * cols, 21, -30, 30), targets = Int32Array.from({ length: rows }, (_, i) => (i * 101) % cols);
  const runAll = () => {
    const sm = new Float32Array(rows * cols), losses = new Float32Array(rows), lse = new Float32Array(rows), g = new Float32Array(rows * cols);
    native!.softmaxForward(x, sm, rows, cols);
    native!.crossEntropyForward(x, targets, losses, lse, rows, cols, -100);
    native!.crossEntropyBackward(x, targets, lse, new Float32Array(rows).fill(1), g, rows, cols, -100);
    return [sm, losses, lse, g];
  };
  const results = ISA_PATHS.filter((p) => !p.skip).map((p) => ({ isa: p.isa, first: withIsa(p.env, runAll), again: withIsa(p.env, runAll) }));
  for (const r of results) r.first.forEach((a, i) => assert.deepEqual(bits(a), bits(r.again[i]), `${r.isa} output ${i} repeats`));
  for (const r of results.slice(1)) r.first.forEach((a, i) => assertAllClose(a, results[0].first[i], 1e-6, 1e-5, `${r.isa} vs ${results[0].isa} output ${i}`));
});

test('GLMKIT_ISA switches the reported vector path in-process; the measured FMA peak is positive', { skip: native ? false : 'no native addon' }, () => {
  assert.equal(withIsa('portable', () => nativeInfo()!.vecIsa), 'portable');
  if (!avx2.skip) assert.equal(withIsa('avx2', () => nativeInfo()!.vecIsa), 'avx2+fma');
  if (!avx512.skip) assert.equal(withIsa('avx512', () => nativeInfo()!.vecIsa), 'avx512');
  const peak = nativeFmaPeak(100_000)!;
  assert.ok(peak > 0 && Number.isFinite(peak), `peak ${peak}`);
});
