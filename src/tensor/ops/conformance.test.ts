// One conformance suite, run on both backends: every op with a backend kernel must give the same
// forward output and input gradients on the native backend as on the reference backend (float32,
// random shapes including odd sizes and broadcasting corners), on every native kernel path
// (GLMKIT_ISA: the automatic choice, avx512, avx2, portable; a path this CPU lacks is skipped with
// the reason). Ops without a kernel (TypeScript on
// both backends) are checked at the end against closed forms, labelled autograd-only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { needNativeOptions } from '../../util/test-skip.js';
import { withBackend, type BackendName } from '../backend/index.js';
import { nativeInfo } from '../backend/native.js';
import { ISA_PATHS, withIsa } from '../backend/kernel-testing.js';
import { Tensor } from '../tensor.js';
import { assertClose, gradcheck, type Tolerance } from '../testing.js';
import * as F from './index.js';

const { skip } = needNativeOptions();

interface Case {
  name: string;
  /** builds fresh f32 inputs (same values for both backends: seeded) */
  inputs: (rng: Rng) => Tensor[];
  fn: (...xs: Tensor[]) => Tensor;
  tol?: Tolerance;
}

function run(c: Case, backend: BackendName): { out: Float32Array; grads: (Float32Array | null)[] } {
  return withBackend(backend, () => {
    const xs = c.inputs(new Rng(c.name));
    for (const x of xs) if (x.dtype === 'f32') x.requireGrad();
    const y = c.fn(...xs);
    const w = Tensor.randn(y.shape, new Rng(99));
    y.backward(w);
    return { out: y.data as Float32Array, grads: xs.map((x) => (x.grad ? (x.grad.data as Float32Array) : null)) };
  });
}

const r = (rng: Rng, ...shape: number[]) => Tensor.randn(shape, rng);
const cases: Case[] = [];
for (const [m, k, n] of [[1, 1, 1], [7, 33, 5], [33, 7, 1000], [64, 128, 96], [1000, 3, 7]]) {
  for (const transA of [false, true])
    for (const transB of [false, true])
      cases.push({
        name: `matmul ${m}x${k}x${n} tA=${transA} tB=${transB}`,
        inputs: (g) => [r(g, ...(transA ? [k, m] : [m, k])), r(g, ...(transB ? [n, k] : [k, n]))],
        fn: (a, b) => F.matmul(a, b, { transA, transB }),
        tol: { atol: 1e-4, rtol: 1e-4 },
      });
}
cases.push(
  { name: 'matmul batched', inputs: (g) => [r(g, 3, 2, 9, 17), r(g, 3, 2, 17, 5)], fn: (a, b) => F.matmul(a, b), tol: { atol: 1e-4 } },
  { name: 'matmul shared b', inputs: (g) => [r(g, 4, 9, 17), r(g, 5, 17)], fn: (a, b) => F.matmul(a, b, { transB: true }), tol: { atol: 1e-4 } },
  { name: 'matmul shared a', inputs: (g) => [r(g, 9, 17), r(g, 4, 17, 5)], fn: (a, b) => F.matmul(a, b), tol: { atol: 1e-4 } },
  { name: 'linear', inputs: (g) => [r(g, 2, 33, 64), r(g, 48, 64), r(g, 48)], fn: (x, w, b) => F.linear(x, w, b), tol: { atol: 1e-4 } },
  { name: 'rmsNorm', inputs: (g) => [r(g, 37, 1000), r(g, 1000)], fn: (x, w) => F.rmsNorm(x, w, 1e-6), tol: { atol: 1e-4 } },
  { name: 'rmsNorm dim 7', inputs: (g) => [r(g, 3, 5, 7), r(g, 7)], fn: (x, w) => F.rmsNorm(x, w, 1e-5) },
  { name: 'layerNorm', inputs: (g) => [r(g, 37, 1000), r(g, 1000), r(g, 1000)], fn: (x, w, b) => F.layerNorm(x, w, b, 1e-5), tol: { atol: 1e-4 } },
  { name: 'layerNorm dim 7', inputs: (g) => [r(g, 3, 5, 7), r(g, 7), r(g, 7)], fn: (x, w, b) => F.layerNorm(x, w, b, 1e-5) },
  { name: 'geluErf', inputs: (g) => [r(g, 33, 70)], fn: (x) => F.geluErf(x) },
  { name: 'softmax', inputs: (g) => [r(g, 33, 1000)], fn: (x) => F.softmax(x) },
  { name: 'logSoftmax', inputs: (g) => [r(g, 7, 33)], fn: (x) => F.logSoftmax(x) },
  { name: 'crossEntropy', inputs: (g) => [r(g, 2, 17, 1000)], fn: (x) => F.crossEntropy(x, Tensor.ids(Array.from({ length: 34 }, (_, i) => (i % 5 === 0 ? -100 : (i * 37) % 1000)), [2, 17])) },
  { name: 'swiglu', inputs: (g) => [r(g, 33, 2 * 70)], fn: (x) => F.swiglu(x) },
  { name: 'embedding', inputs: (g) => [r(g, 50, 33)], fn: (t) => F.embedding(t, Tensor.ids([3, 49, 3, 0, 7, 7, 7], [7])) },
);
for (const interleaved of [true, false]) {
  for (const [B, T, H, D, rd] of [[1, 1, 1, 8, 8], [2, 7, 3, 64, 32], [1, 33, 2, 128, 64]]) {
    cases.push({
      name: `rope ${interleaved ? 'interleaved' : 'half'} ${B}x${T}x${H}x${D} rd=${rd}`,
      inputs: (g) => [r(g, B, T, H, D)],
      fn: (x) => {
        const pos = Array.from({ length: B * T }, (_, i) => (i % T) + 3);
        const t = F.ropeTables(pos, rd, 10000);
        return F.rope(x, t.cos, t.sin, { rotaryDim: rd, interleaved });
      },
      tol: { atol: 1e-5 },
    });
  }
}
for (const [B, Tq, Tk, Hq, Hkv, D, causal, masked] of [
  [1, 1, 1, 1, 1, 8, true, false],
  [2, 7, 7, 4, 2, 16, true, false],
  [2, 33, 33, 2, 1, 64, false, true],
  [1, 3, 40, 4, 4, 32, true, false],
  [2, 100, 100, 8, 2, 64, true, true],
] as [number, number, number, number, number, number, boolean, boolean][]) {
  cases.push({
    name: `attention B${B} Tq${Tq} Tk${Tk} H${Hq}/${Hkv} D${D} causal=${causal} masked=${masked}`,
    inputs: (g) => [r(g, B, Tq, Hq, D), r(g, B, Tk, Hkv, D), r(g, B, Tk, Hkv, D)],
    fn: (q, k, v) => {
      const keyMask = masked ? Int32Array.from({ length: B * Tk }, (_, i) => (i % Tk < 2 && i >= Tk ? 0 : 1)) : null;
      const prefixLen = masked ? Int32Array.from({ length: B }, (_, b) => b + 2) : null;
      return F.attention(q, k, v, { causal, keyMask, prefixLen });
    },
    tol: { atol: 2e-5, rtol: 1e-4 },
  });
}

for (const c of cases) {
  test(`native matches reference: ${c.name}`, { skip }, async (t) => {
    const ref = run(c, 'reference');
    const tol = c.tol ?? { atol: 1e-5, rtol: 1e-4 };
    for (const path of ISA_PATHS) {
      await t.test(`path ${path.isa}`, { skip: path.skip }, () => {
        const nat = withIsa(path.env, () => {
          if (path.env) assert.equal(nativeInfo()?.vecIsa, path.isa === 'avx2' ? 'avx2+fma' : path.isa);
          return run(c, 'native');
        });
        assertClose(nat.out, ref.out, tol, `${c.name} (${path.isa}) forward`);
        ref.grads.forEach((g, i) => {
          if (g) assertClose(nat.grads[i] ?? [], g, tol, `${c.name} (${path.isa}) grad of input ${i}`);
        });
      });
    }
  });
}

// add, mul, silu and sigmoid have no backend kernel: both backends run the same TypeScript, so a
// native-vs-reference comparison would compare that code with itself. They are checked against
// closed forms (forward) and central finite differences (autograd) instead, on either backend.
function assertFiniteClose(got: ArrayLike<number>, want: (i: number) => number, what: string): void {
  for (let i = 0; i < got.length; i++) {
    assert.ok(Number.isFinite(got[i]), `${what}[${i}] is ${got[i]}`);
    assert.ok(Math.abs(got[i] - want(i)) <= 1e-12 * (1 + Math.abs(want(i))), `${what}[${i}]: ${got[i]} vs ${want(i)}`);
  }
}

test('autograd-only (TypeScript elementwise, no native kernel): add with broadcasting [2,1,7] + [3,1] matches the closed form and finite differences', () => {
  const g = new Rng('add broadcast');
  const a = Tensor.randn([2, 1, 7], g, 1, 'f64'), b = Tensor.randn([3, 1], g, 1, 'f64');
  const y = F.add(a, b);
  assert.deepEqual(y.shape, [2, 3, 7]);
  // y[i, j, k] = a[i, 0, k] + b[j, 0]
  assertFiniteClose(y.data, (n) => a.data[Math.floor(n / 21) * 7 + (n % 7)] + b.data[Math.floor(n / 7) % 3], 'add');
  gradcheck((x, z) => F.add(x, z), [a, b]);
});

test('autograd-only (TypeScript elementwise, no native kernel): silu(a) * sigmoid(a) matches a * sigmoid(a)^2 and finite differences', () => {
  const a = Tensor.randn([33, 7], new Rng('mul/silu chain'), 1, 'f64');
  const y = F.mul(F.silu(a), F.sigmoid(a));
  assert.deepEqual(y.shape, [33, 7]);
  assertFiniteClose(y.data, (n) => a.data[n] / (1 + Math.exp(-a.data[n])) ** 2, 'silu * sigmoid');
  gradcheck((x) => F.mul(F.silu(x), F.sigmoid(x)), [a]);
});

test('autograd f64: layerNorm and geluErf (reference kernels) match central finite differences', () => {
  const g = new Rng('layerNorm gelu gradcheck');
  const x = Tensor.randn([4, 6], g, 1, 'f64'), w = Tensor.randn([6], g, 1, 'f64'), b = Tensor.randn([6], g, 1, 'f64');
  gradcheck((a, ww, bb) => F.geluErf(F.layerNorm(a, ww, bb, 1e-5)), [x, w, b]);
});
