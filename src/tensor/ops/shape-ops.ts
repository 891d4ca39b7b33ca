/**
 * Shape and indexing ops: reshape, permute/transpose, slice, concat, split, index-select,
 * gather and scatter-add, each with its backward. Outputs are contiguous copies, except reshape,
 * which shares data.
 */
import { ShapeError } from '../../errors.js';
import { record } from '../autograd.js';
import type { FloatArray, TypedData } from '../dtype.js';
import { fmt, normAxis, sizeOf, stridesOf, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { empty, intData } from './util.js';

/** A view with another shape (one dim may be -1). Shares data. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== neg));
    if (rest === 0 || x.size % rest !== 0) throw new ShapeError(`reshape: cannot infer -1 reshaping ${fmt(x.shape)} to ${fmt(shape)}`);
    s[neg] = x.size / rest;
  }
  if (sizeOf(s) !== x.size) throw new ShapeError(`reshape: ${fmt(x.shape)} (${x.size} elements) cannot become ${fmt(shape)}`);
  const out = new Tensor(x.data, s);
  return record(out, 'reshape', [x], (g) => [new Tensor(g.data, x.shape)]);
}

/** Reorders dims: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.ndim || new Set(perm.map((p) => normAxis('permute', p, x.ndim))).size !== x.ndim) {
    throw new ShapeError(`permute: ${fmt(perm)} is not a permutation of the ${x.ndim} dims of ${fmt(x.shape)}`);
  }
  const p = perm.map((a) => normAxis('permute', a, x.ndim));
  const out = new Tensor(permuteData(x.data, x.shape, p), p.map((a) => x.shape[a]));
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return record(out, 'permute', [x], (g) => [new Tensor(permuteData(g.data, g.shape, inv), x.shape)]);
}

function permuteData(data: TypedData, shape: Shape, p: readonly number[]): TypedData {
  const nd = shape.length;
  const inStrides = stridesOf(shape);
  const outShape = p.map((a) => shape[a]);
  const strides = p.map((a) => inStrides[a]); // input stride for each output dim
  const out = new (data.constructor as new (n: number) => TypedData)(data.length);
  if (data.length === 0) return out;
  const inner = outShape[nd - 1], si = strides[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  for (let o = 0; o < out.length; o += inner) {
    let off = 0;
    for (let d = 0; d < nd - 1; d++) off += idx[d] * strides[d];
    for (let i = 0; i < inner; i++) out[o + i] = data[off + i * si];
    for (let d = nd - 2; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Swaps two dims. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const p = Array.from({ length: x.ndim }, (_, i) => i);
  const i = normAxis('transpose', a, x.ndim), j = normAxis('transpose', b, x.ndim);
  [p[i], p[j]] = [p[j], p[i]];
  return permute(x, p);
}

function around(shape: Shape, axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

/** x[..., start:end, ...] along `axis` (end exclusive; negative indices count from the end). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const ax = normAxis('slice', axis, x.ndim);
  const len = x.shape[ax];
  const s = start < 0 ? start + len : start;
  const e = end === undefined ? len : end < 0 ? end + len : end;
  if (s < 0 || e > len || s > e) throw new ShapeError(`slice: range [${start}, ${end ?? len}) is out of bounds for dim ${axis} of ${fmt(x.shape)}`);
  const [outer, , inner] = around(x.shape, ax);
  const shape = [...x.shape];
  shape[ax] = e - s;
  const out = new Tensor(new (x.data.constructor as new (n: number) => TypedData)(sizeOf(shape)), shape);
  const w = (e - s) * inner;
  for (let o = 0; o < outer; o++) out.data.set(x.data.subarray((o * len + s) * inner, (o * len + s) * inner + w), o * w);
  return record(out, 'slice', [x], (g) => {
    const gx = empty(x.shape, g.dtype);
    for (let o = 0; o < outer; o++) gx.data.set(g.data.subarray(o * w, (o + 1) * w), (o * len + s) * inner);
    return [gx];
  });
}

/** Concatenates along `axis`; all other dims must agree. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: no tensors given');
  const ax = normAxis('concat', axis, xs[0].ndim);
  for (const t of xs) {
    if (t.ndim !== xs[0].ndim || t.shape.some((d, i) => i !== ax && d !== xs[0].shape[i]) || t.dtype !== xs[0].dtype) {
      throw new ShapeError(`concat: ${xs.map((t) => `${t.dtype}${fmt(t.shape)}`).join(', ')} do not agree outside dim ${axis}`);
    }
  }
  const [outer, , inner] = around(xs[0].shape, ax);
  const total = xs.reduce((n, t) => n + t.shape[ax], 0);
  const shape = [...xs[0].shape];
  shape[ax] = total;
  const out = new Tensor(new (xs[0].data.constructor as new (n: number) => TypedData)(sizeOf(shape)), shape);
  let off = 0;
  for (const t of xs) {
    const w = t.shape[ax] * inner;
    for (let o = 0; o < outer; o++) out.data.set(t.data.subarray(o * w, (o + 1) * w), o * total * inner + off);
    off += w;
  }
  return record(out, 'concat', xs, (g) => {
    let start = 0;
    return xs.map((t) => {
      const part = sliceRaw(g, ax, start, start + t.shape[ax]);
      start += t.shape[ax];
      return part;
    });
  });
}

function sliceRaw(x: Tensor, axis: number, s: number, e: number): Tensor {
  const [outer, len, inner] = around(x.shape, axis);
  const shape = [...x.shape];
  shape[axis] = e - s;
  const out = empty(shape, x.dtype);
  const w = (e - s) * inner;
  for (let o = 0; o < outer; o++) out.data.set(x.data.subarray((o * len + s) * inner, (o * len + s) * inner + w), o * w);
  return out;
}

/** Splits along `axis` into pieces of the given sizes (or `n` equal pieces). */
export function split(x: Tensor, sizes: number | readonly number[], axis = -1): Tensor[] {
  const ax = normAxis('split', axis, x.ndim);
  const len = x.shape[ax];
  let parts: number[];
  if (typeof sizes === 'number') {
    if (len % sizes !== 0) throw new ShapeError(`split: dim ${axis} of ${fmt(x.shape)} is not divisible into ${sizes} pieces`);
    parts = new Array<number>(sizes).fill(len / sizes);
  } else {
    parts = [...sizes];
  }
  if (parts.reduce((a, b) => a + b, 0) !== len) throw new ShapeError(`split: sizes ${fmt(parts)} do not add up to dim ${axis} (${len}) of ${fmt(x.shape)}`);
  let start = 0;
  return parts.map((p) => {
    const t = slice(x, ax, start, start + p);
    start += p;
    return t;
  });
}

/** Selects slices along `axis` by an int32 index vector: out.shape[axis] = ids.length. */
export function indexSelect(x: Tensor, axis: number, ids: Tensor): Tensor {
  const ax = normAxis('indexSelect', axis, x.ndim);
  const id = intData(ids, 'indexSelect');
  const [outer, len, inner] = around(x.shape, ax);
  for (let i = 0; i < id.length; i++) {
    if (id[i] < 0 || id[i] >= len) throw new ShapeError(`indexSelect: index ${id[i]} at position ${i} is outside [0, ${len}) for dim ${axis} of ${fmt(x.shape)}`);
  }
  const shape = [...x.shape];
  shape[ax] = id.length;
  const out = new Tensor(new (x.data.constructor as new (n: number) => TypedData)(sizeOf(shape)), shape);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < id.length; i++) {
      const src = (o * len + id[i]) * inner;
      out.data.set(x.data.subarray(src, src + inner), (o * id.length + i) * inner);
    }
  return record(out, 'indexSelect', [x], (g) => {
    const gx = empty(x.shape, g.dtype);
    const gd = gx.data as FloatArray, gg = g.data as FloatArray;
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < id.length; i++) {
        const dst = (o * len + id[i]) * inner, src = (o * id.length + i) * inner;
        for (let n = 0; n < inner; n++) gd[dst + n] += gg[src + n];
      }
    return [gx];
  });
}

/** Checks an index tensor for gather/scatterAdd: same ndim as x, same size outside `axis`. */
function checkIndex(op: string, x: Shape, index: Tensor, ax: number, len: number): Int32Array {
  const id = intData(index, op, 'index');
  if (index.ndim !== x.length || index.shape.some((d, i) => i !== ax && d !== x[i])) {
    throw new ShapeError(`${op}: index of shape ${fmt(index.shape)} must match ${fmt(x)} outside dim ${ax}`);
  }
  for (let i = 0; i < id.length; i++) {
    if (id[i] < 0 || id[i] >= len) throw new ShapeError(`${op}: index ${id[i]} at flat position ${i} is outside [0, ${len})`);
  }
  return id;
}

/** out[..., j, ...] = x[..., index[..., j, ...], ...] along `axis` (torch.gather). */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const ax = normAxis('gather', axis, x.ndim);
  const [outer, len, inner] = around(x.shape, ax);
  const id = checkIndex('gather', x.shape, index, ax, len);
  const k = index.shape[ax];
  const out = empty(index.shape, x.dtype);
  const o = out.data as FloatArray, xd = x.data as FloatArray;
  for (let a = 0; a < outer; a++)
    for (let j = 0; j < k; j++)
      for (let n = 0; n < inner; n++) {
        const p = (a * k + j) * inner + n;
        o[p] = xd[(a * len + id[p]) * inner + n];
      }
  return record(out, 'gather', [x], (g) => [scatterAddRaw(empty(x.shape, g.dtype), ax, id, index.shape, g)]);
}

function scatterAddRaw(base: Tensor, ax: number, id: Int32Array, indexShape: Shape, src: Tensor): Tensor {
  const [outer, len, inner] = around(base.shape, ax);
  const k = indexShape[ax];
  const bd = base.data as FloatArray, sd = src.data as FloatArray;
  for (let a = 0; a < outer; a++)
    for (let j = 0; j < k; j++)
      for (let n = 0; n < inner; n++) {
        const p = (a * k + j) * inner + n;
        bd[(a * len + id[p]) * inner + n] += sd[p];
      }
  return base;
}

/** out = base with src added at index along `axis` (torch.scatter_add); differentiable in base and src. */
export function scatterAdd(base: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  const ax = normAxis('scatterAdd', axis, base.ndim);
  const id = checkIndex('scatterAdd', base.shape, index, ax, base.shape[ax]);
  if (src.size !== index.size) throw new ShapeError(`scatterAdd: src ${fmt(src.shape)} must have the shape of index ${fmt(index.shape)}`);
  const out = scatterAddRaw(base.clone(), ax, id, index.shape, src);
  return record(out, 'scatterAdd', [base, src], (g) => {
    const [outer, len, inner] = around(base.shape, ax);
    const k = index.shape[ax];
    const gs = empty(index.shape, g.dtype);
    const gsd = gs.data as FloatArray, gd = g.data as FloatArray;
    for (let a = 0; a < outer; a++)
      for (let j = 0; j < k; j++)
        for (let n = 0; n < inner; n++) {
          const p = (a * k + j) * inner + n;
          gsd[p] = gd[(a * len + id[p]) * inner + n];
        }
    return [g, gs];
  });
}

/**
 * out = base with src rows added at `ids` along axis 0 (torch.index_add): out[ids[i]] += src[i].
 * base: [N, ...], src: [ids.length, ...]. Differentiable in base and src (src's gradient is
 * indexSelect of the output gradient). The combine step of MoE dispatch.
 */
export function indexAdd(base: Tensor, ids: Tensor, src: Tensor): Tensor {
  const id = intData(ids, 'indexAdd');
  const inner = base.ndim === 0 ? 1 : sizeOf(base.shape.slice(1));
  if (src.shape[0] !== id.length || sizeOf(src.shape.slice(1)) !== inner) {
    throw new ShapeError(`indexAdd: src ${fmt(src.shape)} must be [${id.length}, ...${fmt(base.shape.slice(1))}] for base ${fmt(base.shape)}`);
  }
  const n = base.shape[0];
  for (let i = 0; i < id.length; i++) if (id[i] < 0 || id[i] >= n) throw new ShapeError(`indexAdd: index ${id[i]} at position ${i} is outside [0, ${n})`);
  const out = base.clone();
  const o = out.data as FloatArray, s = src.data as FloatArray;
  for (let i = 0; i < id.length; i++) {
    const dst = id[i] * inner, from = i * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += s[from + j];
  }
  return record(out, 'indexAdd', [base, src], (g) => {
    const gs = empty(src.shape, g.dtype);
    const gd = g.data as FloatArray, gsd = gs.data as FloatArray;
    for (let i = 0; i < id.length; i++) gsd.set(gd.subarray(id[i] * inner, (id[i] + 1) * inner), i * inner);
    return [g, gs];
  });
}
