/**
 * Off-policy correction for rollouts generated ahead of their step (`--rollout-ahead`, docs/scaling.md):
 * a sample drawn from the behaviour policy mu (the weights the server held when it was launched) is
 * trained by the policy pi_old of the step that consumes it. Each token's clipped surrogate is
 * multiplied by the truncated importance weight
 *
 *     w_t = min(pi_old(y_t) / mu(y_t), C)   = min(exp(logp_old - logp_mu), C)
 *
 * (no gradient through w; C = --rollout-is-cap). The PPO clip still works on rho = pi_theta / pi_old,
 * so the trust region is around the current policy, not the stale one.
 */

/**
 * Scales the surrogate's per-token coefficient and constant (clipCoefficients) by w_t where `mask` is
 * set; returns the mean weight and the share of tokens whose weight hit the cap.
 */
export function applyBehaviourWeights(coef: Float32Array, constant: Float32Array, oldLogp: ArrayLike<number>, behaviourLogp: ArrayLike<number>, mask: ArrayLike<number>, cap: number): { mean: number; capped: number } {
  let n = 0, sum = 0, capped = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const w = truncatedWeight(oldLogp[i], behaviourLogp[i], cap);
    if (w === cap) capped++;
    coef[i] *= w;
    constant[i] *= w;
    sum += w;
    n++;
  }
  return { mean: n ? sum / n : 1, capped: n ? capped / n : 0 };
}

/** min(exp(logpOld - logpBehaviour), cap); a non-finite log-prob gives the cap (never NaN). */
export function truncatedWeight(logpOld: number, logpBehaviour: number, cap: number): number {
  const w = Math.exp(logpOld - logpBehaviour);
  return Number.isFinite(w) ? Math.min(w, cap) : cap;
}

/**
 * The sampler's log-prob of each completion token on the [B, T] grid of the loss: completion token t
 * of row b sits at position (prompt length + t - 1), where its prediction is made.
 */
export function behaviourGrid(rows: readonly { r: { promptIds: readonly number[]; logprobs: readonly number[] } }[], B: number, T: number): Float32Array {
  const g = new Float32Array(B * T);
  rows.forEach((s, b) => s.r.logprobs.forEach((lp, t) => (g[b * T + s.r.promptIds.length - 1 + t] = lp)));
  return g;
}
