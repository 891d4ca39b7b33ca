// The MoE layer's fused inference path (one backend call for the routed and shared experts) against
// the op-by-op loop it replaces: bitwise equal on the native backend (every GEMM path, with and
// without prepacked decode weights) and on the reference backend; the native kernel against its
// reference twin; and the cases the fused path must leave to the loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../../tensor/autograd.js';
import { getBackend, withBackend } from '../../tensor/backend/index.js';
import { GEMM_ISA_PATHS, assertAllClose, native, needNative, randArray, withGemmIsa } from '../../tensor/backend/kernel-testing.js';
import type { ExpertWeights } from '../../tensor/backend/backend.js';
import { referenceBackend } from '../../tensor/backend/reference/index.js';
import { withPackedWeights } from '../../tensor/ops/packed-weights.js';
import { withBf16Compute } from '../../tensor/ops/precision.js';
import { Tensor } from '../../tensor/tensor.js';
import { Rng } from '../../util/rng.js';
import { loadPreset } from './config.js';
import { GlmMoe, combineWeights } from './moe.js';
import * as F from '../../tensor/ops/index.js';

const cfg = loadPreset('tiny-moe'); // 8 experts of inner size 96, 2 per token, one shared expert, H 128

function layer(seed: number, shared = true): GlmMoe {
  const moe = new GlmMoe({ ...cfg, nSharedExperts: shared ? 1 : 0 }, { rng: new Rng(seed), std: 0.05, dtype: 'f32' });
  moe.eval();
  return moe;
}

function input(B: number, T: number, seed: number): Tensor {
  return new Tensor(randArray(B * T * cfg.hiddenSize, seed, -1, 1), [B, T, cfg.hiddenSize]);
}

/** The loop's output (grad on: the parameters require it, so the fused path stays out) and the fused one's. */
function bothPaths(moe: GlmMoe, x: Tensor): { loop: Float32Array; fused: Float32Array } {
  const loop = moe.forward(x).y.data as Float32Array;
  const fused = noGrad(() => moe.forward(x).y.data as Float32Array);
  return { loop, fused };
}

function assertBitwise(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.fail(`${what}: element ${i} is ${a[i]}, the loop gives ${b[i]}`);
}

// Token counts: decode (1-2), a few rows per expert, and enough for experts with >= 9 rows (the
// prepacked and the packed GEMM paths).
const SHAPES: [number, number][] = [[1, 1], [1, 2], [2, 3], [4, 8], [2, 40]];

for (const path of GEMM_ISA_PATHS) {
  test(`fused MoE experts give the loop's bits on the native backend (${path.isa} GEMM), also with prepacked weights`, { skip: path.skip }, () => {
    withGemmIsa(path.env, () => {
      for (const shared of [true, false]) {
        const moe = layer(3, shared);
        for (const [B, T] of SHAPES) {
          const x = input(B, T, 10 * B + T);
          const { loop, fused } = bothPaths(moe, x);
          assertBitwise(fused, loop, `B ${B} T ${T} shared ${shared}`);
          const packed = withPackedWeights(() => bothPaths(moe, x));
          assertBitwise(packed.fused, packed.loop, `prepacked, B ${B} T ${T} shared ${shared}`);
          assertBitwise(packed.fused, loop, `prepacked against unpacked, B ${B} T ${T}`);
        }
      }
    });
  });
}

test('fused MoE experts give the loop\'s bits on the reference backend', () => {
  withBackend('reference', () => {
    const moe = layer(5);
    for (const [B, T] of [[1, 1], [2, 5]] as [number, number][]) {
      const { loop, fused } = bothPaths(moe, input(B, T, B + T));
      assertBitwise(fused, loop, `reference, B ${B} T ${T}`);
    }
  });
});

test('native moeExpertsForward matches its reference twin, with unused slots and without a shared expert', needNative, () => {
  const H = 32, I = 24, K = 2, N = 7;
  const expert = (seed: number, inner = I): ExpertWeights => ({ gate: randArray(inner * H, seed, -0.3, 0.3), up: randArray(inner * H, seed + 1, -0.3, 0.3), down: randArray(H * inner, seed + 2, -0.3, 0.3), inner });
  const experts = [expert(1), expert(4), expert(7)];
  const slotExpert = Int32Array.from({ length: N * K }, (_, s) => (s === 5 ? -1 : (s * 5) % 3));
  const weights = randArray(N * K, 9, 0, 1);
  const x = randArray(N * H, 11, -1, 1);
  for (const shared of [expert(20, 16), null]) {
    const run = (be: typeof referenceBackend): Float32Array => {
      const out = new Float32Array(N * H).fill(NaN);
      be.moeExpertsForward({ x, tokens: N, hidden: H, k: K, slotExpert, weights, experts, shared, out });
      return out;
    };
    assertAllClose(run(native!), run(referenceBackend), 1e-5, 1e-4, `moeExpertsForward, shared ${shared !== null}`);
  }
});

test('moeExpertsForward refuses a slot naming no expert given, on both backends', needNative, () => {
  const H = 4, I = 2;
  const e: ExpertWeights = { gate: new Float32Array(I * H), up: new Float32Array(I * H), down: new Float32Array(H * I), inner: I };
  for (const be of [native!, referenceBackend]) {
    assert.throws(
      () => be.moeExpertsForward({ x: new Float32Array(H), tokens: 1, hidden: H, k: 1, slotExpert: Int32Array.of(1), weights: Float32Array.of(1), experts: [e], shared: null, out: new Float32Array(H) }),
      /slotExpert\[0\] = 1 is outside \[-1, 1\)/,
    );
  }
});

test('the fused path leaves bf16 compute and bf16 weights to the loop', () => {
  const moe = layer(8);
  const x = input(1, 3, 2);
  let calls = 0;
  const be = getBackend();
  const original = be.moeExpertsForward;
  (be as { moeExpertsForward: typeof original }).moeExpertsForward = (p) => {
    calls++;
    original.call(be, p);
  };
  try {
    noGrad(() => moe.forward(x));
    assert.equal(calls, 1, 'inference in float32 takes the fused call');
    withBf16Compute(true, () => noGrad(() => moe.forward(x)));
    assert.equal(calls, 1, 'bf16 compute runs the loop');
    moe.forward(x);
    assert.equal(calls, 1, 'a forward that may need gradients runs the loop');
    moe.castParameters('bf16', (name, t) => t.ndim === 2 && name.startsWith('experts.0.'));
    noGrad(() => moe.forward(input(4, 8, 3)));
    assert.equal(calls, 1, 'an expert stored in bf16 runs the loop');
  } finally {
    (be as { moeExpertsForward: typeof original }).moeExpertsForward = original;
  }
});

test('combineWeights gives the bits of the routing ops (gather, normalise, scale) for every setting', () => {
  const N = 256, E = 8, K = 3;
  const scores = new Tensor(randArray(N * E, 4, 0, 1), [N, E]);
  const experts = Int32Array.from({ length: N * K }, (_, s) => (s * 3 + Math.floor(s / K)) % E);
  for (const norm of [true, false]) {
    for (const scale of [1, 2.5, 0.3]) {
      let w = F.gather(scores, 1, new Tensor(experts, [N, K]));
      if (norm) w = F.div(w, F.add(F.sum(w, -1, true), 1e-20));
      if (scale !== 1) w = F.mul(w, scale);
      assertBitwise(combineWeights(scores.data as Float32Array, experts, N, E, K, norm, scale), w.data as Float32Array, `norm ${norm} scale ${scale}`);
    }
  }
});
