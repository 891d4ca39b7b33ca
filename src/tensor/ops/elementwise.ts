/**
 * Elementwise ops with NumPy broadcasting, each with its backward beside its forward. They run
 * TypeScript loops on both backends (memory-bound; the fused kernels carry the FLOPs), except large
 * same-length float32 add and multiply, which run on the backend's kernels (ops/binary-kernel.ts).
 */
import { ShapeError } from '../../errors.js';
import { record } from '../autograd.js';
import { broadcastShapes, fmt, shapesEqual, sizeOf, stridesOf, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import type { FloatArray } from '../dtype.js';
import { commonFloat, empty, floatData, uninit } from './util.js';
import { sumToShape } from './reduce.js';
import { binaryKernel } from './binary-kernel.js';

type BinKind = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min';

/** out = a (op) b with broadcasting, no autograd. */
function binaryRaw(kind: BinKind, a: Tensor, b: Tensor): Tensor {
  const dtype = commonFloat(kind, a, b);
  const shape = broadcastShapes(kind, a.shape, b.shape);
  const out = uninit(shape, dtype); // every path below writes all of it
  const o = out.data as FloatArray, x = a.data as FloatArray, y = b.data as FloatArray;
  const n = o.length;
  if (x.length === n && y.length === n) {
    if (!((kind === 'add' || kind === 'mul') && binaryKernel(kind, x, y, o))) binLoop(kind, o, x, y, n, 0, 1, 0, 1);
  } else if (y.length === 1 && x.length === n) {
    binLoop(kind, o, x, y, n, 0, 1, 0, 0);
  } else if (x.length === 1 && y.length === n) {
    binLoop(kind, o, x, y, n, 0, 0, 0, 1);
  } else if (x.length === n && n % y.length === 0 && isTrailing(b.shape, shape)) {
    // b broadcast over leading dims (e.g. a bias [d] added to [..., d]).
    const m = y.length;
    for (let r = 0; r < n; r += m) binLoop(kind, o, x, y, m, r, 1, 0, 1, r);
  } else {
    generalBroadcast(kind, o, shape, x, a.shape, y, b.shape);
  }
  return out;
}

/** True when `small` equals the trailing dims of `big` (after dropping leading 1s). */
function isTrailing(small: Shape, big: Shape): boolean {
  let s = 0;
  while (s < small.length && small[s] === 1) s++;
  const rest = small.slice(s);
  if (rest.length > big.length) return false;
  return shapesEqual(rest, big.slice(big.length - rest.length));
}

// o[i] = x[xo + i*xs] (op) y[yo + i*ys] for i in [0, n), writing at oo + i. Separate loops per
// kind keep V8's code monomorphic and fast.
function binLoop(kind: BinKind, o: FloatArray, x: FloatArray, y: FloatArray, n: number, xo: number, xs: number, yo: number, ys: number, oo = xo): void {
  switch (kind) {
    case 'add':
      for (let i = 0; i < n; i++) o[oo + i] = x[xo + i * xs] + y[yo + i * ys];
      return;
    case 'sub':
      for (let i = 0; i < n; i++) o[oo + i] = x[xo + i * xs] - y[yo + i * ys];
      return;
    case 'mul':
      for (let i = 0; i < n; i++) o[oo + i] = x[xo + i * xs] * y[yo + i * ys];
      return;
    case 'div':
      for (let i = 0; i < n; i++) o[oo + i] = x[xo + i * xs] / y[yo + i * ys];
      return;
    case 'max':
      for (let i = 0; i < n; i++) o[oo + i] = Math.max(x[xo + i * xs], y[yo + i * ys]);
      return;
    case 'min':
      for (let i = 0; i < n; i++) o[oo + i] = Math.min(x[xo + i * xs], y[yo + i * ys]);
      return;
  }
}

function generalBroadcast(kind: BinKind, o: FloatArray, shape: Shape, x: FloatArray, xs: Shape, y: FloatArray, ys: Shape): void {
  const nd = shape.length;
  const bstrides = (s: Shape): number[] => {
    const st = stridesOf(s);
    const out = new Array<number>(nd).fill(0);
    for (let i = 0; i < s.length; i++) out[nd - s.length + i] = s[i] === 1 ? 0 : st[i];
    return out;
  };
  const sx = bstrides(xs), sy = bstrides(ys);
  const idx = new Array<number>(nd).fill(0);
  const inner = nd > 0 ? shape[nd - 1] : 1;
  const sxi = nd > 0 ? sx[nd - 1] : 0, syi = nd > 0 ? sy[nd - 1] : 0;
  const rows = sizeOf(shape) / Math.max(inner, 1);
  for (let r = 0, oo = 0; r < rows; r++, oo += inner) {
    let xo = 0, yo = 0;
    for (let d = 0; d < nd - 1; d++) {
      xo += idx[d] * sx[d];
      yo += idx[d] * sy[d];
    }
    binLoop(kind, o, x, y, inner, xo, sxi, yo, syi, oo);
    for (let d = nd - 2; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

function asTensor(x: Tensor | number, like: Tensor): Tensor {
  return typeof x === 'number' ? Tensor.full([], x, like.dtype === 'i32' ? 'f32' : like.dtype) : x;
}

// ---- binary ops ----------------------------------------------------------------------------

export function add(a: Tensor, b: Tensor | number): Tensor {
  const bt = asTensor(b, a);
  const out = binaryRaw('add', a, bt);
  return record(out, 'add', [a, bt], (g) => [sumToShape(g, a.shape), sumToShape(g, bt.shape)]);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  const bt = asTensor(b, a);
  const out = binaryRaw('sub', a, bt);
  return record(out, 'sub', [a, bt], (g) => [sumToShape(g, a.shape), bt.requiresGrad ? sumToShape(neg(g), bt.shape) : null]);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  const bt = asTensor(b, a);
  const out = binaryRaw('mul', a, bt);
  return record(out, 'mul', [a, bt], (g) => [
    a.requiresGrad ? sumToShape(binaryRaw('mul', g, bt), a.shape) : null,
    bt.requiresGrad ? sumToShape(binaryRaw('mul', g, a), bt.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  const bt = asTensor(b, a);
  const out = binaryRaw('div', a, bt);
  return record(out, 'div', [a, bt], (g) => [
    a.requiresGrad ? sumToShape(binaryRaw('div', g, bt), a.shape) : null,
    // d(a/b)/db = -a/b^2 = -out/b
    bt.requiresGrad ? sumToShape(neg(binaryRaw('mul', g, binaryRaw('div', out, bt))), bt.shape) : null,
  ]);
}

/** Elementwise maximum; the gradient goes to a where a >= b, else to b. */
export function maximum(a: Tensor, b: Tensor | number): Tensor {
  const bt = asTensor(b, a);
  const out = binaryRaw('max', a, bt);
  return record(out, 'maximum', [a, bt], (g) => {
    const mask = ge(a, bt); // broadcast shape, 1 where a wins
    const ga = a.requiresGrad ? sumToShape(binaryRaw('mul', g, mask), a.shape) : null;
    const gb = bt.requiresGrad ? sumToShape(binaryRaw('mul', g, binaryRaw('sub', Tensor.ones([], g.dtype), mask)), bt.shape) : null;
    return [ga, gb];
  });
}

/** 1 where a >= b (broadcast), else 0; float result, no gradient. `strict` gives a > b. */
export function ge(a: Tensor, b: Tensor | number, strict = false): Tensor {
  const bt = asTensor(b, a);
  const diff = binaryRaw('sub', a, bt);
  const d = diff.data as FloatArray;
  for (let i = 0; i < d.length; i++) d[i] = strict ? (d[i] > 0 ? 1 : 0) : d[i] >= 0 ? 1 : 0;
  return diff;
}

// ---- unary ops -----------------------------------------------------------------------------

/** out[i] = f(x[i]); backward: g[i] * df(x[i], out[i]). */
function unary(op: string, x: Tensor, f: (v: number) => number, df: (v: number, y: number) => number): Tensor {
  const xd = floatData(x, op);
  const out = empty(x.shape, x.dtype);
  const o = out.data as FloatArray;
  for (let i = 0; i < o.length; i++) o[i] = f(xd[i]);
  return record(out, op, [x], (g) => {
    const gx = empty(x.shape, x.dtype);
    const gd = gx.data as FloatArray, gg = g.data as FloatArray;
    for (let i = 0; i < gd.length; i++) gd[i] = gg[i] * df(xd[i], o[i]);
    return [gx];
  });
}

export function neg(x: Tensor): Tensor {
  return unary('neg', x, (v) => -v, () => -1);
}
export function exp(x: Tensor): Tensor {
  return unary('exp', x, Math.exp, (_v, y) => y);
}
export function log(x: Tensor): Tensor {
  return unary('log', x, Math.log, (v) => 1 / v);
}
export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', x, Math.sqrt, (_v, y) => 0.5 / y);
}
export function pow(x: Tensor, p: number): Tensor {
  return unary('pow', x, (v) => Math.pow(v, p), (v) => p * Math.pow(v, p - 1));
}
export function square(x: Tensor): Tensor {
  return unary('square', x, (v) => v * v, (v) => 2 * v);
}
export function abs(x: Tensor): Tensor {
  return unary('abs', x, Math.abs, (v) => (v > 0 ? 1 : v < 0 ? -1 : 0));
}
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', x, sigmoidScalar, (_v, y) => y * (1 - y));
}
export function logSigmoid(x: Tensor): Tensor {
  // log sigmoid(v) = -softplus(-v), stable for large |v|; derivative = 1 - sigmoid(v)
  return unary('logSigmoid', x, (v) => (v >= 0 ? -Math.log1p(Math.exp(-v)) : v - Math.log1p(Math.exp(v))), (v) => 1 - sigmoidScalar(v));
}
export function silu(x: Tensor): Tensor {
  return unary('silu', x, (v) => v * sigmoidScalar(v), (v) => {
    const s = sigmoidScalar(v);
    return s * (1 + v * (1 - s));
  });
}
export function tanh(x: Tensor): Tensor {
  return unary('tanh', x, Math.tanh, (_v, y) => 1 - y * y);
}
export function relu(x: Tensor): Tensor {
  return unary('relu', x, (v) => (v > 0 ? v : 0), (v) => (v > 0 ? 1 : 0));
}

const GELU_C = Math.sqrt(2 / Math.PI);
/** GELU, tanh approximation ("gelu_pytorch_tanh"). */
export function gelu(x: Tensor): Tensor {
  return unary(
    'gelu',
    x,
    (v) => 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v))),
    (v) => {
      const u = GELU_C * (v + 0.044715 * v * v * v);
      const t = Math.tanh(u);
      return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * v * v);
    },
  );
}

/** min(max(x, lo), hi); the gradient passes where lo <= x <= hi and is 0 where x was clipped. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (lo > hi) throw new ShapeError(`clamp: lo ${lo} > hi ${hi}`);
  return unary('clamp', x, (v) => (v < lo ? lo : v > hi ? hi : v), (v) => (v < lo || v > hi ? 0 : 1));
}

export function scale(x: Tensor, s: number): Tensor {
  return unary('scale', x, (v) => v * s, () => s);
}

export function sigmoidScalar(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

/**
 * where(cond, a, b): a where cond != 0, else b. cond is a float or int tensor that broadcasts
 * with a and b (no gradient flows to cond).
 */
export function where(cond: Tensor, a: Tensor, b: Tensor | number): Tensor {
  const bt = asTensor(b, a);
  const dtype = commonFloat('where', a, bt);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), bt.shape);
  const c = expandTo(cond, shape), x = expandTo(a, shape), y = expandTo(bt, shape);
  const out = empty(shape, dtype);
  const o = out.data as FloatArray;
  for (let i = 0; i < o.length; i++) o[i] = c[i] !== 0 ? x[i] : y[i];
  return record(out, 'where', [a, bt], (g) => {
    const ga = empty(shape, dtype), gb = empty(shape, dtype);
    const gd = g.data as FloatArray, gad = ga.data as FloatArray, gbd = gb.data as FloatArray;
    for (let i = 0; i < gd.length; i++) {
      if (c[i] !== 0) gad[i] = gd[i];
      else gbd[i] = gd[i];
    }
    return [sumToShape(ga, a.shape), bt.requiresGrad ? sumToShape(gb, bt.shape) : null];
  });
}

/** Materialises broadcast data of t at `shape` (plain array, no autograd). */
function expandTo(t: Tensor, shape: Shape): ArrayLike<number> {
  if (shapesEqual(t.shape, shape)) return t.data;
  const nd = shape.length;
  const st = stridesOf(t.shape);
  const bs = new Array<number>(nd).fill(0);
  for (let i = 0; i < t.ndim; i++) bs[nd - t.ndim + i] = t.shape[i] === 1 ? 0 : st[i];
  const n = sizeOf(shape);
  const out = new Float64Array(n);
  const idx = new Array<number>(nd).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < nd; d++) off += idx[d] * bs[d];
    out[i] = t.data[off];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  if (n === 0 && t.size !== 0) throw new ShapeError(`where: cannot expand ${fmt(t.shape)} to ${fmt(shape)}`);
  return out;
}
