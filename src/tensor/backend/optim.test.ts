// Fused AdamW: reference against a step-by-step hand computation over 3 steps; native against the
// reference over several steps; determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceBackend as ref } from './index.js';
import type { AdamWArgs, Backend } from './backend.js';
import { native, needNative, randArray, assertAllClose } from './kernel-testing.js';

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
    assertAllClose(param, expected[t - 1].p, 1e-12, 0, `param after step ${t}`);
    assertAllClose(m, expected[t - 1].m, 1e-15, 0, `m after step ${t}`);
    assertAllClose(v, expected[t - 1].v, 1e-15, 0, `v after step ${t}`);
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
    assertAllClose(a.m, b.m, 1e-7, 1e-5, `m (n=${n})`);
    assertAllClose(a.v, b.v, 1e-8, 1e-5, `v (n=${n})`);
    assertAllClose(a.param, b.param, 1e-6, 1e-5, `param (n=${n})`);
  }
});

test('native AdamW is deterministic', needNative, () => {
  const a = steps(native!, 70001, 3), b = steps(native!, 70001, 3);
  assert.deepEqual(a, b);
});
