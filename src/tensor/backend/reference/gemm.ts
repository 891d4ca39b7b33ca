import type { GemmArgs, GemmBf16Args } from '../backend.js';

/** C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b], accumulated in double precision. */
export function gemm(p: GemmArgs): void {
  const { a, b, c, m, n, k, transA, transB, alpha, beta } = p;
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

/** GEMM with bfloat16 B: each B element widened to float32 exactly (bits << 16), sums in double. */
export function gemmBf16(p: GemmBf16Args): void {
  const { a, b, c, m, n, k, transB, beta } = p;
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
