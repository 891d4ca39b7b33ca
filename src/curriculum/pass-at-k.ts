/** pass@k from n samples with c correct (the unbiased estimator of Chen et al. 2021). */

/** P(at least one of k draws without replacement from n samples, c correct, is correct). */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || n < 1 || c < 0 || c > n || k < 1) {
    throw new RangeError(`passAtK: expected integers n >= 1, 0 <= c <= n, k >= 1; got n=${n} c=${c} k=${k}`);
  }
  if (k > n) throw new RangeError(`passAtK: k=${k} needs at least k samples, got n=${n}`);
  if (n - c < k) return 1;
  // 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k / i)
  let q = 1;
  for (let i = n - c + 1; i <= n; i++) q *= 1 - k / i;
  return 1 - q;
}

/** Probability that a group of G samples with per-sample success p has both a success and a failure. */
export function informativeGroupProb(p: number, G: number): number {
  return 1 - p ** G - (1 - p) ** G;
}
