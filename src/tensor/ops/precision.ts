/**
 * bf16 compute for mixed-precision training: inside `withBf16Compute(true, fn)`, every matmul and
 * linear that fn records runs its GEMMs (forward, and later the backward of those same ops) with
 * operands rounded to bfloat16 and float32 sums (GemmArgs.bf16Compute: AVX512_BF16 dot products where
 * the CPU has them). Weights, activations, gradients and optimizer state stay float32: the master
 * weights are the float32 parameters, and the rounding happens while the GEMM packs its panels, so no
 * bf16 copy of a weight is kept. Attention, norms, softmax and the loss stay float32.
 *
 * Each op captures the setting when it is recorded, so a backward run after the scope has closed
 * uses the precision of its forward (as autocast does).
 */
/** The values of every `mixed_precision` setting (trainers, pipeline, bench train). */
export const MIXED_PRECISION = ['no', 'bf16'] as const;
export type MixedPrecision = (typeof MIXED_PRECISION)[number];

let bf16Compute = false;

/** Whether matmuls recorded now use bf16 compute. */
export function bf16ComputeEnabled(): boolean {
  return bf16Compute;
}

/** Runs fn with bf16 compute on (or off), restoring the previous setting afterwards. */
export function withBf16Compute<T>(on: boolean, fn: () => T): T {
  const prev = bf16Compute;
  bf16Compute = on;
  try {
    return fn();
  } finally {
    bf16Compute = prev;
  }
}
