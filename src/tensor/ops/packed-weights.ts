/**
 * Prepacked weights for decoding. A GEMM packs its right operand into the micro-kernel's panels on
 * every call; for a linear layer's weight W [out, in] used transposed that is a transpose of all of W,
 * which at decode sizes (8-64 rows, a tiny model's 128-1,024-wide layers) costs about as much as the
 * product itself (docs/performance.md "Prepacked decode weights"). Inside `withPackedWeights(fn)`,
 * `linear` packs each weight the first time it multiplies it (float32, no bf16 compute, more than
 * PREPACKED_MIN_ROWS - 1 rows) and reuses the packed copy for the rest of `fn`, up to
 * GLMKIT_PACKED_WEIGHTS_MB of copies.
 *
 * The weights must not change inside the scope: generation opens one per call (src/generation/
 * generate.ts), and the packed copies are dropped when it closes, so a trainer's next update is seen
 * by the next call. The native product from packed weights gives the bits of the unpacked one
 * (native/kernels/gemm.cpp "prepacked weights"), so decoding samples the same tokens either way.
 */
import { ConfigError } from '../../errors.js';
import { backendFor } from '../backend/index.js';
import { PREPACKED_MIN_ROWS, type PackedWeights } from '../backend/backend.js';

let packed: Map<Float32Array, PackedWeights> | null = null;
let packedBytes = 0;

/**
 * Bytes of packed copies one scope may hold (GLMKIT_PACKED_WEIGHTS_MB, default 256): past it, weights
 * are multiplied unpacked, so a large model decoding in batches does not hold a second copy of itself.
 */
function packLimitBytes(): number {
  const v = process.env.GLMKIT_PACKED_WEIGHTS_MB;
  const mb = v === undefined || v === '' ? 256 : Number(v);
  if (!(mb >= 0)) throw new ConfigError(`GLMKIT_PACKED_WEIGHTS_MB must be a number >= 0 (0 = no packing), got "${v}"`);
  return mb * 1024 * 1024;
}

/** Runs `fn` with weights packed on first use and kept until it returns (nested scopes share one). */
export function withPackedWeights<T>(fn: () => T): T {
  if (packed) return fn();
  packed = new Map();
  packedBytes = 0;
  try {
    return fn();
  } finally {
    packed = null;
  }
}

/**
 * W [n, k] packed for a product with `rows` rows, or null outside a scope, for float64 weights, or
 * for products whose rows the packed kernels would sum in another order than gemm() (fewer than
 * PREPACKED_MIN_ROWS rows, or a single output column).
 */
export function packedWeight(w: Float32Array | Float64Array, n: number, k: number, rows: number): PackedWeights | null {
  if (!packed || !(w instanceof Float32Array) || rows < PREPACKED_MIN_ROWS || n < 2) return null;
  let p = packed.get(w);
  if (!p) {
    if (packedBytes + 4 * n * k > packLimitBytes()) return null;
    p = backendFor(w).packWeights(w, n, k);
    packedBytes += p.data.byteLength;
    packed.set(w, p);
  }
  return p.n === n && p.k === k ? p : null; // one array read as another shape: multiply it unpacked
}
