/**
 * Test helpers for the engine: closeness assertions and finite-difference gradient checks (in
 * float64 on the reference backend). Used by the test suites; not part of the public API.
 */
import { Rng } from '../util/rng.js';
import { noGrad } from './autograd.js';
import type { TypedData } from './dtype.js';
import { Tensor } from './tensor.js';

export interface Tolerance {
  atol?: number;
  rtol?: number;
}

/** Largest violation of |a - b| <= atol + rtol * |b|, with where it happened; null when close. */
export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>, tol: Tolerance = {}): string | null {
  const atol = tol.atol ?? 1e-5, rtol = tol.rtol ?? 1e-4;
  if (a.length !== b.length) return `lengths differ: ${a.length} vs ${b.length}`;
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (Number.isNaN(x) !== Number.isNaN(y)) return `NaN mismatch at ${i}: ${x} vs ${y}`;
    if (x === y) continue; // covers equal infinities
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  return worst < 0 ? null : `at ${worst}: ${a[worst]} vs ${b[worst]} (|diff| ${Math.abs(a[worst] - b[worst]).toExponential(3)} exceeds atol ${atol} + rtol ${rtol})`;
}

export function assertClose(a: ArrayLike<number> | Tensor, b: ArrayLike<number> | Tensor, tol: Tolerance = {}, label = ''): void {
  const x = a instanceof Tensor ? a.data : a, y = b instanceof Tensor ? b.data : b;
  const m = firstMismatch(x, y, tol);
  if (m) throw new Error(`${label ? label + ': ' : ''}not close ${m}`);
}

export function randomTensor(shape: number[], rng: Rng, dtype: 'f32' | 'f64' = 'f32', std = 1): Tensor {
  return Tensor.randn(shape, rng, std, dtype);
}

/**
 * Checks the gradients of `fn` against central finite differences. The inputs must be f64 leaf
 * tensors (made to require grad here); `fn` returns any tensor, reduced to a scalar with fixed
 * random weights so every output element matters.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: Tolerance & { eps?: number; seed?: number; only?: number[] } = {}): void {
  const eps = opts.eps ?? 1e-6;
  const tol = { atol: opts.atol ?? 1e-6, rtol: opts.rtol ?? 1e-5 };
  const rng = new Rng(opts.seed ?? 1234);
  for (const x of inputs) {
    if (x.dtype !== 'f64') throw new Error('gradcheck: inputs must be float64');
    x.requireGrad(true);
    x.grad = null;
  }
  const probe = fn(...inputs);
  const weights = Tensor.randn(probe.shape, rng, 1, 'f64');
  const scalar = (): number => {
    const y = noGrad(() => fn(...inputs));
    let s = 0;
    for (let i = 0; i < y.size; i++) s += y.data[i] * weights.data[i];
    return s;
  };
  probe.backward(weights);
  const which = opts.only ?? inputs.map((_, i) => i);
  for (const xi of which) {
    const x = inputs[xi];
    const data = x.data as TypedData;
    const numeric = new Float64Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const orig = data[i];
      data[i] = orig + eps;
      const up = scalar();
      data[i] = orig - eps;
      const down = scalar();
      data[i] = orig;
      numeric[i] = (up - down) / (2 * eps);
    }
    const analytic = x.grad ? x.grad.data : new Float64Array(x.size);
    const m = firstMismatch(analytic, numeric, tol);
    if (m) throw new Error(`gradcheck: input ${xi} (shape [${x.shape.join(', ')}]) analytic vs numeric gradient ${m}`);
  }
}
