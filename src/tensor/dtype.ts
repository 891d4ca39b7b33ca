/**
 * Element types. `f32` is what models train in; `f64` exists so the reference backend can check
 * gradients by finite differences in double precision; `i32` holds token ids and indices; `bf16`
 * (bfloat16 bits in a Uint16Array) is a storage type for frozen weights: linear layers and
 * embeddings read it directly (src/tensor/ops/bf16.ts), every other op refuses it.
 */
import { poolAcquire } from './buffer-pool.js';

export type DType = 'f32' | 'f64' | 'i32' | 'bf16';
export type FloatArray = Float32Array | Float64Array;
export type TypedData = Float32Array | Float64Array | Int32Array | Uint16Array;

export function allocData(dtype: DType, size: number): TypedData {
  if (allocProbe) allocProbe(size);
  const pooled = poolAcquire(dtype, size, true);
  if (pooled) return pooled;
  switch (dtype) {
    case 'f32':
      return new Float32Array(size);
    case 'f64':
      return new Float64Array(size);
    case 'i32':
      return new Int32Array(size);
    case 'bf16':
      return new Uint16Array(size);
  }
}

let poisonUninit = false;
let allocProbe: ((elements: number) => void) | null = null;

/** Tests: `fn` sees the element count of every tensor buffer allocData/allocUninit make (null: off). */
export function setAllocProbe(fn: ((elements: number) => void) | null): void {
  allocProbe = fn;
}

/** Tests: fill allocUninit's arrays with NaN (f32/f64), so an op that leaves part of its output unwritten shows. */
export function setPoisonUninit(on: boolean): void {
  poisonUninit = on;
}

/**
 * An array whose contents are unspecified (not zeroed): for outputs an op overwrites entirely. Node
 * allocates it without the memset a zeroed ArrayBuffer costs (a training step's outputs are hundreds
 * of megabytes).
 */
export function allocUninit(dtype: DType, size: number): TypedData {
  const bytes = size * BYTES_PER_ELEMENT[dtype];
  if (bytes < 1 << 18) return allocData(dtype, size); // under 256 KiB zeroing costs less than a Buffer
  if (allocProbe) allocProbe(size);
  const out = poolAcquire(dtype, size, false) ?? viewOf(dtype, Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer, size);
  if (poisonUninit && (dtype === 'f32' || dtype === 'f64')) out.fill(Number.NaN);
  return out;
}

export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { f32: 4, f64: 8, i32: 4, bf16: 2 };

/** The first `size` elements of `buf` as an array of `dtype`. */
export function viewOf(dtype: DType, buf: ArrayBuffer, size: number): TypedData {
  switch (dtype) {
    case 'f32':
      return new Float32Array(buf, 0, size);
    case 'f64':
      return new Float64Array(buf, 0, size);
    case 'i32':
      return new Int32Array(buf, 0, size);
    case 'bf16':
      return new Uint16Array(buf, 0, size);
  }
}

export function dtypeOf(data: TypedData): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Float64Array) return 'f64';
  if (data instanceof Uint16Array) return 'bf16';
  return 'i32';
}

/** Whether ops compute in this dtype (f32, f64); bf16 is storage only. */
export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f64';
}
