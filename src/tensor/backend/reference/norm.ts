/**
 * Reference RMSNorm: y = w * x / sqrt(mean(x^2) + eps) per row, and its backward. Plain loops in
 * JavaScript numbers (double precision) for Float32Array and Float64Array alike.
 */
import type { FloatArray } from '../../dtype.js';

/** out[r] = w * x[r] * rstd[r], rstd[r] = 1 / sqrt(mean(x[r]^2) + eps). x, out: [rows, dim]; w: [dim]; rstd: [rows]. */
export function rmsnormForward(x: FloatArray, w: FloatArray, out: FloatArray, rstd: FloatArray, rows: number, dim: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[o + j] * x[o + j];
    const rs = 1 / Math.sqrt(ss / dim + eps);
    rstd[r] = rs;
    for (let j = 0; j < dim; j++) out[o + j] = w[j] * x[o + j] * rs;
  }
}

/**
 * With g = w * dy and r = rstd[row]:
 *   dx = r * g - x * r^3 * sum(g * x) / dim   (overwritten)
 *   dw += sum over rows of dy * x * r           (accumulated)
 */
export function rmsnormBackward(dy: FloatArray, x: FloatArray, w: FloatArray, rstd: FloatArray, dx: FloatArray, dw: FloatArray, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const rs = rstd[r];
    let gx = 0;
    for (let j = 0; j < dim; j++) gx += w[j] * dy[o + j] * x[o + j];
    for (let j = 0; j < dim; j++) {
      dx[o + j] = rs * w[j] * dy[o + j] - (x[o + j] * rs * rs * rs * gx) / dim;
      dw[j] += dy[o + j] * x[o + j] * rs;
    }
  }
}
