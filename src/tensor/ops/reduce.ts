/** Reductions along one axis (or all), with backward beside forward. */
import { ShapeError } from '../../errors.js';
import { record } from '../autograd.js';
import type { FloatArray } from '../dtype.js';
import { fmt, normAxis, shapesEqual, sizeOf, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { empty, floatData } from './util.js';

/** Splits a shape around `axis` into (outer, len, inner) so element (o, i, n) is at (o*len + i)*inner + n. */
function around(shape: Shape, axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

function reducedShape(shape: Shape, axis: number, keepdim: boolean): number[] {
  const s = [...shape];
  if (keepdim) s[axis] = 1;
  else s.splice(axis, 1);
  return s;
}

/** Broadcasts g (reduced along axis) back to `shape`. */
function expandAlong(g: Tensor, shape: Shape, axis: number): Tensor {
  const [outer, len, inner] = around(shape, axis);
  const out = empty(shape, g.dtype);
  const o = out.data as FloatArray, gd = g.data as FloatArray;
  for (let a = 0; a < outer; a++)
    for (let i = 0; i < len; i++) {
      const base = (a * len + i) * inner;
      for (let n = 0; n < inner; n++) o[base + n] = gd[a * inner + n];
    }
  return out;
}

/** Sum over `axis` (all elements when undefined). */
export function sum(x: Tensor, axis?: number, keepdim = false): Tensor {
  const xd = floatData(x, 'sum');
  if (axis === undefined) {
    let s = 0;
    for (let i = 0; i < xd.length; i++) s += xd[i];
    const out = Tensor.full(keepdim ? x.shape.map(() => 1) : [], s, x.dtype);
    return record(out, 'sum', [x], (g) => [Tensor.full(x.shape, g.data[0], x.dtype)]);
  }
  const ax = normAxis('sum', axis, x.ndim);
  const [outer, len, inner] = around(x.shape, ax);
  const out = empty(reducedShape(x.shape, ax, keepdim), x.dtype);
  const o = out.data as FloatArray;
  for (let a = 0; a < outer; a++)
    for (let i = 0; i < len; i++) {
      const base = (a * len + i) * inner;
      for (let n = 0; n < inner; n++) o[a * inner + n] += xd[base + n];
    }
  return record(out, 'sum', [x], (g) => [expandAlong(g, x.shape, ax)]);
}

export function mean(x: Tensor, axis?: number, keepdim = false): Tensor {
  const n = axis === undefined ? x.size : x.shape[normAxis('mean', axis, x.ndim)];
  const s = sum(x, axis, keepdim);
  return scaleBy(s, n === 0 ? NaN : 1 / n);
}

function scaleBy(x: Tensor, s: number): Tensor {
  const out = empty(x.shape, x.dtype);
  const o = out.data as FloatArray, xd = x.data as FloatArray;
  for (let i = 0; i < o.length; i++) o[i] = xd[i] * s;
  return record(out, 'scale', [x], (g) => [scaleBy(g, s)]);
}

/** Max over `axis` (values); the gradient goes to the first position of the max. */
export function max(x: Tensor, axis: number, keepdim = false): Tensor {
  const xd = floatData(x, 'max');
  const ax = normAxis('max', axis, x.ndim);
  const [outer, len, inner] = around(x.shape, ax);
  if (len === 0) throw new ShapeError(`max: cannot reduce an empty axis of shape ${fmt(x.shape)}`);
  const out = empty(reducedShape(x.shape, ax, keepdim), x.dtype);
  const o = out.data as FloatArray;
  const arg = new Int32Array(outer * inner);
  for (let a = 0; a < outer; a++)
    for (let n = 0; n < inner; n++) {
      let best = -Infinity, bi = 0;
      for (let i = 0; i < len; i++) {
        const v = xd[(a * len + i) * inner + n];
        if (v > best) {
          best = v;
          bi = i;
        }
      }
      o[a * inner + n] = xd[(a * len + bi) * inner + n];
      arg[a * inner + n] = bi;
    }
  return record(out, 'max', [x], (g) => {
    const gx = empty(x.shape, x.dtype);
    const gd = gx.data as FloatArray, gg = g.data as FloatArray;
    for (let a = 0; a < outer; a++)
      for (let n = 0; n < inner; n++) gd[(a * len + arg[a * inner + n]) * inner + n] = gg[a * inner + n];
    return [gx];
  });
}

/**
 * Sums a broadcast gradient back to `shape` (the backward of broadcasting): dims that were added
 * in front are summed away, dims that were 1 are summed with keepdim.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new ShapeError(`sumToShape: cannot reduce ${fmt(g.shape)} to ${fmt(shape)}`);
  const gd = g.data as FloatArray;
  const out = empty(shape, g.dtype);
  const o = out.data as FloatArray;
  // Fast path: g is [..., shape] with shape's dims all kept (a bias-style broadcast).
  if (shapesEqual(g.shape.slice(lead), shape)) {
    const m = o.length;
    for (let r = 0; r < gd.length; r += m) for (let i = 0; i < m; i++) o[i] += gd[r + i];
    return out;
  }
  // General: map each g index to its target index.
  const nd = g.ndim;
  const tStrides = new Array<number>(nd).fill(0);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const gdim = g.shape[d + lead];
    if (shape[d] !== 1 && shape[d] !== gdim) throw new ShapeError(`sumToShape: cannot reduce ${fmt(g.shape)} to ${fmt(shape)}`);
    tStrides[d + lead] = shape[d] === 1 ? 0 : acc;
    acc *= shape[d];
  }
  const idx = new Array<number>(nd).fill(0);
  for (let i = 0; i < gd.length; i++) {
    let off = 0;
    for (let d = 0; d < nd; d++) off += idx[d] * tStrides[d];
    o[off] += gd[i];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < g.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
