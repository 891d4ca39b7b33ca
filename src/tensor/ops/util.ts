/** Shared helpers of the op implementations. */
import { DTypeError, ShapeError } from '../../errors.js';
import { allocData, allocUninit, type DType, type FloatArray } from '../dtype.js';
import { fmt, sizeOf, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';

/** A fresh zeroed tensor of the given shape and float dtype (for outputs that are accumulated into). */
export function empty(shape: Shape, dtype: DType): Tensor {
  return new Tensor(allocData(dtype, sizeOf(shape)), shape);
}

/** A fresh tensor whose contents are unspecified: only for outputs the op then writes entirely. */
export function uninit(shape: Shape, dtype: DType): Tensor {
  return new Tensor(allocUninit(dtype, sizeOf(shape)), shape);
}

/** The error for a bf16 tensor given to an op that computes in f32/f64 only. */
export function bf16Refused(op: string, t: Tensor, name = 'input'): DTypeError {
  return new DTypeError(`${op}: '${name}' is a bf16 tensor of shape ${fmt(t.shape)}; bf16 is a storage type read only by linear and embedding weights; convert it with .to('f32') first`);
}

export function floatData(t: Tensor, op: string, name = 'input'): FloatArray {
  if (t.dtype === 'i32') throw new DTypeError(`${op}: '${name}' must be a float tensor, got int32 of shape ${fmt(t.shape)}`);
  if (t.dtype === 'bf16') throw bf16Refused(op, t, name);
  return t.data as FloatArray;
}

export function intData(t: Tensor, op: string, name = 'ids'): Int32Array {
  if (t.dtype !== 'i32') throw new DTypeError(`${op}: '${name}' must be an int32 tensor, got ${t.dtype} of shape ${fmt(t.shape)}`);
  return t.data as Int32Array;
}

/** Float dtype of a set of inputs: all must agree (f32 with f64 is an error, not a silent cast). */
export function commonFloat(op: string, ...ts: Tensor[]): DType {
  const d = ts[0].dtype;
  for (const t of ts) {
    if (t.dtype === 'i32') throw new DTypeError(`${op}: expected float tensors, got int32 of shape ${fmt(t.shape)}`);
    if (t.dtype === 'bf16') throw bf16Refused(op, t);
    if (t.dtype !== d) throw new DTypeError(`${op}: dtypes differ (${d} vs ${t.dtype}); convert with .to()`);
  }
  return d;
}

export function expectNdim(op: string, t: Tensor, ndim: number, name: string): void {
  if (t.ndim !== ndim) throw new ShapeError(`${op}: '${name}' must have ${ndim} dims, got shape ${fmt(t.shape)}`);
}

export function expectDim(op: string, t: Tensor, axis: number, size: number, name: string): void {
  const a = axis < 0 ? t.ndim + axis : axis;
  if (t.shape[a] !== size) throw new ShapeError(`${op}: '${name}' dim ${axis} must be ${size}, got shape ${fmt(t.shape)}`);
}
