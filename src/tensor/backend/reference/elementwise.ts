/** Reference SwiGLU (fused gate/up layout) and embedding gather / scatter-add, in JavaScript numbers. */
import { DataError } from '../../../errors.js';
import type { FloatArray } from '../../dtype.js';

function sigmoid(g: number): number {
  return 1 / (1 + Math.exp(-g));
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
