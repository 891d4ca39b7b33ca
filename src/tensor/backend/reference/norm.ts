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

/**
 * LayerNorm (biased variance): out[r] = (x[r] - mean[r]) * rstd[r] * w + b with
 * rstd[r] = 1 / sqrt(mean((x[r] - mean[r])^2) + eps). mean and rstd [rows] are saved for backward.
 */
export function layernormForward(x: FloatArray, w: FloatArray, b: FloatArray, out: FloatArray, mean: FloatArray, rstd: FloatArray, rows: number, dim: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[o + j];
    const mu = s / dim;
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += (x[o + j] - mu) * (x[o + j] - mu);
    const rs = 1 / Math.sqrt(ss / dim + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < dim; j++) out[o + j] = (x[o + j] - mu) * rs * w[j] + b[j];
  }
}

/**
 * With xhat = (x - mean) * rstd and g = w * dy:
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))   (overwritten)
 *   dw += sum over rows of dy * xhat,  db += sum over rows of dy   (accumulated)
 */
export function layernormBackward(dy: FloatArray, x: FloatArray, w: FloatArray, mean: FloatArray, rstd: FloatArray, dx: FloatArray, dw: FloatArray, db: FloatArray, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const mu = mean[r], rs = rstd[r];
    let sg = 0, sgx = 0;
    for (let j = 0; j < dim; j++) {
      const g = w[j] * dy[o + j];
      sg += g;
      sgx += g * (x[o + j] - mu) * rs;
    }
    for (let j = 0; j < dim; j++) {
      const xh = (x[o + j] - mu) * rs;
      dx[o + j] = rs * (w[j] * dy[o + j] - sg / dim - xh * (sgx / dim));
      dw[j] += dy[o + j] * xh;
      db[j] += dy[o + j];
    }
  }
}
