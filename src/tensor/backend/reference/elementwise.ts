/** Reference same-length add / multiply, SwiGLU (fused gate/up layout) and embedding gather / scatter-add, in JavaScript numbers. */
import { DataError } from '../../../errors.js';
import type { FloatArray } from '../../dtype.js';

function sigmoid(g: number): number {
  return 1 / (1 + Math.exp(-g));
}

/** out[i] = x[i] + y[i] for i < n. */
export function addForward(x: FloatArray, y: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i] + y[i];
}

/** out[i] = x[i] * y[i] for i < n. */
export function mulForward(x: FloatArray, y: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i] * y[i];
}

/** x: [rows, 2*inner] = [gate | up]; out[r, j] = silu(gate[r, j]) * up[r, j] with silu(g) = g * sigmoid(g). */
export function swigluForward(x: FloatArray, out: FloatArray, rows: number, inner: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * 2 * inner;
    for (let j = 0; j < inner; j++) {
      const g = x[o + j], u = x[o + inner + j];
      out[r * inner + j] = g * sigmoid(g) * u;
    }
  }
}

/**
 * dx [rows, 2*inner], overwritten:
 *   d gate = dout * up * sigmoid(g) * (1 + g * (1 - sigmoid(g)))   (derivative of g * sigmoid(g))
 *   d up   = dout * silu(g)
 */
export function swigluBackward(x: FloatArray, dout: FloatArray, dx: FloatArray, rows: number, inner: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * 2 * inner;
    for (let j = 0; j < inner; j++) {
      const g = x[o + j], u = x[o + inner + j], d = dout[r * inner + j];
      const s = sigmoid(g);
      dx[o + j] = d * u * s * (1 + g * (1 - s));
      dx[o + inner + j] = d * g * s;
    }
  }
}

/** Throws DataError naming the first id outside [0, vocab). */
function checkIds(op: string, ids: Int32Array, vocab: number): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw new DataError(`${op}: token id ${ids[i]} at position ${i} is outside the vocabulary [0, ${vocab}); check the tokenizer against the model's vocab size`);
    }
  }
}

/** out[i, :] = table[ids[i], :] for every i; table [vocab, dim], out [ids.length, dim]. */
export function embeddingForward(table: FloatArray, ids: Int32Array, out: FloatArray, vocab: number, dim: number): void {
  checkIds('embeddingForward', ids, vocab);
  for (let i = 0; i < ids.length; i++) {
    for (let j = 0; j < dim; j++) out[i * dim + j] = table[ids[i] * dim + j];
  }
}

/** dtable[ids[i], :] += dout[i, :]; repeated ids accumulate. */
export function embeddingBackward(ids: Int32Array, dout: FloatArray, dtable: FloatArray, vocab: number, dim: number): void {
  checkIds('embeddingBackward', ids, vocab);
  for (let i = 0; i < ids.length; i++) {
    for (let j = 0; j < dim; j++) dtable[ids[i] * dim + j] += dout[i * dim + j];
  }
}

/**
 * erf(x) in double precision: the Maclaurin series for |x| < 3 (alternating terms, ~1e-15 relative
 * error there) and the continued fraction of erfc beyond (evaluated backwards from a fixed depth).
 * JavaScript's Math has no erf.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax, sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const v = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -v : v;
  }
  if (ax > 10) return x < 0 ? -1 : 1;
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

/** GELU, exact form (torch.nn.GELU()): out[i] = x * (1 + erf(x / sqrt 2)) / 2. */
export function geluForward(x: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] / Math.SQRT2));
}

/** dx[i] = dout[i] * (Phi(x) + x * phi(x)), Phi the normal CDF, phi its density. Overwritten. */
export function geluBackward(x: FloatArray, dout: FloatArray, dx: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const cdf = 0.5 * (1 + erf(v / Math.SQRT2));
    const pdf = Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
    dx[i] = dout[i] * (cdf + v * pdf);
  }
}
