/**
 * Fused neural-network ops over the backend kernels: RMSNorm, LayerNorm, GELU, rotary embedding, attention,
 * softmax / log-softmax, cross-entropy, SwiGLU, embedding, top-k. Each records its backward,
 * which calls the matching backward kernel.
 */
import { DTypeError, ShapeError } from '../../errors.js';
import { record } from '../autograd.js';
import { backendFor } from '../backend/index.js';
import { allocData, type DType, type FloatArray } from '../dtype.js';
import { fmt, normAxis, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { embeddingBf16 } from './bf16.js';
import { commonFloat, empty, expectNdim, intData, uninit } from './util.js';

/** w * x / sqrt(mean(x^2) + eps) over the last dim. x: [..., d], w: [d]. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const dtype = commonFloat('rmsNorm', x, weight);
  const dim = x.shape[x.ndim - 1];
  if (weight.ndim !== 1 || weight.shape[0] !== dim) throw new ShapeError(`rmsNorm: weight ${fmt(weight.shape)} does not match the last dim of ${fmt(x.shape)}`);
  const rows = x.size / dim;
  const out = uninit(x.shape, dtype);
  const rstd = allocData(dtype, rows) as FloatArray;
  const be = backendFor(x.data);
  be.rmsnormForward(x.data as FloatArray, weight.data as FloatArray, out.data as FloatArray, rstd, rows, dim, eps);
  return record(out, 'rmsNorm', [x, weight], (g) => {
    const gx = uninit(x.shape, dtype), gw = empty(weight.shape, dtype); // dx overwritten, dw accumulated
    be.rmsnormBackward(g.data as FloatArray, x.data as FloatArray, weight.data as FloatArray, rstd, gx.data as FloatArray, gw.data as FloatArray, rows, dim);
    return [gx, gw];
  });
}

/** torch.nn.LayerNorm over the last dim (biased variance): (x - mean) / sqrt(var + eps) * w + b. x: [..., d], w, b: [d]. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  const dtype = commonFloat('layerNorm', x, weight, bias);
  const dim = x.shape[x.ndim - 1];
  if (weight.ndim !== 1 || weight.shape[0] !== dim || bias.ndim !== 1 || bias.shape[0] !== dim) {
    throw new ShapeError(`layerNorm: weight ${fmt(weight.shape)} and bias ${fmt(bias.shape)} must both be [${dim}] for x ${fmt(x.shape)}`);
  }
  const rows = dim === 0 ? 0 : x.size / dim;
  const out = uninit(x.shape, dtype);
  const mean = allocData(dtype, rows) as FloatArray, rstd = allocData(dtype, rows) as FloatArray;
  const be = backendFor(x.data);
  be.layernormForward(x.data as FloatArray, weight.data as FloatArray, bias.data as FloatArray, out.data as FloatArray, mean, rstd, rows, dim, eps);
  return record(out, 'layerNorm', [x, weight, bias], (g) => {
    const gx = uninit(x.shape, dtype), gw = empty(weight.shape, dtype), gb = empty(bias.shape, dtype); // dx overwritten, dw/db accumulated
    be.layernormBackward(g.data as FloatArray, x.data as FloatArray, weight.data as FloatArray, mean, rstd, gx.data as FloatArray, gw.data as FloatArray, gb.data as FloatArray, rows, dim);
    return [gx, gw, gb];
  });
}

/** GELU, exact erf form as torch.nn.GELU() (approximate='none'): x * (1 + erf(x / sqrt 2)) / 2, with native kernels. (`gelu` in elementwise.ts is the tanh approximation.) */
export function geluErf(x: Tensor): Tensor {
  const dtype = commonFloat('geluErf', x);
  const be = backendFor(x.data);
  const out = uninit(x.shape, dtype);
  be.geluForward(x.data as FloatArray, out.data as FloatArray, x.size);
  return record(out, 'geluErf', [x], (g) => {
    const gx = uninit(x.shape, dtype);
    be.geluBackward(x.data as FloatArray, g.data as FloatArray, gx.data as FloatArray, x.size);
    return [gx];
  });
}

/**
 * cos/sin tables [positions.length, rotaryDim/2] for angles pos * theta^(-2i/rotaryDim); or, with
 * `freq` (scaled RoPE, src/models/glm/rope-scaling.ts), angles pos * invFreq[i] and both tables
 * multiplied by `attentionFactor`.
 */
export function ropeTables(
  positions: ArrayLike<number>, rotaryDim: number, theta: number, dtype: DType = 'f32',
  freq?: { invFreq: ArrayLike<number>; attentionFactor: number },
): { cos: Tensor; sin: Tensor } {
  if (rotaryDim % 2 !== 0) throw new ShapeError(`ropeTables: rotaryDim must be even, got ${rotaryDim}`);
  const half = rotaryDim / 2, n = positions.length;
  if (freq && freq.invFreq.length !== half) throw new ShapeError(`ropeTables: invFreq has ${freq.invFreq.length} entries, expected rotaryDim/2 = ${half}`);
  const mult = freq ? freq.attentionFactor : 1;
  const cos = Tensor.zeros([n, half], dtype), sin = Tensor.zeros([n, half], dtype);
  for (let i = 0; i < half; i++) {
    const invFreq = freq ? freq.invFreq[i] : Math.pow(theta, (-2 * i) / rotaryDim);
    for (let p = 0; p < n; p++) {
      const angle = positions[p] * invFreq;
      cos.data[p * half + i] = mult * Math.cos(angle);
      sin.data[p * half + i] = mult * Math.sin(angle);
    }
  }
  return { cos, sin };
}

export interface RopeOptions {
  rotaryDim: number;
  /** true: GLM-4 adjacent pairs; false: GLM-4.5 rotate_half pairs. */
  interleaved: boolean;
}

/** Rotary embedding of x [B, T, H, D] with tables [B*T, rotaryDim/2] (one row per token). */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, opts: RopeOptions): Tensor {
  const dtype = commonFloat('rope', x, cos, sin);
  expectNdim('rope', x, 4, 'x');
  const [B, T, H, D] = x.shape;
  const rows = B * T;
  if (opts.rotaryDim % 2 !== 0 || opts.rotaryDim > D) throw new ShapeError(`rope: rotaryDim ${opts.rotaryDim} must be even and <= head dim ${D}`);
  if (cos.size !== rows * (opts.rotaryDim / 2) || sin.size !== cos.size) {
    throw new ShapeError(`rope: tables must be [${rows}, ${opts.rotaryDim / 2}] for x ${fmt(x.shape)}, got cos ${fmt(cos.shape)} and sin ${fmt(sin.shape)}`);
  }
  const be = backendFor(x.data);
  const run = (src: Tensor, inverse: boolean): Tensor => {
    const out = uninit(src.shape, dtype);
    be.rope({ x: src.data as FloatArray, cos: cos.data as FloatArray, sin: sin.data as FloatArray, out: out.data as FloatArray, rows, heads: H, headDim: D, rotaryDim: opts.rotaryDim, interleaved: opts.interleaved, inverse });
    return out;
  };
  return record(run(x, false), 'rope', [x], (g) => [run(g, true)]);
}

export interface AttentionOptions {
  causal?: boolean;
  /** scale of q·k; default head_dim^-0.5 */
  scale?: number;
  /** position of query 0 among the keys (Tk - Tq when decoding with a cache); default Tk - Tq */
  qOffset?: number;
  /** [B] prefix-bidirectional lengths (GLM blank infilling) */
  prefixLen?: Int32Array | null;
  /** [B, Tk] 1 = token, 0 = padding */
  keyMask?: Int32Array | null;
}

/**
 * Fused scaled-dot-product attention with GQA. q: [B, Tq, Hq, D], k and v: [B, Tk, Hkv, D].
 * Returns [B, Tq, Hq, D]. See AttentionShape in backend.ts for the mask rule.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const dtype = commonFloat('attention', q, k, v);
  expectNdim('attention', q, 4, 'q');
  expectNdim('attention', k, 4, 'k');
  expectNdim('attention', v, 4, 'v');
  const [B, Tq, Hq, D] = q.shape;
  const [Bk, Tk, Hkv, Dk] = k.shape;
  if (Bk !== B || Dk !== D || v.shape.join() !== k.shape.join() || Hq % Hkv !== 0) {
    throw new ShapeError(`attention: q ${fmt(q.shape)}, k ${fmt(k.shape)}, v ${fmt(v.shape)} do not fit (need k == v shape, equal batch and head dim, Hq a multiple of Hkv)`);
  }
  if (opts.prefixLen && opts.prefixLen.length !== B) throw new ShapeError(`attention: prefixLen has ${opts.prefixLen.length} entries, expected ${B}`);
  if (opts.keyMask && opts.keyMask.length !== B * Tk) throw new ShapeError(`attention: keyMask has ${opts.keyMask.length} entries, expected B*Tk = ${B * Tk}`);
  const shape = {
    batch: B, tq: Tq, tk: Tk, headsQ: Hq, headsKv: Hkv, headDim: D,
    qOffset: opts.qOffset ?? Tk - Tq,
    scale: opts.scale ?? 1 / Math.sqrt(D),
    causal: opts.causal ?? true,
    prefixLen: opts.prefixLen ?? null,
    keyMask: opts.keyMask ?? null,
  };
  if (shape.qOffset < 0) throw new ShapeError(`attention: qOffset ${shape.qOffset} < 0 (more queries than keys?)`);
  const be = backendFor(q.data);
  const out = uninit(q.shape, dtype);
  const lse = allocData(dtype, B * Hq * Tq) as FloatArray;
  be.attentionForward({ ...shape, q: q.data as FloatArray, k: k.data as FloatArray, v: v.data as FloatArray, out: out.data as FloatArray, lse });
  return record(out, 'attention', [q, k, v], (g) => {
    const dq = uninit(q.shape, dtype), dk = uninit(k.shape, dtype), dv = uninit(v.shape, dtype);
    be.attentionBackward({
      ...shape, q: q.data as FloatArray, k: k.data as FloatArray, v: v.data as FloatArray, out: out.data as FloatArray, lse,
      dout: g.data as FloatArray, dq: dq.data as FloatArray, dk: dk.data as FloatArray, dv: dv.data as FloatArray,
    });
    return [dq, dk, dv];
  });
}

function lastAxisOnly(op: string, x: Tensor, axis: number): [number, number] {
  if (normAxis(op, axis, x.ndim) !== x.ndim - 1) throw new ShapeError(`${op}: only the last axis is supported (got axis ${axis} of ${fmt(x.shape)}); permute first`);
  const cols = x.shape[x.ndim - 1];
  return [cols === 0 ? 0 : x.size / cols, cols];
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const dtype = commonFloat('softmax', x);
  const [rows, cols] = lastAxisOnly('softmax', x, axis);
  const be = backendFor(x.data);
  const out = uninit(x.shape, dtype);
  be.softmaxForward(x.data as FloatArray, out.data as FloatArray, rows, cols);
  return record(out, 'softmax', [x], (g) => {
    const gx = uninit(x.shape, dtype);
    be.softmaxBackward(out.data as FloatArray, g.data as FloatArray, gx.data as FloatArray, rows, cols);
    return [gx];
  });
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const dtype = commonFloat('logSoftmax', x);
  const [rows, cols] = lastAxisOnly('logSoftmax', x, axis);
  const be = backendFor(x.data);
  const out = uninit(x.shape, dtype);
  be.logSoftmaxForward(x.data as FloatArray, out.data as FloatArray, rows, cols);
  return record(out, 'logSoftmax', [x], (g) => {
    const gx = uninit(x.shape, dtype);
    be.logSoftmaxBackward(out.data as FloatArray, g.data as FloatArray, gx.data as FloatArray, rows, cols);
    return [gx];
  });
}

export interface CrossEntropyOptions {
  /** targets equal to this are skipped (loss 0, no gradient); default -100 as in PyTorch */
  ignoreIndex?: number;
  /** 'mean' over non-ignored targets (NaN when there are none, as PyTorch), 'sum', or 'none' (per token, shape of targets) */
  reduction?: 'mean' | 'sum' | 'none';
}

/** Cross-entropy of logits [..., V] against int32 targets [...]. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const dtype = commonFloat('crossEntropy', logits);
  const t = intData(targets, 'crossEntropy', 'targets');
  const V = logits.shape[logits.ndim - 1];
  const rows = V === 0 ? 0 : logits.size / V;
  if (targets.size !== rows || sizeOf(logits.shape.slice(0, -1)) !== rows) {
    throw new ShapeError(`crossEntropy: targets ${fmt(targets.shape)} must have one entry per row of logits ${fmt(logits.shape)}`);
  }
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  const be = backendFor(logits.data);
  const losses = allocData(dtype, rows) as FloatArray;
  const lse = allocData(dtype, rows) as FloatArray;
  be.crossEntropyForward(logits.data as FloatArray, t, losses, lse, rows, V, ignoreIndex);
  let count = 0;
  for (let i = 0; i < rows; i++) if (t[i] !== ignoreIndex) count++;
  let out: Tensor;
  if (reduction === 'none') {
    out = new Tensor(losses, targets.shape);
  } else {
    let s = 0;
    for (let i = 0; i < rows; i++) s += losses[i];
    out = Tensor.full([], reduction === 'mean' ? s / count : s, dtype);
  }
  return record(out, 'crossEntropy', [logits], (g) => {
    const dloss = allocData(dtype, rows) as FloatArray;
    if (reduction === 'none') dloss.set(g.data as FloatArray);
    else dloss.fill(reduction === 'mean' ? g.data[0] / count : g.data[0]);
    const gx = uninit(logits.shape, dtype);
    be.crossEntropyBackward(logits.data as FloatArray, t, lse, dloss, gx.data as FloatArray, rows, V, ignoreIndex);
    return [gx];
  });
}

/** silu(gate) * up on the fused layout x [..., 2I] (gate first). Returns [..., I]. */
export function swiglu(x: Tensor): Tensor {
  const dtype = commonFloat('swiglu', x);
  const two = x.shape[x.ndim - 1];
  if (two % 2 !== 0) throw new ShapeError(`swiglu: last dim of ${fmt(x.shape)} must be even (gate and up halves)`);
  const inner = two / 2, rows = two === 0 ? 0 : x.size / two;
  const be = backendFor(x.data);
  const out = uninit([...x.shape.slice(0, -1), inner], dtype);
  be.swigluForward(x.data as FloatArray, out.data as FloatArray, rows, inner);
  return record(out, 'swiglu', [x], (g) => {
    const gx = uninit(x.shape, dtype);
    be.swigluBackward(x.data as FloatArray, g.data as FloatArray, gx.data as FloatArray, rows, inner);
    return [gx];
  });
}

/** table [V, D] gathered at int32 ids [...] -> [..., D]; backward scatter-adds into the table. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  if (table.dtype === 'bf16') {
    expectNdim('embedding', table, 2, 'table');
    return embeddingBf16(table, intData(ids, 'embedding'), ids.shape);
  }
  const dtype = commonFloat('embedding', table);
  expectNdim('embedding', table, 2, 'table');
  const id = intData(ids, 'embedding');
  const [V, D] = table.shape;
  const be = backendFor(table.data);
  const out = uninit([...ids.shape, D], dtype);
  be.embeddingForward(table.data as FloatArray, id, out.data as FloatArray, V, D);
  return record(out, 'embedding', [table], (g) => {
    const gt = empty(table.shape, dtype);
    be.embeddingBackward(id, g.data as FloatArray, gt.data as FloatArray, V, D);
    return [gt];
  });
}

/**
 * The k largest entries along the last axis, in descending order (ties: lower index first).
 * No gradient. Returns values [..., k] and int32 indices [..., k].
 */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  if (x.dtype === 'i32') throw new DTypeError('topk: expected a float tensor');
  const n = x.shape[x.ndim - 1];
  if (!Number.isInteger(k) || k < 0 || k > n) throw new ShapeError(`topk: k = ${k} must be in [0, ${n}] for ${fmt(x.shape)}`);
  const rows = n === 0 ? 0 : x.size / n;
  const outShape = [...x.shape.slice(0, -1), k];
  const values = Tensor.zeros(outShape, x.dtype), indices = Tensor.zeros(outShape, 'i32');
  const idx = new Array<number>(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    for (let i = 0; i < n; i++) idx[i] = i;
    // Partial selection sort is enough for the small k (routers, samplers) this serves.
    for (let j = 0; j < k; j++) {
      let best = j;
      for (let i = j + 1; i < n; i++) {
        const vi = x.data[base + idx[i]], vb = x.data[base + idx[best]];
        if (vi > vb || (vi === vb && idx[i] < idx[best]) || (Number.isNaN(vb) && !Number.isNaN(vi))) best = i;
      }
      [idx[j], idx[best]] = [idx[best], idx[j]];
      values.data[r * k + j] = x.data[base + idx[j]];
      indices.data[r * k + j] = idx[j];
    }
  }
  return { values, indices };
}


