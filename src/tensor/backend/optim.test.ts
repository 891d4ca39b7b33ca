// Fused AdamW: reference against a step-by-step hand computation over 3 steps; native against the
// reference over several steps; determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getNativeBackend, referenceBackend as ref } from './index.js';
import type { AdamWArgs, Backend } from './backend.js';

const native = getNativeBackend();
const needNative = { skip: native ? false : 'native addon not built (npm run build:native)' };

function randArray(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    a[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return a;
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]);
    assert.ok(err <= atol + rtol * Math.abs(b[i]), `${what}[${i}]: got ${a[i]}, expected ${b[i]} (error ${err})`);
  }
}

const hyper = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

test('reference AdamW follows a hand computation over 3 steps', () => {
  // p0 = [1, -2]; gradients g1 = [0.5, -1], g2 = [0.1, 0.2], g3 = [-0.3, 0.4].
  // Step 1, element 0: p = 1 - 0.1*0.01*1 = 0.999; m = 0.1*0.5 = 0.05; v = 0.001*0.25 = 0.00025;
  //   mhat = 0.05/0.1 = 0.5; vhat = 0.00025/0.001 = 0.25; p = 0.999 - 0.1*0.5/(0.5 + 1e-8) = 0.899000002.
  // Step 1, element 1: p = -1.998; mhat = -1, vhat = 1; p = -1.998 + 0.1/(1 + 1e-8) = -1.898000001.
  // Steps 2 and 3 continue the same recurrences (m, v carried; bias corrections 1-0.9^t, 1-0.999^t).
  const expected = [
    { p: [0.899000002, -1.898000001], m: [0.05, -0.1], v: [0.00025, 0.001] },
    { p: [0.8177969063826518, -1.8449993939894946], m: [0.055, -0.07], v: [0.00025975, 0.001039] },
    { p: [0.7959078148551255, -1.8297304348131667], m: [0.0195, -0.023], v: [0.00034949025, 0.001197961] },
  ];
  const grads = [[0.5, -1], [0.1, 0.2], [-0.3, 0.4]];
  const param = new Float64Array([1, -2]), m = new Float64Array(2), v = new Float64Array(2);
  for (let t = 1; t <= 3; t++) {
    ref.adamw({ param, grad: new Float64Array(grads[t - 1]), m, v, ...hyper, step: t });
    assertClose(param, expected[t - 1].p, 1e-12, 0, `param after step ${t}`);
    assertClose(m, expected[t - 1].m, 1e-15, 0, `m after step ${t}`);
    assertClose(v, expected[t - 1].v, 1e-15, 0, `v after step ${t}`);
  }
});

test('reference AdamW with zero weight decay and zero gradient leaves param unchanged', () => {
  const param = new Float64Array([3, -4]), m = new Float64Array(2), v = new Float64Array(2);
  ref.adamw({ param, grad: new Float64Array(2), m, v, ...hyper, weightDecay: 0, step: 1 });
  assert.deepEqual(Array.from(param), [3, -4]);
});

function steps(be: Backend, n: number, count: number) {
  const param = randArray(n, 1), m = new Float32Array(n), v = new Float32Array(n);
  for (let t = 1; t <= count; t++) {
    const args: AdamWArgs = { param, grad: randArray(n, 100 + t), m, v, ...hyper, lr: 1e-2, step: t };
    be.adamw(args);
  }
  return { param, m, v };
}

test('native AdamW matches the reference over 5 steps', needNative, () => {
  for (const n of [1, 7, 33, 1000, 50003]) {
    const a = steps(native!, n, 5), b = steps(ref, n, 5);
    assertClose(a.m, b.m, 1e-7, 1e-5, `m (n=${n})`);
    assertClose(a.v, b.v, 1e-8, 1e-5, `v (n=${n})`);
    assertClose(a.param, b.param, 1e-6, 1e-5, `param (n=${n})`);
  }
});

test('native AdamW is deterministic', needNative, () => {
  const a = steps(native!, 70001, 3), b = steps(native!, 70001, 3);
  assert.deepEqual(a, b);
});
