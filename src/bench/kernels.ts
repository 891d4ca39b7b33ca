/**
 * `glmkit bench kernels`: GEMM GFLOPS on a fixed set of shapes, fused causal attention forward /
 * backward throughput, and the decode product's read rate (x[1, in] @ W^T over every matrix of the
 * `small` preset, f32 and bf16 weights: the bytes a batch-1 decode step streams from memory), on the
 * active backend at a chosen thread count. The same shapes run in
 * PyTorch with bench/peers/torch_kernels.py, which prints the same JSON lines (with "impl":"torch"),
 * so the two can be compared side by side on one machine.
 */
import type { Backend } from '../tensor/backend/backend.js';
import { getBackend } from '../tensor/backend/index.js';
import { nativeFmaPeakBest, nativeInfo, setNativeThreads } from '../tensor/backend/native.js';
import { toHalf } from '../io/half.js';

export interface BenchKernelsOptions {
  /** Native thread count for the run (restored afterwards); default: the pool's. */
  threads?: number;
  /** One JSON object per line instead of a table. */
  json?: boolean;
  /** Fewer repetitions (a smoke run). */
  quick?: boolean;
}

/** GEMM shapes [m, n, k]: square, tall-skinny and wide, as met in training a small GLM. */
export const GEMM_SHAPES: ReadonlyArray<readonly [number, number, number]> = [
  [512, 512, 512],
  [2048, 256, 1024],
  [64, 4096, 1024],
  [8192, 256, 256],
];

/**
 * The decode product's weights: the [out, in] matrices of the `small` preset (8 layers of q, k, v, o,
 * gate_up and down, then the 8192-token head), 53.5 MB in bf16, more than the last-level caches of the
 * machines measured, so one pass reads its weights from memory as a decode step does.
 */
export const DECODE_GEMV_MATRICES: ReadonlyArray<readonly [number, number]> = [
  ...Array.from({ length: 8 }, () => [[512, 512], [128, 512], [128, 512], [512, 512], [2816, 512], [512, 1408]] as const).flat(),
  [8192, 512],
];

/** Attention benchmark shape: batch 4, 8 heads, 256 tokens, head_dim 64, causal. */
export const ATTENTION_SHAPE = { batch: 4, heads: 8, t: 256, headDim: 64 } as const;

interface Timing {
  best: number;
  median: number;
  reps: number;
}

/** Runs fn once to warm up, then repeatedly (up to maxReps or about budgetS seconds); seconds per call. */
function timeIt(fn: () => void, maxReps: number, budgetS: number): Timing {
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxReps && (times.length < 3 || performance.now() - start < budgetS * 1000)) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return { best: times[0], median: times[Math.floor(times.length / 2)], reps: times.length };
}

function randomFill(x: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 4294967296 - 0.5;
  }
  return x;
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** Times C = A @ op(B) for one shape; returns the JSON record. */
function benchGemm(backend: Backend, m: number, n: number, k: number, transB: boolean, reps: number, budget: number, threads: number, bf16Compute = false) {
  const a = randomFill(new Float32Array(m * k), 1), b = randomFill(new Float32Array(k * n), 2), c = new Float32Array(m * n);
  const args = { a, b, c, batch: 1, m, n, k, transA: false, transB, strideA: 0, strideB: 0, strideC: m * n, alpha: 1, beta: 0, bf16Compute };
  const t = timeIt(() => backend.gemm(args), reps, budget);
  const flops = 2 * m * n * k;
  return {
    op: bf16Compute ? 'matmul_bf16_compute' : 'matmul', m, n, k, trans_b: transB, threads,
    gflops: round(flops / t.best / 1e9), gflops_median: round(flops / t.median / 1e9), ms: round(t.best * 1000, 3), reps: t.reps,
  };
}

/** Times fused causal attention forward and backward; returns the two JSON records (or errors). */
function benchAttention(backend: Backend, reps: number, budget: number, threads: number): Array<Record<string, unknown>> {
  const { batch, heads, t, headDim } = ATTENTION_SHAPE;
  const size = batch * t * heads * headDim;
  const shape = {
    batch, tq: t, tk: t, qOffset: 0, headsQ: heads, headsKv: heads, headDim,
    scale: 1 / Math.sqrt(headDim), causal: true, prefixLen: null, keyMask: null,
  };
  const q = randomFill(new Float32Array(size), 3), k = randomFill(new Float32Array(size), 4), v = randomFill(new Float32Array(size), 5);
  const out = new Float32Array(size), lse = new Float32Array(batch * heads * t), dout = randomFill(new Float32Array(size), 6);
  const dq = new Float32Array(size), dk = new Float32Array(size), dv = new Float32Array(size);
  // Causal attention touches half the T x T scores: QK^T and PV are 2 * T*T*D flops each, halved.
  const fwdFlops = (4 * batch * heads * t * t * headDim) / 2;
  const base = { batch, heads, t, head_dim: headDim, causal: true, threads };
  const records: Array<Record<string, unknown>> = [];
  const measure = (op: string, flops: number, fn: () => void) => {
    try {
      const tm = timeIt(fn, reps, budget);
      records.push({ op, ...base, ms: round(tm.best * 1000, 3), ms_median: round(tm.median * 1000, 3), tokens_per_s: Math.round((batch * t) / tm.best), gflops: round(flops / tm.best / 1e9), reps: tm.reps });
    } catch (e) {
      records.push({ op, ...base, error: (e as Error).message });
    }
  };
  measure('attention_fwd', fwdFlops, () => backend.attentionForward({ ...shape, q, k, v, out, lse }));
  // Backward recomputes the scores and forms dV, dP, dQ, dK: about 2.5x the forward flops.
  measure('attention_bwd', 2.5 * fwdFlops, () => backend.attentionBackward({ ...shape, q, k, v, out, lse, dout, dq, dk, dv }));
  return records;
}

/**
 * One decode step's products at batch 1 (m = 1, W transposed, as `linear` calls them) over
 * DECODE_GEMV_MATRICES with f32 or bf16 weights: GB/s of weights read (best and median pass).
 */
function benchDecodeGemv(backend: Backend, dtype: 'f32' | 'bf16', reps: number, budget: number, threads: number): Record<string, unknown> {
  let seed = 7;
  const mats = DECODE_GEMV_MATRICES.map(([n, k]) => {
    const w32 = randomFill(new Float32Array(n * k), seed++);
    const w = dtype === 'bf16' ? toHalf(w32, 'bf16') : w32;
    return { n, k, w, a: randomFill(new Float32Array(k), seed++), c: new Float32Array(n) };
  });
  const bytes = mats.reduce((s, m) => s + m.w.byteLength, 0);
  const pass = () => {
    for (const m of mats) {
      if (m.w instanceof Uint16Array) backend.gemmBf16({ a: m.a, b: m.w, c: m.c, m: 1, n: m.n, k: m.k, transB: true, beta: 0 });
      else backend.gemm({ a: m.a, b: m.w, c: m.c, batch: 1, m: 1, n: m.n, k: m.k, transA: false, transB: true, strideA: 0, strideB: 0, strideC: m.n, alpha: 1, beta: 0 });
    }
  };
  const t = timeIt(pass, reps, budget);
  return {
    op: 'decode_gemv', dtype, matrices: mats.length, weight_mb: round(bytes / 1e6), threads,
    ms: round(t.best * 1e3, 3), ms_median: round(t.median * 1e3, 3), gb_s: round(bytes / t.best / 1e9), gb_s_median: round(bytes / t.median / 1e9), reps: t.reps,
  };
}

function formatTable(records: Array<Record<string, unknown>>, header: string): string[] {
  const lines = [header, ''];
  lines.push('op              shape                      threads      best     median   reps');
  for (const r of records) {
    if (r.op === 'fma_peak') {
      lines.push(`fma peak        ${'register FMAs'.padEnd(26)} ${String(r.threads).padStart(7)} ${String(r.gflops).padStart(7)} GF`);
    } else if (r.op === 'matmul' || r.op === 'matmul_bf16_compute') {
      const shape = `${r.m}x${r.n}x${r.k}${r.trans_b ? ' (B^T)' : ''}`;
      lines.push(`${r.op === 'matmul' ? 'matmul         ' : 'matmul bf16 c. '} ${shape.padEnd(26)} ${String(r.threads).padStart(7)} ${String(r.gflops).padStart(7)} GF ${String(r.gflops_median).padStart(7)} GF ${String(r.reps).padStart(6)}`);
    } else if (r.op === 'decode_gemv') {
      const shape = `small, ${r.dtype}, ${r.weight_mb} MB`;
      lines.push(`decode gemv     ${shape.padEnd(26)} ${String(r.threads).padStart(7)} ${String(r.ms).padStart(7)} ms ${String(r.ms_median).padStart(7)} ms ${String(r.reps).padStart(6)}   ${r.gb_s} GB/s (median ${r.gb_s_median})`);
    } else {
      const shape = `B${r.batch} H${r.heads} T${r.t} D${r.head_dim} causal`;
      if (r.error) {
        lines.push(`${String(r.op).padEnd(15)} ${shape.padEnd(26)} ${String(r.threads).padStart(7)}  error: ${r.error}`);
      } else {
        lines.push(`${String(r.op).padEnd(15)} ${shape.padEnd(26)} ${String(r.threads).padStart(7)} ${String(r.ms).padStart(7)} ms ${String(r.ms_median).padStart(7)} ms ${String(r.reps).padStart(6)}   ${r.tokens_per_s} tok/s, ${r.gflops} GFLOPS`);
      }
    }
  }
  return lines;
}

/**
 * Measures GEMM GFLOPS (best and median over several reps, after a warm-up) for GEMM_SHAPES with
 * B plain and transposed, in float32 and in bf16 compute (`matmul_bf16_compute`), causal
 * attention forward / backward, and the decode product's read rate, printing JSON lines or a table.
 */
export async function benchKernels(opts: BenchKernelsOptions, print: (line: string) => void): Promise<void> {
  const before = nativeInfo();
  if (opts.threads !== undefined) setNativeThreads(opts.threads);
  try {
    const backend = getBackend();
    const info = nativeInfo();
    const threads = backend.name === 'native' && info ? info.threads : 1;
    const reps = opts.quick ? 3 : 200;
    const budget = opts.quick ? 0.2 : 1.0;
    const common = { impl: 'glmkit', backend: backend.name, isa: backend.name === 'native' ? info?.isa : 'js', vec_isa: backend.name === 'native' ? info?.vecIsa : 'js' };
    const records: Array<Record<string, unknown>> = [];
    const emit = (r: Record<string, unknown>) => {
      records.push(r);
      if (opts.json) print(JSON.stringify({ ...r, ...common }));
    };
    // float32, then the same shapes in bf16 compute (mixed-precision training's GEMM: bf16 operands, float32 sums)
    for (const bf16Compute of [false, true]) {
      for (const [m, n, k] of GEMM_SHAPES) {
        for (const transB of [false, true]) emit(benchGemm(backend, m, n, k, transB, reps, budget, threads, bf16Compute));
        await new Promise((r) => setImmediate(r)); // let a caller's signals and output through
      }
    }
    for (const r of benchAttention(backend, reps, budget, threads)) emit(r);
    for (const dtype of ['f32', 'bf16'] as const) emit(benchDecodeGemv(backend, dtype, reps, budget, threads));
    if (backend.name === 'native') {
      // The machine's measured FMA peak on the vector path, the ceiling the GFLOPS above compare with.
      emit({ op: 'fma_peak', threads, gflops: round(nativeFmaPeakBest(opts.quick ? 1 : 3, opts.quick ? 2_000_000 : 20_000_000) ?? 0) });
    }
    if (!opts.json) for (const line of formatTable(records, `glmkit kernels: ${backend.describe()}`)) print(line);
  } finally {
    if (opts.threads !== undefined && before) setNativeThreads(before.threads);
  }
}
