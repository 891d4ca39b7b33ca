/**
 * The kernel interface both backends implement. Kernels are pure functions over contiguous,
 * row-major typed arrays and sizes: they know nothing about Tensor or autograd (that lives in
 * `tensor/ops`). Outputs are written into caller-allocated arrays; arguments named `accumulate`
 * or documented with `+=` add into their output instead of overwriting it.
 *
 * The reference backend (pure TypeScript) accepts Float32Array and Float64Array alike, so the
 * finite-difference gradient checks run in double precision. The native backend accepts
 * Float32Array only; ops route f64 tensors to the reference backend.
 *
 * Layout conventions used by the fused transformer kernels:
 *   activations  [B, T, H, D]   (what a projection produces, no transpose needed)
 *   rope tables  cos/sin [B*T, rotaryDim/2]  (one row per token position, shared by all heads)
 *   lse          [B, Hq, Tq]    (log-sum-exp of each attention row, saved for backward)
 */
import type { FloatArray } from '../dtype.js';

export type BackendName = 'native' | 'reference';

/** Fewest rows gemmPrepacked gives gemm()'s bits for (native/kernels/gemm_internal.h kSkinnyMaxM + 1). */
export const PREPACKED_MIN_ROWS = 9;

/** C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for b in [0, batch). */
export interface GemmArgs {
  a: FloatArray;
  b: FloatArray;
  c: FloatArray;
  batch: number;
  m: number;
  n: number;
  k: number;
  /** false: A[b] is [m, k]; true: A[b] is stored [k, m] and used transposed. */
  transA: boolean;
  /** false: B[b] is [k, n]; true: B[b] is stored [n, k] and used transposed. */
  transB: boolean;
  /** Element offset between consecutive batch matrices; 0 broadcasts one matrix over the batch. */
  strideA: number;
  strideB: number;
  strideC: number;
  alpha: number;
  /** 0 means C is overwritten without being read (NaN in C does not propagate). */
  beta: number;
  /**
   * bf16 compute (mixed-precision training, src/tensor/ops/precision.ts): A and B are rounded to
   * bfloat16 (nearest even, denormals to zero) and their products summed in float32; C stays float32.
   * Native: AVX512_BF16 dot products where the CPU has them, else float32 kernels on rounded panels.
   * Float32 data only (the reference backend ignores it for float64, the gradient checks' dtype).
   */
  bf16Compute?: boolean;
}

/**
 * C[m, n] = A[m, k] @ op(B) + beta * C with B in bfloat16 (the bits, as a Uint16Array): B is [k, n],
 * or [n, k] used transposed when transB (a linear layer's weight W [out, in]). A and C are float32;
 * products and sums are float32 (bf16 -> f32 is exact).
 */
export interface GemmBf16Args {
  a: Float32Array;
  b: Uint16Array;
  c: Float32Array;
  m: number;
  n: number;
  k: number;
  transB: boolean;
  /** 0 means C is overwritten without being read. */
  beta: number;
  /**
   * Opt-in bf16 dot products (GLMKIT_BF16_DOT=1, src/tensor/ops/bf16.ts): with transB, A is rounded
   * to bf16 (nearest even, denormals to zero) and the products are summed in float32 (AVX512_BF16
   * vdpbf16ps). The native backend honours it only on a CPU with avx512_bf16 (NativeInfo.bf16Dot)
   * and runs the default path elsewhere; the reference backend always rounds (the kernel's twin).
   */
  bf16Dot?: boolean;
}

/**
 * A weight W [n, k] (a linear layer's [out, in]) packed once for many products C = A @ W^T, as
 * decoding runs them (src/tensor/ops/packed-weights.ts). `data` is in the layout of the kernel named
 * `isa` (the native backend's active GEMM kernel; "reference": W itself, copied).
 */
export interface PackedWeights {
  data: Float32Array;
  n: number;
  k: number;
  isa: string;
}

export interface RopeArgs {
  /** [rows, heads, headDim] where rows = B*T. */
  x: FloatArray;
  /** [rows, rotaryDim/2] */
  cos: FloatArray;
  sin: FloatArray;
  /** same shape as x; may be the same array as x (in place). */
  out: FloatArray;
  rows: number;
  heads: number;
  headDim: number;
  /** even, <= headDim; dims past it pass through unchanged. */
  rotaryDim: number;
  /** true: GLM-4 pairs (x[2i], x[2i+1]); false: GLM-4.5 / Llama rotate_half pairs (x[i], x[i + rotaryDim/2]). */
  interleaved: boolean;
  /** true applies the inverse rotation (the backward pass). */
  inverse: boolean;
}

export interface AttentionShape {
  batch: number;
  /** query length and key length; qOffset = position of query 0 among the keys (Tk - Tq when decoding with a cache). */
  tq: number;
  tk: number;
  qOffset: number;
  headsQ: number;
  headsKv: number;
  headDim: number;
  scale: number;
  /** key j is visible to query i when keyMask[b, j] != 0 and (!causal || j <= qOffset + i || j < prefixLen[b]). */
  causal: boolean;
  /** [batch] prefix-bidirectional length (GLM blank infilling), or null. */
  prefixLen: Int32Array | null;
  /** [batch, kvCapacity] 1 = real token, 0 = padding, or null (all real); only the first tk keys are read. */
  keyMask: Int32Array | null;
  /**
   * Key slots per batch row of k, v (and dk, dv, keyMask): k is [B, kvCapacity, Hkv, D] of which the
   * first tk slots are used (a KV cache's buffers, attended in one call). Default tk.
   */
  kvCapacity?: number;
}

export interface AttentionForwardArgs extends AttentionShape {
  /** [B, Tq, Hq, D] */
  q: FloatArray;
  /** [B, Tk, Hkv, D] */
  k: FloatArray;
  v: FloatArray;
  /** [B, Tq, Hq, D], overwritten; a row with no visible key is 0. */
  out: FloatArray;
  /** [B, Hq, Tq], overwritten; -Infinity for a row with no visible key. */
  lse: FloatArray;
}

export interface AttentionBackwardArgs extends AttentionShape {
  q: FloatArray;
  k: FloatArray;
  v: FloatArray;
  out: FloatArray;
  lse: FloatArray;
  /** [B, Tq, Hq, D] */
  dout: FloatArray;
  /** overwritten: dq [B, Tq, Hq, D], dk and dv [B, Tk, Hkv, D] */
  dq: FloatArray;
  dk: FloatArray;
  dv: FloatArray;
}

export interface AdamWArgs {
  param: FloatArray;
  grad: FloatArray;
  /** first and second moment buffers, updated in place */
  m: FloatArray;
  v: FloatArray;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** decoupled: param -= lr * weightDecay * param */
  weightDecay: number;
  /** 1-based step count, for bias correction */
  step: number;
}

/** One expert's SwiGLU MLP: gate and up [inner, hidden], down [hidden, inner] (linear weights, [out, in]). */
export interface ExpertWeights {
  gate: FloatArray;
  up: FloatArray;
  down: FloatArray;
  inner: number;
}

/**
 * The routed experts of an MoE layer for inference (src/models/glm/moe.ts): out[tokens, hidden] =
 * sum over slots s = (n, k), expert by expert in the order of `experts`, of weights[s] * mlp(x[n]),
 * then + shared's mlp(x[n]) when given. Bitwise the module's op-by-op result on the same backend.
 */
export interface MoeExpertsArgs {
  x: FloatArray;
  tokens: number;
  hidden: number;
  /** routed slots per token */
  k: number;
  /** [tokens * k]: each slot's index into `experts` (-1: none) */
  slotExpert: Int32Array;
  /** [tokens * k] combine weights */
  weights: FloatArray;
  /** the experts used, in the order their terms are added (all with the same inner size) */
  experts: ExpertWeights[];
  shared: ExpertWeights | null;
  /** [tokens, hidden], overwritten */
  out: FloatArray;
}

export interface Backend {
  readonly name: BackendName;
  /** Human-readable detail, e.g. "native avx2+fma, 2 threads". */
  describe(): string;

  gemm(args: GemmArgs): void;
  /** GEMM with a bfloat16 right operand (models stored in bf16; see GemmBf16Args). */
  gemmBf16(args: GemmBf16Args): void;
  /** Packs W [n, k] (float32) for gemmPrepacked. */
  packWeights(w: Float32Array, n: number, k: number): PackedWeights;
  /**
   * C[m, n] = A[m, k] @ W^T + beta * C from packed weights (beta 0: C is not read). Native: the bits
   * gemm() with transB gives when m > PREPACKED_MIN_ROWS - 1 and n > 1; smaller products sum in
   * another order there (its skinny kernels), so callers keep those on gemm().
   */
  gemmPrepacked(a: Float32Array, w: PackedWeights, c: Float32Array, m: number, beta: number): void;

  /** out = w * x / sqrt(mean(x^2) + eps) per row; rstd[r] = 1/sqrt(mean(x_r^2) + eps). x, out: [rows, dim]. */
  rmsnormForward(x: FloatArray, w: FloatArray, out: FloatArray, rstd: FloatArray, rows: number, dim: number, eps: number): void;
  /** dx overwritten; dw += (accumulated over rows). */
  rmsnormBackward(dy: FloatArray, x: FloatArray, w: FloatArray, rstd: FloatArray, dx: FloatArray, dw: FloatArray, rows: number, dim: number): void;

  /**
   * LayerNorm (torch.nn.LayerNorm, biased variance): out = (x - mean) * rstd * w + b per row;
   * mean[r] and rstd[r] = 1/sqrt(var(x_r) + eps) saved. x, out: [rows, dim]; w, b: [dim].
   */
  layernormForward(x: FloatArray, w: FloatArray, b: FloatArray, out: FloatArray, mean: FloatArray, rstd: FloatArray, rows: number, dim: number, eps: number): void;
  /** dx overwritten; dw and db += (accumulated over rows). */
  layernormBackward(dy: FloatArray, x: FloatArray, w: FloatArray, mean: FloatArray, rstd: FloatArray, dx: FloatArray, dw: FloatArray, db: FloatArray, rows: number, dim: number): void;

  rope(args: RopeArgs): void;

  attentionForward(args: AttentionForwardArgs): void;
  attentionBackward(args: AttentionBackwardArgs): void;

  /** Row-wise softmax / log-softmax over the last dim; out may alias x. */
  softmaxForward(x: FloatArray, out: FloatArray, rows: number, cols: number): void;
  /** dx = y * (dy - sum(dy * y)) */
  softmaxBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, rows: number, cols: number): void;
  logSoftmaxForward(x: FloatArray, out: FloatArray, rows: number, cols: number): void;
  /** dx = dy - exp(y) * sum(dy) */
  logSoftmaxBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, rows: number, cols: number): void;

  /**
   * Per-row cross-entropy: losses[r] = lse(logits[r]) - logits[r, targets[r]], lse[r] saved.
   * Rows whose target equals ignoreIndex get loss 0 (lse is still written). A target outside
   * [0, cols) that is not ignoreIndex is an error.
   */
  crossEntropyForward(logits: FloatArray, targets: Int32Array, losses: FloatArray, lse: FloatArray, rows: number, cols: number, ignoreIndex: number): void;
  /** dlogits[r] = dloss[r] * (softmax(logits[r]) - onehot(target)); 0 for ignored rows. Overwritten. */
  crossEntropyBackward(logits: FloatArray, targets: Int32Array, lse: FloatArray, dloss: FloatArray, dlogits: FloatArray, rows: number, cols: number, ignoreIndex: number): void;

  /** out[i] = x[i] + y[i] for i < n (out may be x or y); float32 results equal JavaScript's rounding of the sum. */
  addForward(x: FloatArray, y: FloatArray, out: FloatArray, n: number): void;
  /** out[i] = x[i] * y[i] for i < n (out may be x or y). */
  mulForward(x: FloatArray, y: FloatArray, out: FloatArray, n: number): void;

  /** x: [rows, 2*inner], gate = x[:, :inner], up = x[:, inner:]; out[rows, inner] = silu(gate) * up. */
  swigluForward(x: FloatArray, out: FloatArray, rows: number, inner: number): void;
  /** dx [rows, 2*inner] overwritten. */
  swigluBackward(x: FloatArray, dout: FloatArray, dx: FloatArray, rows: number, inner: number): void;

  /** GELU, exact form as torch.nn.GELU(): out = x * (1 + erf(x / sqrt 2)) / 2, over n values. */
  geluForward(x: FloatArray, out: FloatArray, n: number): void;
  /** dx = dout * (Phi(x) + x * phi(x)), overwritten. */
  geluBackward(x: FloatArray, dout: FloatArray, dx: FloatArray, n: number): void;

  /** out[i] = table[ids[i]]; table [vocab, dim]. An id outside [0, vocab) is an error. */
  embeddingForward(table: FloatArray, ids: Int32Array, out: FloatArray, vocab: number, dim: number): void;
  /** dtable[ids[i]] += dout[i] */
  embeddingBackward(ids: Int32Array, dout: FloatArray, dtable: FloatArray, vocab: number, dim: number): void;

  /** One fused AdamW update with bias correction, in place on param, m, v. */
  adamw(args: AdamWArgs): void;

  /** An MoE layer's routed (and shared) experts in one call, inference only: see MoeExpertsArgs. */
  moeExpertsForward(args: MoeExpertsArgs): void;
}
