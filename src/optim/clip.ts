/**
 * Gradient clipping by global norm (like torch.nn.utils.clip_grad_norm_ with the L2 norm).
 */
import { ConfigError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/** Global L2 norm sqrt(sum over params of sum(g^2)), accumulated in f64; parameters without a gradient count as 0. */
export function gradNorm(params: Iterable<Tensor>): number {
  let ss = 0;
  for (const p of params) {
    if (!p.grad) continue;
    const g = p.grad.data;
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i] * g[i];
    ss += s;
  }
  return Math.sqrt(ss);
}

/**
 * Clips the gradients of `params` in place so that their global L2 norm is at most `maxNorm`, and
 * returns the norm before clipping (log it as `grad_norm`).
 *
 * When the norm exceeds maxNorm every gradient is multiplied by maxNorm / (norm + 1e-6) (PyTorch's
 * coefficient); otherwise nothing changes. When the norm is NaN or Infinity the gradients are left
 * as they are and the non-finite norm is returned: scaling would turn every gradient into NaN or 0,
 * so the caller decides (e.g. skip the update and count it). maxNorm = 0 or Infinity only measures
 * (no clipping), matching the trainer's `max_grad_norm: 0 = off`.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  if (!(maxNorm >= 0)) throw new ConfigError(`clipGradNorm: maxNorm must be >= 0 (0 or Infinity: measure only), got ${maxNorm}`);
  const list = [...params];
  const norm = gradNorm(list);
  if (maxNorm === 0 || !Number.isFinite(norm) || norm <= maxNorm) return norm;
  const coef = maxNorm / (norm + 1e-6);
  for (const p of list) {
    if (!p.grad) continue;
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) g[i] *= coef;
  }
  return norm;
}
