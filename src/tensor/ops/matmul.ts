/**
 * Matrix products over the backend GEMM: batched matmul with transpose flags, and `linear`
 * (x @ W^T + b, the projection every layer uses) with its fused backward.
 */
import { ShapeError } from '../../errors.js';
import { record } from '../autograd.js';
import { backendFor } from '../backend/index.js';
import type { FloatArray } from '../dtype.js';
import { fmt, shapesEqual, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { commonFloat, uninit } from './util.js';
import { linearBf16 } from './bf16.js';
import { sumToShape } from './reduce.js';
import { bf16ComputeEnabled } from './precision.js';
import { packedWeight } from './packed-weights.js';

export interface MatmulOptions {
  /** use a's last two dims transposed: a is [..., k, m] */
  transA?: boolean;
  /** use b's last two dims transposed: b is [..., n, k] */
  transB?: boolean;
}

/** C = op(A) op(B) + beta * C on raw arrays, batch-strided; mix: bf16 compute (src/tensor/ops/precision.ts). */
function gemm(a: FloatArray, b: FloatArray, c: FloatArray, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, strideA: number, strideB: number, beta: number, mix: boolean): void {
  backendFor(a).gemm({ a, b, c, batch, m, n, k, transA, transB, strideA, strideB, strideC: m * n, alpha: 1, beta, bf16Compute: mix });
}

/**
 * op(a) @ op(b). a: [..., m, k] (or [..., k, m] with transA); b: [..., k, n] (or [..., n, k] with
 * transB). The batch dims of a and b must be equal, or b may be 2-D (shared by every batch), or a
 * may be 2-D. Result: [...batch, m, n].
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  const mix = bf16ComputeEnabled(); // the backward's GEMMs use the forward's precision
  commonFloat('matmul', a, b);
  if (a.ndim < 2 || b.ndim < 2) throw new ShapeError(`matmul: both inputs need >= 2 dims, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar, ka = transA ? ar : ac;
  const kb = transB ? bc : br, n = transB ? br : bc;
  if (ka !== kb) throw new ShapeError(`matmul: inner dims differ: ${fmt(a.shape)}${transA ? 'ᵀ' : ''} @ ${fmt(b.shape)}${transB ? 'ᵀ' : ''} (${ka} vs ${kb})`);
  const k = ka;
  const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
  let batchShape: number[];
  if (shapesEqual(aBatch, bBatch)) batchShape = aBatch;
  else if (bBatch.length === 0) batchShape = aBatch;
  else if (aBatch.length === 0) batchShape = bBatch;
  else throw new ShapeError(`matmul: batch dims differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (equal batch dims, or one side 2-D)`);
  const batch = sizeOf(batchShape);
  const out = uninit([...batchShape, m, n], a.dtype); // beta 0: overwritten
  const sa = aBatch.length === 0 ? 0 : m * k, sb = bBatch.length === 0 ? 0 : k * n;
  const A = a.data as FloatArray, B = b.data as FloatArray, C = out.data as FloatArray;
  if (sb === 0 && sa !== 0 && !transA) gemm(A, B, C, 1, batch * m, n, k, false, transB, 0, 0, 0, mix); // one tall GEMM
  else gemm(A, B, C, batch, m, n, k, transA, transB, sa, sb, 0, mix);

  return record(out, 'matmul', [a, b], (g) => {
    const G = g.data as FloatArray;
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (a.requiresGrad) {
      ga = uninit(a.shape, a.dtype); // the first GEMM into it has beta 0
      const GA = ga.data as FloatArray;
      if (sa === 0) {
        // a shared across the batch: sum the per-batch gradients.
        for (let i = 0; i < batch; i++) gradA(G.subarray(i * m * n), B.subarray(i * sb), GA, 1, i === 0 ? 0 : 1);
      } else if (sb === 0 && !transA) {
        gemm(G, B, GA, 1, batch * m, k, n, false, !transB, 0, 0, 0, mix);
      } else {
        gradA(G, B, GA, batch, 0);
      }
    }
    if (b.requiresGrad) {
      gb = uninit(b.shape, b.dtype); // the first GEMM into it has beta 0
      const GB = gb.data as FloatArray;
      if (sb === 0 && sa !== 0 && !transA) {
        // b shared and a flattened: one GEMM sums over all rows.
        if (transB) gemm(G, A, GB, 1, n, k, batch * m, true, false, 0, 0, 0, mix);
        else gemm(A, G, GB, 1, k, n, batch * m, true, false, 0, 0, 0, mix);
      } else if (sb === 0) {
        for (let i = 0; i < batch; i++) gradB(A.subarray(i * sa), G.subarray(i * m * n), GB, 1, i === 0 ? 0 : 1);
      } else {
        gradB(A, G, GB, batch, 0);
      }
    }
    return [ga, gb];
  });

  // dOpA = G op(B)^T; A = op(A) when !transA, else dA = dOpA^T = op(B) G^T.
  function gradA(G: FloatArray, B: FloatArray, GA: FloatArray, nb: number, beta: number): void {
    if (!transA) backendFor(G).gemm({ a: G, b: B, c: GA, batch: nb, m, n: k, k: n, transA: false, transB: !transB, strideA: m * n, strideB: sb, strideC: m * k, alpha: 1, beta, bf16Compute: mix });
    else backendFor(G).gemm({ a: B, b: G, c: GA, batch: nb, m: k, n: m, k: n, transA: transB, transB: true, strideA: sb, strideB: m * n, strideC: m * k, alpha: 1, beta, bf16Compute: mix });
  }
  // dOpB = op(A)^T G; dB = dOpB when !transB, else dB = G^T op(A).
  function gradB(A: FloatArray, G: FloatArray, GB: FloatArray, nb: number, beta: number): void {
    if (!transB) backendFor(G).gemm({ a: A, b: G, c: GB, batch: nb, m: k, n, k: m, transA: !transA, transB: false, strideA: sa, strideB: m * n, strideC: k * n, alpha: 1, beta, bf16Compute: mix });
    else backendFor(G).gemm({ a: G, b: A, c: GB, batch: nb, m: n, n: k, k: m, transA: true, transB: transA, strideA: m * n, strideB: sa, strideC: k * n, alpha: 1, beta, bf16Compute: mix });
  }
}

/**
 * y = x @ W^T + bias. x: [..., in], weight: [out, in] (the HF / PyTorch layout), bias: [out] or
 * undefined. Result [..., out].
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2) throw new ShapeError(`linear: weight must be [out, in], got ${fmt(weight.shape)}`);
  const [nOut, nIn] = weight.shape;
  if (x.shape[x.ndim - 1] !== nIn) throw new ShapeError(`linear: input ${fmt(x.shape)} does not end in ${nIn} (weight ${fmt(weight.shape)})`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== nOut)) throw new ShapeError(`linear: bias must be [${nOut}], got ${fmt(bias.shape)}`);
  if (weight.dtype === 'bf16') return linearBf16(x, weight, bias);
  commonFloat('linear', x, weight, ...(bias ? [bias] : []));
  const mix = bf16ComputeEnabled(); // the backward's GEMMs use the forward's precision
  const rows = x.size / nIn;
  const out = uninit([...x.shape.slice(0, -1), nOut], x.dtype); // bias rows then beta 1, or beta 0
  const X = x.data as FloatArray, W = weight.data as FloatArray, Y = out.data as FloatArray;
  if (bias) {
    const bd = bias.data as FloatArray;
    for (let r = 0; r < rows; r++) Y.set(bd, r * nOut);
  }
  const packed = mix ? null : packedWeight(W, nOut, nIn, rows);
  if (packed) backendFor(X).gemmPrepacked(X as Float32Array, packed, Y as Float32Array, rows, bias ? 1 : 0);
  else gemm(X, W, Y, 1, rows, nOut, nIn, false, true, 0, 0, bias ? 1 : 0, mix);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(out, 'linear', inputs, (g) => {
    const G = g.data as FloatArray;
    let gx: Tensor | null = null, gw: Tensor | null = null, gbias: Tensor | null = null;
    if (x.requiresGrad) {
      gx = uninit(x.shape, x.dtype); // [rows, in] = G [rows, out] @ W [out, in]
      gemm(G, W, gx.data as FloatArray, 1, rows, nIn, nOut, false, false, 0, 0, 0, mix);
    }
    if (weight.requiresGrad) {
      gw = uninit(weight.shape, weight.dtype); // [out, in] = G^T [out, rows] @ X [rows, in]
      gemm(G, X, gw.data as FloatArray, 1, nOut, nIn, rows, true, false, 0, 0, 0, mix);
    }
    if (bias?.requiresGrad) gbias = sumToShape(new Tensor(G, [rows, nOut]), [nOut]);
    return bias ? [gx, gw, gbias] : [gx, gw];
  });
}
