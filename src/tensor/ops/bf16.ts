/**
 * The two ops that read bf16 (bfloat16) weights directly: `linear` (x @ W^T + b through the
 * bf16-weight GEMM, src/tensor/backend) and `embedding` (rows widened to f32 as they are gathered).
 * Activations, biases and gradients stay f32; a bf16 weight is frozen (no gradient), but the
 * gradient still flows to x, so a bf16 model can sit inside a graph (e.g. a frozen reward model).
 *
 * Opt-in bf16 dot products: GLMKIT_BF16_DOT=1 (or setBf16Dot(true)) makes the forward product round x
 * to bf16 and use AVX512_BF16 dot products where the CPU has them (GemmBf16Args.bf16Dot); faster
 * decode and prefill, results within bf16 rounding of the default. The backward stays float32.
 */
import { DataError, DTypeError, UsageError } from '../../errors.js';
import { record } from '../autograd.js';
import { backendFor } from '../backend/index.js';
import { fmt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { sumToShape } from './reduce.js';
import { uninit } from './util.js';

function needF32(op: string, t: Tensor, name: string): Float32Array {
  if (t.dtype !== 'f32') throw new DTypeError(`${op}: with a bf16 weight '${name}' must be f32, got ${t.dtype} of shape ${fmt(t.shape)}; bf16 weights compute in f32`);
  return t.data as Float32Array;
}

let bf16Dot: boolean | null = null; // null: not yet read from GLMKIT_BF16_DOT

/** Whether linear with a bf16 weight asks for bf16 dot products (GLMKIT_BF16_DOT=1 unless set by setBf16Dot). */
export function bf16DotEnabled(): boolean {
  if (bf16Dot === null) {
    const v = process.env.GLMKIT_BF16_DOT ?? '';
    if (v !== '' && v !== '0' && v !== '1') throw new UsageError(`GLMKIT_BF16_DOT must be 1 (bf16 dot products) or 0 (float32 activations), got '${v}'; unset it for the default`);
    bf16Dot = v === '1';
  }
  return bf16Dot;
}

/** Turns the bf16-dot forward on or off for this process; null returns to GLMKIT_BF16_DOT. */
export function setBf16Dot(on: boolean | null): void {
  bf16Dot = on;
}

/** y = x @ W^T + bias with W [out, in] stored as bf16. x: [..., in] f32 -> [..., out] f32. */
export function linearBf16(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const [nOut, nIn] = weight.shape;
  const X = needF32('linear', x, 'x');
  const W = weight.data as Uint16Array;
  const rows = x.size / nIn;
  const out = uninit([...x.shape.slice(0, -1), nOut], 'f32'); // bias rows then beta 1, or beta 0
  const Y = out.data as Float32Array;
  if (bias) {
    const bd = needF32('linear', bias, 'bias');
    for (let r = 0; r < rows; r++) Y.set(bd, r * nOut);
  }
  backendFor(X).gemmBf16({ a: X, b: W, c: Y, m: rows, n: nOut, k: nIn, transB: true, beta: bias ? 1 : 0, bf16Dot: bf16DotEnabled() });
  const inputs = bias ? [x, bias] : [x];
  return record(out, 'linear_bf16', inputs, (g) => {
    const G = g.data as Float32Array;
    let gx: Tensor | null = null;
    if (x.requiresGrad) {
      gx = uninit(x.shape, 'f32'); // [rows, in] = G [rows, out] @ W [out, in]
      backendFor(G).gemmBf16({ a: G, b: W, c: gx.data as Float32Array, m: rows, n: nIn, k: nOut, transB: false, beta: 0 });
    }
    const gbias = bias?.requiresGrad ? sumToShape(new Tensor(G, [rows, nOut]), [nOut]) : null;
    return bias ? [gx, gbias] : [gx];
  });
}

/** out[..., :] = f32(table[ids[...], :]) for a bf16 table [vocab, dim]. No gradient (the table is frozen). */
export function embeddingBf16(table: Tensor, ids: Int32Array, idsShape: readonly number[]): Tensor {
  const [V, D] = table.shape;
  const T = table.data as Uint16Array;
  const out = uninit([...idsShape, D], 'f32');
  const O32 = new Uint32Array(out.data.buffer, out.data.byteOffset, out.size);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < V)) throw new DataError(`embedding: token id ${id} at position ${i} is outside the vocabulary [0, ${V}); check the tokenizer against the model's vocab size`);
    const src = id * D, dst = i * D;
    for (let j = 0; j < D; j++) O32[dst + j] = T[src + j] << 16;
  }
  return out;
}
