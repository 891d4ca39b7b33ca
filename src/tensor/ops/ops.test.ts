// Forward values on hand-computed cases, and float64 finite-difference gradient checks of every op
// (the reference backend runs all f64 work).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { ShapeError } from '../../errors.js';
import { Tensor } from '../tensor.js';
import { noGrad } from '../autograd.js';
import { assertClose, gradcheck } from '../testing.js';
import * as F from './index.js';

const rng = new Rng(7);
const r64 = (...shape: number[]) => Tensor.randn(shape, rng, 1, 'f64');
const pos64 = (...shape: number[]) => Tensor.rand(shape, rng, 0.5, 2, 'f64');

test('binary ops broadcast and match hand values', () => {
  const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = Tensor.from([10, 20, 30], [3]);
  assert.deepEqual(F.add(a, b).toArray(), [11, 22, 33, 14, 25, 36]);
  assert.deepEqual(F.mul(a, Tensor.from([2, 3], [2, 1])).toArray(), [2, 4, 6, 12, 15, 18]);
  assert.deepEqual(F.sub(a, 1).toArray(), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(F.div(a, 2).toArray(), [0.5, 1, 1.5, 2, 2.5, 3]);
  const c = F.add(Tensor.from([1, 2], [2, 1, 1]), Tensor.from([10, 20, 30], [1, 1, 3]));
  assert.deepEqual(c.shape, [2, 1, 3]);
  assert.deepEqual(c.toArray(), [11, 21, 31, 12, 22, 32]);
  assert.throws(() => F.add(a, Tensor.zeros([2])), ShapeError);
  assert.throws(() => F.add(a, Tensor.zeros([3], 'f64')), /dtypes differ/);
});

test('gradients of binary ops with broadcasting', () => {
  for (const [sa, sb] of [
    [[2, 3], [2, 3]],
    [[2, 3], [3]],
    [[2, 1, 3], [1, 4, 1]],
    [[3], [2, 3]],
    [[2, 3], []],
  ] as number[][][]) {
    gradcheck((x, y) => F.add(x, y), [r64(...sa), r64(...sb)]);
    gradcheck((x, y) => F.sub(x, y), [r64(...sa), r64(...sb)]);
    gradcheck((x, y) => F.mul(x, y), [r64(...sa), r64(...sb)]);
    gradcheck((x, y) => F.div(x, y), [r64(...sa), pos64(...sb)]);
    gradcheck((x, y) => F.maximum(x, y), [r64(...sa), r64(...sb)]);
  }
});

test('gradients of unary ops', () => {
  const x = r64(3, 4);
  for (const f of [F.neg, F.exp, F.sigmoid, F.logSigmoid, F.silu, F.tanh, F.gelu, F.square, (t: Tensor) => F.scale(t, -2.5), (t: Tensor) => F.clamp(t, -0.5, 0.7)]) {
    gradcheck(f, [x.clone()]);
  }
  gradcheck(F.log, [pos64(3, 4)]);
  gradcheck(F.sqrt, [pos64(3, 4)]);
  gradcheck((t) => F.pow(t, 3), [pos64(5)]);
  gradcheck(F.abs, [Tensor.from([-1.5, 0.3, 2], [3], 'f64')]);
  gradcheck(F.relu, [Tensor.from([-1.5, 0.3, 2], [3], 'f64')]);
  assertClose(F.gelu(Tensor.from([1])).data, [0.8411920070648193], { atol: 1e-6 });
  assertClose(F.logSigmoid(Tensor.from([-100, 0, 100], [3], 'f64')).data, [-100, Math.log(0.5), 0], { atol: 1e-12 });
});

test('where selects and routes gradients', () => {
  const cond = Tensor.from([1, 0, 1], [3], 'i32');
  const a = Tensor.from([1, 2, 3]), b = Tensor.from([10, 20, 30]);
  assert.deepEqual(F.where(cond, a, b).toArray(), [1, 20, 3]);
  gradcheck((x, y) => F.where(Tensor.from([1, 0, 0, 1, 1, 0], [2, 3], 'i32'), x, y), [r64(2, 3), r64(3)]);
});

test('reductions', () => {
  const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(F.sum(x, 0).toArray(), [5, 7, 9]);
  assert.deepEqual(F.sum(x, -1, true).shape, [2, 1]);
  assert.deepEqual(F.mean(x, 1).toArray(), [2, 5]);
  assert.equal(F.sum(x).item(), 21);
  assert.deepEqual(F.max(Tensor.from([1, 9, 3, 7, 2, 8], [2, 3]), 1).toArray(), [9, 8]);
  for (const axis of [0, 1, 2, -1]) {
    gradcheck((t) => F.sum(t, axis), [r64(2, 3, 4)]);
    gradcheck((t) => F.mean(t, axis, true), [r64(2, 3, 4)]);
    gradcheck((t) => F.max(t, axis), [r64(2, 3, 4)]);
  }
  gradcheck((t) => F.mean(t), [r64(2, 3)]);
});

test('shape ops', () => {
  const x = Tensor.from([0, 1, 2, 3, 4, 5], [2, 3]);
  assert.deepEqual(F.transpose(x).toArray(), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(F.reshape(x, [3, -1]).shape, [3, 2]);
  assert.deepEqual(F.slice(x, 1, 1).toArray(), [1, 2, 4, 5]);
  assert.deepEqual(F.concat([x, x], 1).toArray(), [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
  assert.deepEqual(F.split(x, [1, 2], 1).map((t) => t.toArray()), [[0, 3], [1, 2, 4, 5]]);
  assert.deepEqual(F.indexSelect(x, 1, Tensor.ids([2, 0, 2])).toArray(), [2, 0, 2, 5, 3, 5]);
  assert.deepEqual(F.gather(x, 1, Tensor.ids([2, 1], [2, 1])).toArray(), [2, 4]);
  assert.deepEqual(F.scatterAdd(Tensor.zeros([2, 3]), 1, Tensor.ids([0, 0, 2, 1], [2, 2]), Tensor.from([1, 2, 3, 4], [2, 2])).toArray(), [3, 0, 0, 0, 4, 3]);
  assert.throws(() => F.reshape(x, [4, 2]), ShapeError);
  assert.throws(() => F.slice(x, 1, 2, 5), ShapeError);
  assert.throws(() => F.indexSelect(x, 0, Tensor.ids([2])), /outside/);

  gradcheck((t) => F.reshape(t, [4, 6]), [r64(2, 3, 4)]);
  gradcheck((t) => F.permute(t, [2, 0, 1]), [r64(2, 3, 4)]);
  gradcheck((t) => F.transpose(t, 0, 2), [r64(2, 3, 4)]);
  gradcheck((t) => F.slice(t, 1, 1, 3), [r64(2, 4, 3)]);
  gradcheck((a, b) => F.concat([a, b, a], 1), [r64(2, 3, 2), r64(2, 1, 2)]);
  gradcheck((t) => F.mul(F.split(t, 2, -1)[1], 3), [r64(2, 4)]);
  gradcheck((t) => F.indexSelect(t, 0, Tensor.ids([1, 1, 0])), [r64(2, 3)]);
  gradcheck((t) => F.gather(t, 1, Tensor.ids([0, 2, 2, 1], [2, 2])), [r64(2, 3)]);
  gradcheck((b, s) => F.scatterAdd(b, 0, Tensor.ids([1, 0, 1], [3, 1]).clone(), s), [r64(2, 1), r64(3, 1)]);
  assert.deepEqual(F.indexAdd(Tensor.zeros([3, 2]), Tensor.ids([2, 0, 2]), Tensor.from([1, 2, 3, 4, 5, 6], [3, 2])).toArray(), [3, 4, 0, 0, 6, 8]);
  gradcheck((b, s) => F.indexAdd(b, Tensor.ids([2, 0, 2]), s), [r64(3, 2), r64(3, 2)]);
});

test('matmul: values and gradients for every transpose and batch layout', () => {
  const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = Tensor.from([1, 0, 0, 1, 1, 1], [3, 2]);
  assert.deepEqual(F.matmul(a, b).toArray(), [4, 5, 10, 11]);
  assert.deepEqual(F.matmul(a, a, { transB: true }).toArray(), [14, 32, 32, 77]);
  assert.deepEqual(F.matmul(a, a, { transA: true }).shape, [3, 3]);
  for (const transA of [false, true])
    for (const transB of [false, true]) {
      const A = (batch: number[]) => r64(...batch, ...(transA ? [4, 3] : [3, 4]));
      const B = (batch: number[]) => r64(...batch, ...(transB ? [5, 4] : [4, 5]));
      const f = (x: Tensor, y: Tensor) => F.matmul(x, y, { transA, transB });
      gradcheck(f, [A([]), B([])]);
      gradcheck(f, [A([2]), B([2])]);
      gradcheck(f, [A([2, 2]), B([])]);
      gradcheck(f, [A([]), B([3])]);
    }
  assert.throws(() => F.matmul(r64(2, 3), r64(2, 3)), /inner dims/);
});

test('linear = x @ W^T + b with gradients', () => {
  const x = Tensor.from([1, 2, 3, 4], [2, 2]);
  const w = Tensor.from([1, 0, 1, 1, 0, 2], [3, 2]);
  const b = Tensor.from([0.5, 0, -1], [3]);
  assert.deepEqual(F.linear(x, w, b).toArray(), [1.5, 3, 3, 3.5, 7, 7]);
  gradcheck((t, W, B) => F.linear(t, W, B), [r64(2, 3, 4), r64(5, 4), r64(5)]);
  gradcheck((t, W) => F.linear(t, W), [r64(3, 4), r64(2, 4)]);
});

test('rmsNorm matches the formula and its gradient', () => {
  const x = Tensor.from([1, 2, 3, 4], [1, 4], 'f64');
  const w = Tensor.from([1, 1, 2, 0.5], [4], 'f64');
  const rms = Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-6);
  assertClose(F.rmsNorm(x, w, 1e-6), [1 / rms, 2 / rms, 6 / rms, 2 / rms], { atol: 1e-12 });
  gradcheck((t, W) => F.rmsNorm(t, W, 1e-5), [r64(3, 5), r64(5)]);
});

test('rope rotates pairs in both styles and its gradient is the inverse rotation', () => {
  // One head of dim 4, rotary dim 4, one position with angles (a0, a1) given directly.
  const a0 = 0.3, a1 = -1.1;
  const cos = Tensor.from([Math.cos(a0), Math.cos(a1)], [1, 2], 'f64');
  const sin = Tensor.from([Math.sin(a0), Math.sin(a1)], [1, 2], 'f64');
  const x = Tensor.from([1, 2, 3, 4], [1, 1, 1, 4], 'f64');
  const inter = F.rope(x, cos, sin, { rotaryDim: 4, interleaved: true }).toArray();
  assertClose(inter, [1 * Math.cos(a0) - 2 * Math.sin(a0), 2 * Math.cos(a0) + 1 * Math.sin(a0), 3 * Math.cos(a1) - 4 * Math.sin(a1), 4 * Math.cos(a1) + 3 * Math.sin(a1)], { atol: 1e-12 });
  const half = F.rope(x, cos, sin, { rotaryDim: 4, interleaved: false }).toArray();
  assertClose(half, [1 * Math.cos(a0) - 3 * Math.sin(a0), 2 * Math.cos(a1) - 4 * Math.sin(a1), 3 * Math.cos(a0) + 1 * Math.sin(a0), 4 * Math.cos(a1) + 2 * Math.sin(a1)], { atol: 1e-12 });
  const t = F.ropeTables([0, 1, 2, 5, 7, 9], 4, 10000, 'f64');
  for (const interleaved of [true, false]) gradcheck((q) => F.rope(q, t.cos, t.sin, { rotaryDim: 4, interleaved }), [r64(2, 3, 2, 6)]);
});

test('ropeTables uses theta^(-2i/d)', () => {
  const { cos, sin } = F.ropeTables([3], 4, 100, 'f64');
  assertClose(cos, [Math.cos(3), Math.cos(3 / 10)], { atol: 1e-12 });
  assertClose(sin, [Math.sin(3), Math.sin(3 / 10)], { atol: 1e-12 });
});

test('attention matches explicit softmax(QK^T)V and its gradient', () => {
  // B 1, Tq = Tk = 2, one head of dim 1, causal: row 0 sees key 0 only.
  const q = Tensor.from([1, 2], [1, 2, 1, 1], 'f64');
  const k = Tensor.from([0.5, -1], [1, 2, 1, 1], 'f64');
  const v = Tensor.from([3, 7], [1, 2, 1, 1], 'f64');
  const out = F.attention(q, k, v, { causal: true, scale: 1 }).toArray();
  const s0 = 2 * 0.5, s1 = 2 * -1;
  const p0 = Math.exp(s0) / (Math.exp(s0) + Math.exp(s1));
  assertClose(out, [3, p0 * 3 + (1 - p0) * 7], { atol: 1e-12 });
  const opts = [
    { causal: true },
    { causal: false },
    { causal: true, prefixLen: new Int32Array([2, 3]) },
    { causal: true, keyMask: new Int32Array([1, 1, 1, 1, 0, 1, 1, 1, 1, 1]) },
  ];
  for (const o of opts) gradcheck((Q, K, V) => F.attention(Q, K, V, o), [r64(2, 5, 4, 3), r64(2, 5, 2, 3), r64(2, 5, 2, 3)]);
  // Decoding: 2 queries at the end of 5 keys.
  gradcheck((Q, K, V) => F.attention(Q, K, V, { causal: true }), [r64(1, 2, 2, 3), r64(1, 5, 1, 3), r64(1, 5, 1, 3)]);
});

test('softmax, logSoftmax and crossEntropy', () => {
  const x = Tensor.from([1, 2, 3, 1, 1, 1], [2, 3], 'f64');
  const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
  const z = e[0] + e[1] + e[2];
  assertClose(F.softmax(x), [e[0] / z, e[1] / z, e[2] / z, 1 / 3, 1 / 3, 1 / 3], { atol: 1e-12 });
  assertClose(F.logSoftmax(x), [1 - Math.log(z), 2 - Math.log(z), 3 - Math.log(z), -Math.log(3), -Math.log(3), -Math.log(3)], { atol: 1e-12 });
  const ce = F.crossEntropy(x, Tensor.ids([2, -100]));
  assertClose(ce, [Math.log(z) - 3], { atol: 1e-12 });
  assertClose(F.crossEntropy(x, Tensor.ids([0, 1]), { reduction: 'none' }), [Math.log(z) - 1, Math.log(3)], { atol: 1e-12 });
  gradcheck((t) => F.softmax(t), [r64(3, 5)]);
  gradcheck((t) => F.logSoftmax(t), [r64(3, 5)]);
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    gradcheck((t) => F.crossEntropy(t, Tensor.ids([1, -100, 4, 0], [2, 2]), { reduction }), [r64(2, 2, 5)]);
  }
});

test('swiglu, embedding and topk', () => {
  const x = Tensor.from([1, -2, 3, 4], [1, 4], 'f64');
  const silu = (v: number) => v / (1 + Math.exp(-v));
  assertClose(F.swiglu(x), [silu(1) * 3, silu(-2) * 4], { atol: 1e-12 });
  gradcheck(F.swiglu, [r64(3, 2, 6)]);
  const table = Tensor.from([0, 1, 10, 11, 20, 21], [3, 2]);
  assert.deepEqual(F.embedding(table, Tensor.ids([2, 0, 2], [3])).toArray(), [20, 21, 0, 1, 20, 21]);
  gradcheck((t) => F.embedding(t, Tensor.ids([1, 1, 0, 3], [2, 2])), [r64(4, 3)]);
  const { values, indices } = F.topk(Tensor.from([0.1, 0.9, 0.5, 0.9, 0.2, 0.3], [2, 3]), 2);
  assert.deepEqual(Array.from(indices.data), [1, 2, 0, 2]);
  assertClose(values, [0.9, 0.5, 0.9, 0.3], { atol: 1e-7 });
});

test('autograd accumulates across backward calls and noGrad records nothing', () => {
  const w = Tensor.from([2], [1]).requireGrad();
  F.sum(F.mul(w, 3)).backward();
  F.sum(F.mul(w, 3)).backward();
  assert.deepEqual(w.grad?.toArray(), [6]);
  w.zeroGrad();
  assert.equal(w.grad, null);
  const y = noGrad(() => F.mul(w, 3));
  assert.equal(y.requiresGrad, false);
  assert.throws(() => y.backward(), /does not require grad/);
  // A tensor used twice gets the sum of both paths.
  const a = Tensor.from([3], [1], 'f64').requireGrad();
  F.sum(F.mul(a, a)).backward();
  assert.deepEqual(a.grad?.toArray(), [6]);
});
