/**
 * The statistics behind `glmkit experiment` verdicts:
 * - paired bootstrap over prompts: arms scored on the same prompts, resample prompts with replacement
 *   (fixed seed), percentile interval of the mean per-prompt difference;
 * - across seeds: mean and Student-t interval;
 * - the verdict, decided by the interval only (never by a point estimate).
 */
import { ConfigError } from '../errors.js';
import { Rng } from '../util/rng.js';

export interface Interval {
  /** the point estimate (mean difference, or mean across seeds) */
  estimate: number;
  /** 95% (or `level`) interval [lo, hi] */
  ci: [number, number];
  /** number of paired prompts, or of seeds */
  n: number;
}

export interface BootstrapOptions {
  /** resamples; at least 2,000 for reported figures */
  resamples?: number;
  seed?: number;
  /** coverage of the interval (default 0.95) */
  level?: number;
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n - 1 in the denominator). */
export function sampleStd(xs: readonly number[]): number {
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

function checkScores(what: string, xs: readonly number[]): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new ConfigError(`${what}: expected finite scores, found ${xs[i]} at index ${i}`);
  }
}

/**
 * Paired bootstrap of mean(a_i - b_i): a and b are per-prompt scores of two arms on the same prompts,
 * in the same order. Percentile interval over `resamples` resamples of the prompts.
 */
export function pairedBootstrap(a: readonly number[], b: readonly number[], opts: BootstrapOptions = {}): Interval {
  if (a.length !== b.length) throw new ConfigError(`paired bootstrap: the two arms must be scored on the same prompts, got ${a.length} and ${b.length} scores`);
  if (a.length < 2) throw new ConfigError(`paired bootstrap: needs at least 2 paired prompts, got ${a.length}`);
  checkScores('paired bootstrap (arm a)', a);
  checkScores('paired bootstrap (arm b)', b);
  const d = a.map((x, i) => x - b[i]);
  return bootstrapMean(d, opts);
}

/** Percentile bootstrap interval of the mean of `xs`. */
export function bootstrapMean(xs: readonly number[], opts: BootstrapOptions = {}): Interval {
  const resamples = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new ConfigError(`bootstrap: level must be in (0, 1), got ${level}`);
  if (!Number.isInteger(resamples) || resamples < 100) throw new ConfigError(`bootstrap: expected at least 100 resamples, got ${resamples}`);
  checkScores('bootstrap', xs);
  const n = xs.length;
  const rng = new Rng(opts.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[rng.int(n)];
    means[r] = s / n;
  }
  means.sort();
  const alpha = (1 - level) / 2;
  return { estimate: mean(xs), ci: [quantileSorted(means, alpha), quantileSorted(means, 1 - alpha)], n };
}

/** Linear-interpolation quantile of sorted values (type 7, as numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h), hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Mean across seeds with a Student-t interval (n >= 2). */
export function tInterval(xs: readonly number[], level = 0.95): Interval {
  if (xs.length < 2) throw new ConfigError(`t-interval: needs at least 2 seeds, got ${xs.length}`);
  checkScores('t-interval', xs);
  const m = mean(xs);
  const half = studentTQuantile(1 - (1 - level) / 2, xs.length - 1) * sampleStd(xs) / Math.sqrt(xs.length);
  return { estimate: m, ci: [m - half, m + half], n: xs.length };
}

export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive';

/**
 * The claim is "a - b is on `side` of `margin`". Reproduced: the whole interval is on the claimed
 * side; not reproduced: the whole interval is on the other side; otherwise inconclusive.
 */
export function verdictOf(ci: readonly [number, number], side: 'greater' | 'less', margin = 0): Verdict {
  const [lo, hi] = ci;
  if (side === 'greater') return lo > margin ? 'reproduced' : hi < margin ? 'not reproduced' : 'inconclusive';
  return hi < margin ? 'reproduced' : lo > margin ? 'not reproduced' : 'inconclusive';
}

/** Combines several claims' verdicts: all reproduced -> reproduced; any not reproduced -> not reproduced. */
export function combineVerdicts(vs: readonly Verdict[]): Verdict {
  if (vs.length > 0 && vs.every((v) => v === 'reproduced')) return 'reproduced';
  if (vs.some((v) => v === 'not reproduced')) return 'not reproduced';
  return 'inconclusive';
}

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on the CDF). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new ConfigError(`t quantile: expected 0 < p < 1 and df > 0, got p=${p}, df=${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0, hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** CDF of Student's t: 1 - I_{df/(df+t^2)}(df/2, 1/2) / 2 for t >= 0. */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * regularizedIncompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** I_x(a, b) by the continued fraction (modified Lentz), with the symmetry for fast convergence. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x > (a + 1) / (a + b + 2)) return 1 - Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a) / b;
  return Math.exp(lnFront) * betaContinuedFraction(x, a, b) / a;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - (a + b) * x / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let f = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d; if (Math.abs(d) < tiny) d = tiny; d = 1 / d;
    c = 1 + num / c; if (Math.abs(c) < tiny) c = tiny;
    f *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d; if (Math.abs(d) < tiny) d = tiny; d = 1 / d;
    c = 1 + num / c; if (Math.abs(c) < tiny) c = tiny;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return f;
}

/** ln Gamma(z) for z > 0 (Lanczos, g = 7, n = 9). */
export function logGamma(z: number): number {
  const g = 7;
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  z -= 1;
  let x = c[0];
  for (let i = 1; i < g + 2; i++) x += c[i] / (z + i);
  const t = z + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}
