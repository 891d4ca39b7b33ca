/**
 * Element types. `f32` is what models train in; `f64` exists so the reference backend can check
 * gradients by finite differences in double precision; `i32` holds token ids and indices.
 */
export type DType = 'f32' | 'f64' | 'i32';
export type FloatArray = Float32Array | Float64Array;
export type TypedData = Float32Array | Float64Array | Int32Array;

export function allocData(dtype: DType, size: number): TypedData {
  switch (dtype) {
    case 'f32':
      return new Float32Array(size);
    case 'f64':
      return new Float64Array(size);
    case 'i32':
      return new Int32Array(size);
  }
}

export function dtypeOf(data: TypedData): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Float64Array) return 'f64';
  return 'i32';
}

export function isFloat(dtype: DType): boolean {
  return dtype !== 'i32';
}
