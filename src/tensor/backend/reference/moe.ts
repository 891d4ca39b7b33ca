/** Reference twin of native/kernels/moe.cpp: an MoE layer's experts for inference, as the module's ops compute them. */
import { ShapeError } from '../../../errors.js';
import type { FloatArray } from '../../dtype.js';
import type { ExpertWeights, MoeExpertsArgs } from '../backend.js';
import { swigluForward } from './elementwise.js';
import { gemm } from './gemm.js';

/** A zeroed array of x's element type (so float32 inputs round each intermediate as the ops do). */
function like(x: FloatArray, n: number): FloatArray {
  return x instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

/** y [m, H] = swiglu([x Wg^T | x Wu^T]) Wd^T for x [m, H]. */
function expertMlp(x: FloatArray, m: number, H: number, e: ExpertWeights): FloatArray {
  const I = e.inner;
  const product = (a: FloatArray, w: FloatArray, n: number, k: number): FloatArray => {
    const c = like(x, m * n);
    gemm({ a, b: w, c, batch: 1, m, n, k, transA: false, transB: true, strideA: 0, strideB: 0, strideC: 0, alpha: 1, beta: 0 });
    return c;
  };
  const g = product(x, e.gate, I, H), u = product(x, e.up, I, H);
  const gu = like(x, m * 2 * I);
  for (let r = 0; r < m; r++) {
    gu.set(g.subarray(r * I, (r + 1) * I), r * 2 * I);
    gu.set(u.subarray(r * I, (r + 1) * I), r * 2 * I + I);
  }
  const act = like(x, m * I);
  swigluForward(gu, act, m, I);
  return product(act, e.down, H, I);
}

export function moeExpertsForward(p: MoeExpertsArgs): void {
  const { x, tokens: N, hidden: H, k: K, out } = p;
  for (const [s, e] of p.slotExpert.entries()) {
    if (s >= N * K) break;
    if (e < -1 || e >= p.experts.length) throw new ShapeError(`moeExpertsForward: slotExpert[${s}] = ${e} is outside [-1, ${p.experts.length})`);
  }
  out.fill(0, 0, N * H);
  p.experts.forEach((expert, e) => {
    const slots: number[] = [];
    for (let s = 0; s < N * K; s++) if (p.slotExpert[s] === e) slots.push(s);
    if (slots.length === 0) return;
    const xe = like(x, slots.length * H);
    slots.forEach((s, r) => xe.set(x.subarray(Math.floor(s / K) * H, Math.floor(s / K) * H + H), r * H));
    const ye = expertMlp(xe, slots.length, H, expert);
    slots.forEach((s, r) => {
      const o = Math.floor(s / K) * H, w = p.weights[s];
      const prod = like(x, H);
      for (let h = 0; h < H; h++) prod[h] = ye[r * H + h] * w; // rounded to x's type, as the module's mul
      for (let h = 0; h < H; h++) out[o + h] += prod[h];
    });
  });
  if (p.shared) {
    const ys = expertMlp(x.subarray(0, N * H), N, H, p.shared);
    for (let i = 0; i < N * H; i++) out[i] += ys[i];
  }
}
