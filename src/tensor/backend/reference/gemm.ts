import { ShapeError } from '../../../errors.js';
import type { GemmArgs, GemmBf16Args, PackedWeights } from '../backend.js';

/**
 * C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b], accumulated in double precision. With bf16Compute
 * on float32 data (the twin of the native mixed-precision GEMM), A and B are first rounded by
 * roundToBf16Daz.
 */
export function gemm(p: GemmArgs): void {
  const { c, m, n, k, transA, transB, alpha, beta } = p;
  const round = p.bf16Compute === true && p.a instanceof Float32Array && p.b instanceof Float32Array;
  const a = round ? roundToBf16Daz(p.a as Float32Array) : p.a;
  const b = round ? roundToBf16Daz(p.b as Float32Array) : p.b;
  for (let bi = 0; bi < p.batch; bi++) {
    const oa = bi * p.strideA, ob = bi * p.strideB, oc = bi * p.strideC;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < k; l++) {
          const av = transA ? a[oa + l * m + i] : a[oa + i * k + l];
          const bv = transB ? b[ob + j * k + l] : b[ob + l * n + j];
          s += av * bv;
        }
        const idx = oc + i * n + j;
        c[idx] = beta === 0 ? alpha * s : alpha * s + beta * c[idx];
      }
    }
  }
}

/**
 * float32 -> bfloat16 as AVX512_BF16's vcvtne2ps2bf16 does it: round to nearest even, a denormal
 * input becomes a signed zero, NaN stays a quiet NaN. Returns the rounded values as float32.
 */
export function roundToBf16Daz(src: Float32Array): Float32Array {
  const bits = new Uint32Array(src.length);
  const inBits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = inBits[i];
    if ((x & 0x7f800000) === 0) bits[i] = x & 0x80000000; // zero or denormal: signed zero
    else if ((x & 0x7fffffff) > 0x7f800000) bits[i] = (x | 0x00400000) & 0xffff0000; // quiet NaN
    else bits[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) << 16;
  }
  return new Float32Array(bits.buffer);
}

/**
 * GEMM with bfloat16 B: each B element widened to float32 exactly (bits << 16), sums in double.
 * With bf16Dot and transB (the twin of the native AVX512_BF16 path): A rounded by roundToBf16Daz and
 * denormal bf16 weights read as zero first, as vdpbf16ps does.
 */
export function gemmBf16(p: GemmBf16Args): void {
  const { c, m, n, k, transB, beta } = p;
  const dot = p.bf16Dot === true && transB;
  const a = dot ? roundToBf16Daz(p.a) : p.a;
  const b = dot ? Uint16Array.from(p.b, (h) => ((h & 0x7f80) === 0 ? h & 0x8000 : h)) : p.b;
  const wide = new Float32Array(new Uint32Array(Array.from(b, (h) => h << 16)).buffer);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += a[i * k + l] * (transB ? wide[j * k + l] : wide[l * n + j]);
      const idx = i * n + j;
      c[idx] = beta === 0 ? s : s + beta * c[idx];
    }
  }
}

/** The twin of the native packing: the "layout" is W [n, k] itself (a copy, as the native buffer is). */
export function packWeights(w: Float32Array, n: number, k: number): PackedWeights {
  if (w.length < n * k) throw new ShapeError(`packWeights: W has ${w.length} values, expected at least n * k = ${n * k}`);
  return { data: w.slice(0, n * k), n, k, isa: 'reference' };
}

/** C[m, n] = A[m, k] @ W^T + beta * C from packWeights' copy (the reference GEMM with transB). */
export function gemmPrepacked(a: Float32Array, w: PackedWeights, c: Float32Array, m: number, beta: number): void {
  if (w.isa !== 'reference') throw new ShapeError(`gemmPrepacked: the weights were packed for the ${w.isa} kernel, not the reference backend; pack them with the backend that multiplies`);
  gemm({ a, b: w.data, c, batch: 1, m, n: w.n, k: w.k, transA: false, transB: true, strideA: 0, strideB: 0, strideC: 0, alpha: 1, beta });
}
