/**
 * Tensor: contiguous row-major data (Float32Array for activations and weights, Float64Array for
 * gradient checks, Int32Array for ids) with a shape, and autograd state. Tensors are immutable
 * values for ops (ops allocate their outputs); optimizers update parameter data in place under
 * noGrad. Views (reshape) share data.
 */
import { DTypeError, ShapeError } from '../errors.js';
import { bf16BitsToF32, fromHalf, toHalf } from '../io/half.js';
import { Rng } from '../util/rng.js';
import { runBackward, type GradNode } from './autograd.js';
import { allocData, allocUninit, dtypeOf, type DType, type TypedData } from './dtype.js';
import { checkShape, fmt, sizeOf, type Shape } from './shape.js';
import { binaryKernel } from './ops/binary-kernel.js';

export class Tensor {
  readonly data: TypedData;
  readonly shape: readonly number[];
  requiresGrad = false;
  grad: Tensor | null = null;
  node: GradNode | null = null;

  constructor(data: TypedData, shape: Shape) {
    checkShape('Tensor', shape);
    if (sizeOf(shape) !== data.length) {
      throw new ShapeError(`Tensor: shape ${fmt(shape)} holds ${sizeOf(shape)} elements but the data has ${data.length}`);
    }
    this.data = data;
    this.shape = [...shape];
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }
  get size(): number {
    return this.data.length;
  }
  get ndim(): number {
    return this.shape.length;
  }

  // ---- constructors --------------------------------------------------------------------------
  static zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
    return new Tensor(allocData(dtype, sizeOf(shape)), shape);
  }
  static full(shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
    const t = Tensor.zeros(shape, dtype);
    t.data.fill(value);
    return t;
  }
  static ones(shape: Shape, dtype: DType = 'f32'): Tensor {
    return Tensor.full(shape, 1, dtype);
  }
  static scalar(value: number, dtype: DType = 'f32'): Tensor {
    return Tensor.full([], value, dtype);
  }
  /** From nested or flat numbers; with a flat array the shape must be given. */
  static from(values: ArrayLike<number>, shape?: Shape, dtype: DType = 'f32'): Tensor {
    const s = shape ?? [values.length];
    const data = allocData(dtype, values.length);
    for (let i = 0; i < values.length; i++) data[i] = values[i];
    return new Tensor(data, s);
  }
  static ids(values: ArrayLike<number>, shape?: Shape): Tensor {
    return Tensor.from(values, shape, 'i32');
  }
  /** Normal(0, std^2) entries from a seeded generator. */
  static randn(shape: Shape, rng: Rng, std = 1, dtype: DType = 'f32'): Tensor {
    const t = Tensor.zeros(shape, dtype);
    for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * std;
    return t;
  }
  /** Uniform in [lo, hi). */
  static rand(shape: Shape, rng: Rng, lo = 0, hi = 1, dtype: DType = 'f32'): Tensor {
    const t = Tensor.zeros(shape, dtype);
    for (let i = 0; i < t.size; i++) t.data[i] = lo + (hi - lo) * rng.random();
    return t;
  }

  // ---- autograd ------------------------------------------------------------------------------
  /** Marks a leaf tensor as a parameter whose gradient is wanted. Returns this. */
  requireGrad(on = true): this {
    if (on && this.dtype === 'i32') throw new DTypeError('requireGrad: integer tensors cannot have gradients');
    if (on && this.dtype === 'bf16') throw new DTypeError(`requireGrad: bf16 tensors are frozen storage (shape ${fmt(this.shape)}); train in f32 and convert with .to('bf16') afterwards`);
    this.requiresGrad = on;
    return this;
  }
  backward(grad?: Tensor): void {
    runBackward(this, grad, (a, b) => addSameShape(a, b), (t) => Tensor.ones(t.shape, t.dtype));
  }
  zeroGrad(): void {
    this.grad = null;
  }
  /** Same data, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  // ---- data access ---------------------------------------------------------------------------
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }
  /**
   * A copy with another dtype, or the same tensor when it already has it. f32 -> bf16 rounds to
   * nearest even; bf16 -> f32 is exact; f32 <-> f64 and to/from i32 copy the values.
   */
  to(dtype: DType): Tensor {
    if (dtype === this.dtype) return this;
    if (dtype === 'bf16') return new Tensor(toHalf(this.dtype === 'f32' ? (this.data as Float32Array) : Float32Array.from(this.data), 'bf16'), this.shape);
    const src = this.dtype === 'bf16' ? fromHalf(this.data as Uint16Array, 'bf16') : this.data;
    if (dtype === 'f32' && src !== this.data) return new Tensor(src, this.shape);
    const out = allocData(dtype, this.size);
    for (let i = 0; i < this.size; i++) out[i] = src[i];
    return new Tensor(out, this.shape);
  }
  /** Element i as a number (bf16 widened to its value). */
  private at(i: number): number {
    return this.dtype === 'bf16' ? bf16BitsToF32(this.data[i]) : this.data[i];
  }
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item(): tensor of shape ${fmt(this.shape)} has ${this.size} elements, expected 1`);
    return this.at(0);
  }
  toArray(): number[] {
    return this.dtype === 'bf16' ? Array.from(fromHalf(this.data as Uint16Array, 'bf16')) : Array.from(this.data);
  }
  /** Nested arrays following the shape. */
  toNested(): unknown {
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return this.at(offset);
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }
  toString(): string {
    return `Tensor(${this.dtype}, ${fmt(this.shape)})`;
  }
}

/** Gradient accumulation: a + b, large float32 arrays on the backend's kernel (same float32 result). */
function addSameShape(a: Tensor, b: Tensor): Tensor {
  const out = allocUninit(a.dtype, a.size);
  const x = a.data, y = b.data;
  if (!binaryKernel('add', x, y, out)) for (let i = 0; i < out.length; i++) out[i] = x[i] + y[i];
  return new Tensor(out, a.shape);
}
