/**
 * The native backend: a thin adapter from the Backend interface to the N-API addon built from
 * `native/` (build/Release/glmkit_native.node). All validation happens in native/binding.cpp;
 * here f64 arrays are refused (ops route f64 tensors to the reference backend).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { DTypeError, NativeError } from '../../errors.js';
import type { FloatArray } from '../dtype.js';
import type { AdamWArgs, AttentionBackwardArgs, AttentionForwardArgs, AttentionShape, Backend, GemmArgs, GemmBf16Args, MoeExpertsArgs, PackedWeights, RopeArgs } from './backend.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Addon = Record<string, (...args: any[]) => any>;

export interface NativeInfo {
  isa: string;
  /** the bf16-weight GEMM's decode kernel: "avx512", "avx2+fma" or "portable" */
  bf16Isa: string;
  /** the opt-in bf16-dot path (GemmBf16Args.bf16Dot): "avx512_bf16", or "off (<reason>)" */
  bf16Dot: string;
  /** the GEMM of bf16 compute (GemmArgs.bf16Compute): "avx512_bf16", or "<isa> (bf16-rounded panels)" */
  bf16Compute: string;
  /** the other kernels' path (vector math, softmax, cross-entropy, attention, RMSNorm, AdamW): same names */
  vecIsa: string;
  threads: number;
}

/** Package root: this file is at src/tensor/backend/ (or dist/tensor/backend/). */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function nativeAddonPath(): string {
  return join(packageRoot, 'build', 'Release', 'glmkit_native.node');
}

let addon: Addon | null = null;
let loadError: string | null = null;

/** Loads the addon once; returns null (with the reason in nativeLoadError()) when it is missing or broken. */
export function loadNativeAddon(): Addon | null {
  if (addon || loadError) return addon;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    loadError = `native addon not built (${path} missing); run \`npm run build:native\``;
    return null;
  }
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
  } catch (e) {
    loadError = `native addon failed to load: ${(e as Error).message}`;
  }
  return addon;
}

export function nativeLoadError(): string | null {
  return loadError;
}

function f32(x: FloatArray, op: string, name: string): Float32Array {
  if (!(x instanceof Float32Array)) {
    throw new DTypeError(`${op}: the native backend takes float32 arrays, got ${x.constructor.name} for '${name}'; use the reference backend for float64`);
  }
  return x;
}

function call<T>(op: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DTypeError) throw e;
    throw new NativeError((e as Error).message, { cause: e });
  }
}

function attentionShapeArgs(s: AttentionShape): unknown[] {
  return [s.batch, s.tq, s.tk, s.qOffset, s.headsQ, s.headsKv, s.headDim, s.scale, s.causal, s.prefixLen, s.keyMask, s.kvCapacity];
}

export function createNativeBackend(native: Addon): Backend {
  return {
    name: 'native',
    describe() {
      const info = native.info() as NativeInfo;
      return `native (${info.isa}, bf16 weights ${info.bf16Isa}, bf16 dot ${info.bf16Dot}, bf16 compute ${info.bf16Compute}, vector kernels ${info.vecIsa}, ${info.threads} thread${info.threads === 1 ? '' : 's'})`;
    },
    gemm(p: GemmArgs) {
      call('gemm', () =>
        native.gemm(f32(p.a, 'gemm', 'a'), f32(p.b, 'gemm', 'b'), f32(p.c, 'gemm', 'c'), p.batch, p.m, p.n, p.k, p.transA, p.transB, p.strideA, p.strideB, p.strideC, p.alpha, p.beta, p.bf16Compute === true),
      );
    },
    gemmBf16(p: GemmBf16Args) {
      call('gemmBf16', () => native.gemmBf16(p.a, p.b, p.c, p.m, p.n, p.k, p.transB, p.beta, p.bf16Dot === true));
    },
    packWeights(w: Float32Array, n: number, k: number): PackedWeights {
      // allocated here, so V8 counts it and frees it with the last reference; the native side packs
      // from the buffer's first 64-byte aligned float (the micro-kernels' aligned panel loads)
      const size = call('gemmPackedSize', () => native.gemmPackedSize(n, k) as number);
      const raw = new Float32Array(size + 15);
      const { offset, isa } = call('gemmPackWeights', () => native.gemmPackWeights(f32(w, 'gemmPackWeights', 'w'), raw, n, k) as { offset: number; isa: string });
      return { data: raw.subarray(offset, offset + size), n, k, isa };
    },
    gemmPrepacked(a: Float32Array, w: PackedWeights, c: Float32Array, m: number, beta: number) {
      call('gemmPrepacked', () => native.gemmPrepacked(f32(a, 'gemmPrepacked', 'a'), w.data, f32(c, 'gemmPrepacked', 'c'), m, w.n, w.k, beta, w.isa));
    },
    rmsnormForward(x, w, out, rstd, rows, dim, eps) {
      const op = 'rmsnormForward';
      call(op, () => native.rmsnormForward(f32(x, op, 'x'), f32(w, op, 'w'), f32(out, op, 'out'), f32(rstd, op, 'rstd'), rows, dim, eps));
    },
    rmsnormBackward(dy, x, w, rstd, dx, dw, rows, dim) {
      const op = 'rmsnormBackward';
      call(op, () =>
        native.rmsnormBackward(f32(dy, op, 'dy'), f32(x, op, 'x'), f32(w, op, 'w'), f32(rstd, op, 'rstd'), f32(dx, op, 'dx'), f32(dw, op, 'dw'), rows, dim),
      );
    },
    layernormForward(x, w, b, out, mean, rstd, rows, dim, eps) {
      const op = 'layernormForward';
      call(op, () =>
        native.layernormForward(f32(x, op, 'x'), f32(w, op, 'w'), f32(b, op, 'b'), f32(out, op, 'out'), f32(mean, op, 'mean'), f32(rstd, op, 'rstd'), rows, dim, eps),
      );
    },
    layernormBackward(dy, x, w, mean, rstd, dx, dw, db, rows, dim) {
      const op = 'layernormBackward';
      call(op, () =>
        native.layernormBackward(
          f32(dy, op, 'dy'), f32(x, op, 'x'), f32(w, op, 'w'), f32(mean, op, 'mean'), f32(rstd, op, 'rstd'),
          f32(dx, op, 'dx'), f32(dw, op, 'dw'), f32(db, op, 'db'), rows, dim,
        ),
      );
    },
    rope(p: RopeArgs) {
      const op = 'rope';
      call(op, () =>
        native.rope(f32(p.x, op, 'x'), f32(p.cos, op, 'cos'), f32(p.sin, op, 'sin'), f32(p.out, op, 'out'), p.rows, p.heads, p.headDim, p.rotaryDim, p.interleaved, p.inverse),
      );
    },
    attentionForward(p: AttentionForwardArgs) {
      const op = 'attentionForward';
      call(op, () =>
        native.attentionForward(f32(p.q, op, 'q'), f32(p.k, op, 'k'), f32(p.v, op, 'v'), f32(p.out, op, 'out'), f32(p.lse, op, 'lse'), ...attentionShapeArgs(p)),
      );
    },
    attentionBackward(p: AttentionBackwardArgs) {
      const op = 'attentionBackward';
      call(op, () =>
        native.attentionBackward(
          f32(p.q, op, 'q'), f32(p.k, op, 'k'), f32(p.v, op, 'v'), f32(p.out, op, 'out'), f32(p.lse, op, 'lse'),
          f32(p.dout, op, 'dout'), f32(p.dq, op, 'dq'), f32(p.dk, op, 'dk'), f32(p.dv, op, 'dv'),
          ...attentionShapeArgs(p),
        ),
      );
    },
    softmaxForward(x, out, rows, cols) {
      call('softmaxForward', () => native.softmaxForward(f32(x, 'softmax', 'x'), f32(out, 'softmax', 'out'), rows, cols));
    },
    softmaxBackward(y, dy, dx, rows, cols) {
      const op = 'softmaxBackward';
      call(op, () => native.softmaxBackward(f32(y, op, 'y'), f32(dy, op, 'dy'), f32(dx, op, 'dx'), rows, cols));
    },
    logSoftmaxForward(x, out, rows, cols) {
      const op = 'logSoftmaxForward';
      call(op, () => native.logSoftmaxForward(f32(x, op, 'x'), f32(out, op, 'out'), rows, cols));
    },
    logSoftmaxBackward(y, dy, dx, rows, cols) {
      const op = 'logSoftmaxBackward';
      call(op, () => native.logSoftmaxBackward(f32(y, op, 'y'), f32(dy, op, 'dy'), f32(dx, op, 'dx'), rows, cols));
    },
    crossEntropyForward(logits, targets, losses, lse, rows, cols, ignoreIndex) {
      const op = 'crossEntropyForward';
      call(op, () => native.crossEntropyForward(f32(logits, op, 'logits'), targets, f32(losses, op, 'losses'), f32(lse, op, 'lse'), rows, cols, ignoreIndex));
    },
    crossEntropyBackward(logits, targets, lse, dloss, dlogits, rows, cols, ignoreIndex) {
      const op = 'crossEntropyBackward';
      call(op, () =>
        native.crossEntropyBackward(f32(logits, op, 'logits'), targets, f32(lse, op, 'lse'), f32(dloss, op, 'dloss'), f32(dlogits, op, 'dlogits'), rows, cols, ignoreIndex),
      );
    },
    swigluForward(x, out, rows, inner) {
      const op = 'swigluForward';
      call(op, () => native.swigluForward(f32(x, op, 'x'), f32(out, op, 'out'), rows, inner));
    },
    moeExpertsForward(p: MoeExpertsArgs) {
      const op = 'moeExpertsForward';
      const inner = p.experts.length > 0 ? p.experts[0].inner : 1;
      const mats: Float32Array[] = [];
      for (const [i, e] of p.experts.entries()) {
        if (e.inner !== inner) throw new NativeError(`${op}: expert ${i} has inner size ${e.inner}, expected ${inner} (every routed expert the same)`);
        mats.push(f32(e.gate, op, 'gate'), f32(e.up, op, 'up'), f32(e.down, op, 'down'));
      }
      const shared = p.shared ? [f32(p.shared.gate, op, 'shared gate'), f32(p.shared.up, op, 'shared up'), f32(p.shared.down, op, 'shared down')] : null;
      call(op, () => native.moeExpertsForward(f32(p.x, op, 'x'), p.tokens, p.hidden, inner, p.k, p.slotExpert, f32(p.weights, op, 'weights'), mats, shared, p.shared?.inner ?? 0, f32(p.out, op, 'out')));
    },
    swigluBackward(x, dout, dx, rows, inner) {
      const op = 'swigluBackward';
      call(op, () => native.swigluBackward(f32(x, op, 'x'), f32(dout, op, 'dout'), f32(dx, op, 'dx'), rows, inner));
    },
    addForward(x, y, out, n) {
      const op = 'addForward';
      call(op, () => native.addForward(f32(x, op, 'x'), f32(y, op, 'y'), f32(out, op, 'out'), n));
    },
    mulForward(x, y, out, n) {
      const op = 'mulForward';
      call(op, () => native.mulForward(f32(x, op, 'x'), f32(y, op, 'y'), f32(out, op, 'out'), n));
    },
    geluForward(x, out, n) {
      const op = 'geluForward';
      call(op, () => native.geluForward(f32(x, op, 'x'), f32(out, op, 'out'), n));
    },
    geluBackward(x, dout, dx, n) {
      const op = 'geluBackward';
      call(op, () => native.geluBackward(f32(x, op, 'x'), f32(dout, op, 'dout'), f32(dx, op, 'dx'), n));
    },
    embeddingForward(table, ids, out, vocab, dim) {
      const op = 'embeddingForward';
      call(op, () => native.embeddingForward(f32(table, op, 'table'), ids, f32(out, op, 'out'), vocab, dim));
    },
    embeddingBackward(ids, dout, dtable, vocab, dim) {
      const op = 'embeddingBackward';
      call(op, () => native.embeddingBackward(ids, f32(dout, op, 'dout'), f32(dtable, op, 'dtable'), vocab, dim));
    },
    adamw(p: AdamWArgs) {
      const op = 'adamw';
      call(op, () =>
        native.adamw(f32(p.param, op, 'param'), f32(p.grad, op, 'grad'), f32(p.m, op, 'm'), f32(p.v, op, 'v'), p.lr, p.beta1, p.beta2, p.eps, p.weightDecay, p.step),
      );
    },
  };
}

export function setNativeThreads(n: number): void {
  const a = loadNativeAddon();
  if (a) a.setThreads(n);
}

/** The native pool's thread count (1 without the addon, or on a thread that runs its kernels inline). */
export function nativeThreads(): number {
  return nativeInfo()?.threads ?? 1;
}

/**
 * With `on`, every kernel called from this JS thread runs on this thread alone (the pool is not
 * used), as several JS threads each doing a share of the work do (src/generation/parallel-generate.ts).
 */
export function setNativeCallerInline(on: boolean): void {
  const a = loadNativeAddon();
  if (a) a.setCallerInline(on);
}

export function nativeInfo(): NativeInfo | null {
  const a = loadNativeAddon();
  return a ? (a.info() as NativeInfo) : null;
}

/**
 * Measured FMA peak of the active vector path (GFLOP/s over all native threads): every thread runs
 * `iters` rounds of independent register FMAs (12 chains of 16 lanes on AVX-512, of 8 on AVX2).
 * Null without the addon.
 */
export function nativeFmaPeak(iters = 20_000_000): number | null {
  const a = loadNativeAddon();
  return a ? (a.fmaPeak(iters) as number) : null;
}

/** The best of `bursts` nativeFmaPeak measurements (a burst can lose its core to another process); null without the addon. */
export function nativeFmaPeakBest(bursts: number, iters = 20_000_000): number | null {
  let best: number | null = null;
  for (let i = 0; i < bursts; i++) {
    const g = nativeFmaPeak(iters);
    if (g !== null && (best === null || g > best)) best = g;
  }
  return best;
}
