/**
 * Muon (MomentUm Orthogonalized by Newton–Schulz) as GLM-4.5 uses it (docs/methods.md §3), for 2-D
 * weight matrices. Per matrix W [rows, cols] with gradient G, each update:
 *
 *   buf = mu * buf + G                         momentum (mu = 0.95)
 *   D   = G + mu * buf                         Nesterov direction (D = buf without Nesterov)
 *   O   = NS5(D)                               ~ U V^T of D = U S V^T (5 quintic Newton–Schulz steps)
 *   W   = W - lr * wd * W                      decoupled weight decay (wd = 0.1)
 *   W   = W - lr * 0.2 * sqrt(max(rows, cols)) * O     update RMS ~ 0.2, like AdamW's
 *
 * NS5: X0 = D / (||D||_F + 1e-7), then five times X <- a X + (b A + c A^2) X with A = X X^T and
 * (a, b, c) = (3.4445, -4.7750, 2.0315). The iteration only touches singular values, pushing them
 * all into roughly [0.7, 1.2]. For a tall matrix (rows > cols) the same polynomial is applied from
 * the right, X <- X (a I + b A + c A^2) with A = X^T X: X p(X^T X) = p(X X^T) X, so this equals
 * iterating on the transpose, but without copying it, and the Gram matrix is always the small
 * min(rows, cols)^2 one.
 *
 * The products run on the backend GEMM (native f32, or the reference backend for f64 parameters),
 * without autograd. Matrices of one shape (the experts of a MoE layer, the q/o projections of all
 * layers, ...) are orthogonalised together with batched GEMMs, which keeps small matrices fast.
 * Buffers: one momentum buffer per parameter; the Newton–Schulz scratch (two [batch, rows, cols]
 * stacks and two small [batch, n, n] ones) is allocated once per distinct shape, reused every step.
 */
import { ConfigError, ShapeError } from '../errors.js';
import { backendFor } from '../tensor/backend/index.js';
import type { Backend } from '../tensor/backend/backend.js';
import { bf16ComputeEnabled } from '../tensor/ops/precision.js';
import type { FloatArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamGroup } from './adamw.js';
import { checkAllUsed, groupParamNames, readStateInto, scalarsSection, stateCopy, type OptimizerState } from './state.js';

/** Quintic Newton–Schulz coefficients (a, b, c) used by Muon. */
export const NS_COEFFS: readonly [number, number, number] = [3.4445, -4.775, 2.0315];

export interface MuonOptions {
  lr: number;
  /** momentum coefficient mu (default 0.95) */
  momentum?: number;
  /** Nesterov direction G + mu * buf (default true); false uses buf */
  nesterov?: boolean;
  /** Newton–Schulz iterations (default 5); 0 skips orthogonalisation (then O = D / ||D||_F) */
  nsSteps?: number;
  /** decoupled weight decay (default 0.1) */
  weightDecay?: number;
  /** target RMS of the update: O is multiplied by updateRms * sqrt(max(rows, cols)) (default 0.2) */
  updateRms?: number;
  /** added to ||D||_F before normalising (default 1e-7) */
  eps?: number;
}

/**
 * Scratch for NS on up to `batch` matrices of one shape, stored back to back:
 * x, y [batch, rows, cols]; gram, poly [batch, n, n], n = min(rows, cols).
 */
export interface NsWorkspace {
  batch: number;
  x: FloatArray;
  y: FloatArray;
  gram: FloatArray;
  poly: FloatArray;
}

export function nsWorkspace(rows: number, cols: number, Ctor: new (n: number) => FloatArray, batch = 1): NsWorkspace {
  const n = Math.min(rows, cols), rc = rows * cols;
  return { batch, x: new Ctor(batch * rc), y: new Ctor(batch * rc), gram: new Ctor(batch * n * n), poly: new Ctor(batch * n * n) };
}

/**
 * C[i] = alpha * op(A[i]) op(B[i]) for i < batch, matrices back to back; in bf16 compute when the
 * caller runs the update inside withBf16Compute(true) (mixed-precision training: the Newton-Schulz
 * iterations on bf16 operands, as Muon's reference implementation runs them).
 */
function bgemm(be: Backend, batch: number, a: FloatArray, b: FloatArray, c: FloatArray, m: number, n: number, k: number, transA: boolean, transB: boolean, alpha = 1): void {
  be.gemm({ a, b, c, batch, m, n, k, transA, transB, strideA: m * k, strideB: k * n, strideC: m * n, alpha, beta: 0, bf16Compute: bf16ComputeEnabled() });
}

/**
 * Runs `steps` quintic Newton–Schulz iterations on `batch` matrices X [rows, cols] that must
 * already be in `ws.x`, each scaled to Frobenius norm <= 1. One batched GEMM per product covers all
 * of them (many small expert matrices cost a few large calls). Ping-pongs between ws.x and ws.y and
 * returns the one holding the result.
 */
export function newtonSchulzIterate(
  ws: NsWorkspace, rows: number, cols: number, steps: number, batch = 1, coeffs: readonly [number, number, number] = NS_COEFFS,
): FloatArray {
  if (batch > ws.batch) throw new ShapeError(`newtonSchulzIterate: batch ${batch} exceeds the workspace's ${ws.batch}`);
  const [ca, cb, cc] = coeffs;
  const be = backendFor(ws.x);
  const wide = rows <= cols;
  const n = wide ? rows : cols, nn = n * n;
  const { gram, poly } = ws;
  let x = ws.x, y = ws.y;
  for (let s = 0; s < steps; s++) {
    // gram [n, n] = X X^T (wide) or X^T X (tall)
    if (wide) bgemm(be, batch, x, x, gram, n, n, cols, false, true);
    else bgemm(be, batch, x, x, gram, n, n, rows, true, false);
    // poly = c * gram @ gram + b * gram + a * I
    bgemm(be, batch, gram, gram, poly, n, n, n, false, false, cc);
    for (let i = 0; i < batch * nn; i++) poly[i] += cb * gram[i];
    for (let bi = 0; bi < batch; bi++) for (let i = 0; i < n; i++) poly[bi * nn + i * n + i] += ca;
    // y = poly @ X [n, cols] (wide) or X @ poly [rows, n] (tall); poly is symmetric
    if (wide) bgemm(be, batch, poly, x, y, n, cols, n, false, false);
    else bgemm(be, batch, x, poly, y, rows, n, n, false, false);
    const t = x;
    x = y;
    y = t;
  }
  return x;
}

/**
 * NS5 orthogonalisation of g [rows, cols] into a new array: X0 = g / (||g||_F + eps), then `steps`
 * quintic iterations. The result approximates the polar factor U V^T of g with singular values in
 * roughly [0.7, 1.2]. (Muon uses the same code on preallocated buffers.)
 */
export function orthogonalize(g: FloatArray, rows: number, cols: number, steps = 5, eps = 1e-7): FloatArray {
  if (g.length !== rows * cols) throw new ShapeError(`orthogonalize: expected ${rows}x${cols} = ${rows * cols} elements, got ${g.length}`);
  const ws = nsWorkspace(rows, cols, g.constructor as new (n: number) => FloatArray);
  let ss = 0;
  for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  const inv = 1 / (Math.sqrt(ss) + eps);
  for (let i = 0; i < g.length; i++) ws.x[i] = g[i] * inv;
  return newtonSchulzIterate(ws, rows, cols, steps).slice(0, g.length);
}

/** Matrices of one shape are orthogonalised together in chunks of at most this many elements (x buffer). */
const MAX_BATCH_ELEMENTS = 1 << 22;

export class Muon {
  readonly groups: ParamGroup[];
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly nsSteps: number;
  readonly weightDecay: number;
  readonly updateRms: number;
  readonly eps: number;
  step = 0;
  /** per-parameter momentum buffer (created at the parameter's first update) */
  readonly state = new Map<Tensor, { momentum: FloatArray }>();
  /** parameter -> name used in the exported state */
  readonly names: Map<Tensor, string>;
  private readonly workspaces = new Map<string, NsWorkspace>();

  constructor(params: Tensor[] | ParamGroup[], opts: MuonOptions) {
    this.groups = params.length > 0 && 'params' in (params[0] as object) ? (params as ParamGroup[]) : [{ params: params as Tensor[] }];
    this.names = groupParamNames('Muon', this.groups);
    for (const [p, name] of this.names) {
      if (p.ndim !== 2) {
        throw new ShapeError(`Muon: parameter '${name}' has shape [${p.shape.join(', ')}]; Muon updates 2-D matrices only, put it in an AdamW group (see glmParamGroups)`);
      }
      if (p.dtype === 'i32') throw new ShapeError(`Muon: parameter '${name}' is int32; only float parameters can be optimised`);
    }
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0.95;
    this.nesterov = opts.nesterov ?? true;
    this.nsSteps = opts.nsSteps ?? 5;
    this.weightDecay = opts.weightDecay ?? 0.1;
    this.updateRms = opts.updateRms ?? 0.2;
    this.eps = opts.eps ?? 1e-7;
    if (!Number.isInteger(this.nsSteps) || this.nsSteps < 0) throw new ConfigError(`Muon: nsSteps must be an integer >= 0, got ${this.nsSteps}`);
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new ConfigError(`Muon: momentum must be in [0, 1), got ${this.momentum}`);
  }

  /** The shared scratch for `batch` matrices of this shape and dtype (grown when a bigger batch is needed). */
  private workspace(rows: number, cols: number, data: FloatArray, batch: number): NsWorkspace {
    const key = `${data instanceof Float64Array ? 'f64' : 'f32'}:${rows}x${cols}`;
    let ws = this.workspaces.get(key);
    if (!ws || ws.batch < batch) {
      ws = nsWorkspace(rows, cols, data.constructor as new (n: number) => FloatArray, batch);
      this.workspaces.set(key, ws);
    }
    return ws;
  }

  /**
   * One update of every parameter that has a gradient. Parameters of the same shape, dtype and
   * weight decay are orthogonalised together with batched GEMMs (e.g. all experts of a layer).
   */
  update(): void {
    this.step++;
    const buckets = new Map<string, { params: Tensor[]; wd: number }>();
    for (const g of this.groups) {
      const wd = g.weightDecay ?? this.weightDecay;
      for (const p of g.params) {
        if (!p.grad) continue;
        const key = `${p.dtype}:${p.shape[0]}x${p.shape[1]}:${wd}`;
        let b = buckets.get(key);
        if (!b) buckets.set(key, (b = { params: [], wd }));
        b.params.push(p);
      }
    }
    for (const { params, wd } of buckets.values()) {
      const chunk = Math.max(1, Math.min(params.length, Math.floor(MAX_BATCH_ELEMENTS / params[0].size)));
      for (let i = 0; i < params.length; i += chunk) this.updateBatch(params.slice(i, i + chunk), wd);
    }
  }

  /** Updates matrices of one shape: Nesterov directions into the workspace, batched NS5, apply. */
  private updateBatch(params: Tensor[], wd: number): void {
    const [rows, cols] = params[0].shape;
    const rc = rows * cols;
    const ws = this.workspace(rows, cols, params[0].data as FloatArray, params.length);
    const x = ws.x, mu = this.momentum, nesterov = this.nesterov;
    params.forEach((p, j) => {
      const grad = p.grad!.data as FloatArray;
      if (grad.length !== rc) throw new ShapeError(`Muon: gradient of '${this.names.get(p)}' has ${grad.length} elements, expected ${rc}`);
      let s = this.state.get(p);
      if (!s) {
        s = { momentum: new (p.data.constructor as new (n: number) => FloatArray)(rc) };
        this.state.set(p, s);
      }
      const buf = s.momentum, off = j * rc;
      // buf = mu*buf + g;  D = g + mu*buf (Nesterov) or buf, into x[j]; ||D||^2 in f64
      let ss = 0;
      for (let i = 0; i < rc; i++) {
        const b = mu * buf[i] + grad[i];
        buf[i] = b;
        const d = nesterov ? grad[i] + mu * b : b;
        x[off + i] = d;
        ss += x[off + i] * x[off + i];
      }
      const inv = 1 / (Math.sqrt(ss) + this.eps);
      for (let i = off; i < off + rc; i++) x[i] *= inv;
    });
    const o = newtonSchulzIterate(ws, rows, cols, this.nsSteps, params.length);
    // W = W * (1 - lr*wd) - lr * scale * O
    const decay = 1 - this.lr * wd;
    const step = this.lr * this.updateRms * Math.sqrt(Math.max(rows, cols));
    params.forEach((p, j) => {
      const w = p.data as FloatArray, off = j * rc;
      for (let i = 0; i < rc; i++) w[i] = w[i] * decay - step * o[off + i];
    });
  }

  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.grad = null;
  }

  parameters(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** Momentum buffers as `<name>.momentum_buffer` (float32 copies) and the `muon` scalars section. */
  exportState(): OptimizerState {
    const tensors: OptimizerState['tensors'] = new Map();
    for (const [p, s] of this.state) tensors.set(`${this.names.get(p)!}.momentum_buffer`, stateCopy(s.momentum));
    const scalars = {
      muon: {
        kind: 'muon' as const, step: this.step, lr: this.lr, momentum: this.momentum, nesterov: this.nesterov,
        nsSteps: this.nsSteps, weightDecay: this.weightDecay, updateRms: this.updateRms, eps: this.eps,
      },
    };
    return { tensors, scalars };
  }

  /** Restores what `exportState` produced (step, lr, momentum buffers); throws CheckpointError on any mismatch. */
  importState(state: OptimizerState): void {
    const used = new Set<string>();
    this.loadState(state, used);
    checkAllUsed(state, used);
  }

  /** Restores step, lr and the momentum of every parameter whose buffer is present; adds the names read to `used`. */
  loadState(state: OptimizerState, used: Set<string>): void {
    const sc = scalarsSection(state, 'muon');
    this.state.clear();
    for (const [p, name] of this.names) {
      const key = `${name}.momentum_buffer`;
      if (!state.tensors.has(key)) continue;
      const momentum = new (p.data.constructor as new (n: number) => FloatArray)(p.size);
      readStateInto(state, key, momentum, p.shape, used);
      this.state.set(p, { momentum });
    }
    this.step = sc.step;
    this.lr = sc.lr;
  }
}
