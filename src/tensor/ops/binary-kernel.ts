/**
 * Same-length float32 add and multiply go to the backend's kernels (native: threaded, vectorised)
 * from this many elements; below it one N-API call costs more than the JavaScript loop. Both paths
 * give the same float32 values (a float32 sum or product rounded from double is the correctly
 * rounded float32 result), so the threshold never changes a result.
 */
import { backendFor } from '../backend/index.js';
import type { TypedData } from '../dtype.js';

export const BACKEND_MIN_ELEMENTS = 4096;

/**
 * out = x (op) y on the backend's kernel when all three are float32 arrays of at least
 * BACKEND_MIN_ELEMENTS and the same length; returns false (nothing written) otherwise, for the
 * caller's own loop.
 */
export function binaryKernel(kind: 'add' | 'mul', x: TypedData, y: TypedData, out: TypedData): boolean {
  const n = out.length;
  if (n < BACKEND_MIN_ELEMENTS || !(out instanceof Float32Array && x instanceof Float32Array && y instanceof Float32Array) || x.length !== n || y.length !== n) return false;
  const be = backendFor(out);
  if (kind === 'add') be.addForward(x, y, out, n);
  else be.mulForward(x, y, out, n);
  return true;
}
