/** Reference AdamW, one element at a time in JavaScript numbers. */
import { ConfigError, ShapeError } from '../../../errors.js';
import type { AdamWArgs } from '../backend.js';

/**
 * One AdamW step (PyTorch's torch.optim.AdamW), in place on param, m and v:
 *   p = p - lr * wd * p
 *   m = b1 * m + (1 - b1) * g;   v = b2 * v + (1 - b2) * g^2
 *   p = p - lr * mhat / (sqrt(vhat) + eps),  mhat = m / (1 - b1^t), vhat = v / (1 - b2^t)
 */
export function adamw(args: AdamWArgs): void {
  const { param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step } = args;
  const n = param.length;
  if (grad.length < n || m.length < n || v.length < n) {
    throw new ShapeError(`adamw: grad, m and v need at least param.length = ${n} elements, got ${grad.length}, ${m.length}, ${v.length}`);
  }
  if (!Number.isInteger(step) || step < 1) {
    throw new ConfigError(`adamw: step must be an integer >= 1 (it is 1-based), got ${step}`);
  }
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    const p = param[i] - lr * weightDecay * param[i];
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = p - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
  }
}
