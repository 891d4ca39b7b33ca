/**
 * Reference softmax, log-softmax and cross-entropy over the last dim, in JavaScript numbers.
 * Stable by max-shifting each row. Non-finite inputs follow the same rules as the native kernels:
 *   - -inf entries get probability 0 (log-probability -inf);
 *   - a row that is all -inf has no mass: softmax 0, log-softmax -inf, lse -inf, cross-entropy loss
 *     +inf (0 when ignored) and gradient -dloss at the target, 0 elsewhere;
 *   - a target whose logit is -inf in an otherwise finite row has loss +inf;
 *   - +inf or NaN anywhere in a row makes the row NaN.
 */
import { DataError } from '../../../errors.js';
import type { FloatArray } from '../../dtype.js';

/** max over x[o, o+n); NaN if any entry is NaN. */
function rowMax(x: FloatArray, o: number, n: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = x[o + j];
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  return m;
}

/** Row max m and s = sum exp(x - m) over x[o, o+n); s = 0 for an all -inf row. */
function rowMaxSum(x: FloatArray, o: number, n: number): { m: number; s: number } {
  const m = rowMax(x, o, n);
  if (m === -Infinity) return { m, s: 0 };
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(x[o + j] - m);
  return { m, s };
}

/** log(sum exp(x[o, o+n))) = m + log(sum exp(x - m)); -inf for an all -inf row. */
function rowLse(x: FloatArray, o: number, n: number): number {
  const { m, s } = rowMaxSum(x, o, n);
  return m === -Infinity ? -Infinity : m + Math.log(s);
}

/** out[r] = exp(x[r] - max) / sum(exp(x[r] - max)); out may alias x. */
export function softmaxForward(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const { m, s } = rowMaxSum(x, o, cols);
    for (let j = 0; j < cols; j++) out[o + j] = m === -Infinity ? 0 : Math.exp(x[o + j] - m) / s;
  }
}

/** dx = y * (dy - sum(dy * y)) per row, y the softmax output. */
export function softmaxBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let d = 0;
    for (let j = 0; j < cols; j++) d += dy[o + j] * y[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - d);
  }
}

/** out[r] = (x[r] - max) - log(sum(exp(x[r] - max))); out may alias x. */
export function logSoftmaxForward(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const { m, s } = rowMaxSum(x, o, cols);
    const logS = Math.log(s);
    for (let j = 0; j < cols; j++) out[o + j] = m === -Infinity ? -Infinity : x[o + j] - m - logS;
  }
}

/** dx = dy - exp(y) * sum(dy) per row, y the log-softmax output. */
export function logSoftmaxBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += dy[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j] - Math.exp(y[o + j]) * s;
  }
}

/** Throws DataError naming the first target outside [0, cols) that is not ignoreIndex. */
function checkTargets(op: string, targets: Int32Array, rows: number, cols: number, ignoreIndex: number): void {
  if (targets.length < rows) {
    throw new DataError(`${op}: expected ${rows} targets (one per row), got ${targets.length}`);
  }
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t !== ignoreIndex && (t < 0 || t >= cols)) {
      throw new DataError(`${op}: target ${t} at row ${r} is outside [0, ${cols}) and is not the ignore index ${ignoreIndex}; check the labels against the vocabulary size`);
    }
  }
}

/** losses[r] = lse(logits[r]) - logits[r, targets[r]] (0 for ignored rows); lse[r] always written. */
export function crossEntropyForward(logits: FloatArray, targets: Int32Array, losses: FloatArray, lse: FloatArray, rows: number, cols: number, ignoreIndex: number): void {
  checkTargets('crossEntropyForward', targets, rows, cols, ignoreIndex);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const l = rowLse(logits, o, cols);
    lse[r] = l;
    const t = targets[r];
    if (t === ignoreIndex) losses[r] = 0;
    else if (l === -Infinity) losses[r] = Infinity;
    else losses[r] = l - logits[o + t];
  }
}

/** dlogits[r] = dloss[r] * (softmax(logits[r]) - onehot(targets[r])), using the saved lse; 0 for ignored rows. */
export function crossEntropyBackward(logits: FloatArray, targets: Int32Array, lse: FloatArray, dloss: FloatArray, dlogits: FloatArray, rows: number, cols: number, ignoreIndex: number): void {
  checkTargets('crossEntropyBackward', targets, rows, cols, ignoreIndex);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const t = targets[r];
    const l = lse[r];
    for (let j = 0; j < cols; j++) {
      if (t === ignoreIndex) {
        dlogits[o + j] = 0;
        continue;
      }
      const p = l === -Infinity ? 0 : Math.exp(logits[o + j] - l);
      dlogits[o + j] = dloss[r] * (p - (j === t ? 1 : 0));
    }
  }
}
