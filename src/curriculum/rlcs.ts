/**
 * Prompt curricula for RL (docs/methods.md §6): which prompts each iteration rolls out and which groups it
 * trains on.
 *
 * - `uniform`: prompts drawn uniformly (shuffled epochs); every informative group is kept.
 * - `rlcs` (GLM-4.1V): each prompt has a pass-rate estimate p, merged from an offline pass@k pre-pass
 *   (or the record's own `offline_trials`/`offline_successes`) and this run's online results: p
 *   starts at the offline rate and moves by an EMA (`emaDecay`) towards each new group's mean
 *   reward. Prompts fall into tiers by p (unsolved <= 0.05 < hard < 0.3 <= medium < 0.7 <= easy
 *   < 0.95 <= solved; never seen: 'unseen'). Every iteration a tier's weight is
 *       w_t = n_t * max(floor, mean_{i in t} (1 - p_i^G - (1 - p_i)^G)),
 *   its size times the expected share of its groups that are informative (not all-correct, not
 *   all-wrong) — the paper leaves the weighting open; this one favours the middle, never starves a
 *   tier, needs no hand-tuned shape, and does not make a tier of a few prompts repeat them every
 *   iteration (weights by the mean alone gave a 4-prompt tier 40% of all draws). Tiers are drawn by weight; inside a tier a prompt is drawn in proportion to its
 *   own informative-group probability (plus a small floor), so a tier that mixes rarely-solved and
 *   never-solved prompts spends its draws on the former.
 *   Pooled offline estimates (`poolStrength` > 0, prompts with a difficulty group such as
 *   "arithmetic:5"): a pre-pass of k samples cannot tell a prompt solved 8% of the time from one never
 *   solved (0 of 4 either way, 72% of the time), so each offline rate is shrunk towards its group's
 *   pooled rate: p = (successes + m * mu_group) / (trials + m), m = poolStrength (empirical Bayes).
 *   Oversampling: expansion = 1 / (1 - invalid_rate), invalid_rate an EMA of the share of last
 *   iteration's groups with zero reward spread (capped at `maxExpansion`); the extra groups are
 *   rolled out and the most balanced ones (|#correct - #wrong| smallest) are kept.
 * - `two_stage` (GLM-4.5): moderate prompts (0.2 <= p <= 0.8) with G samples, then, after
 *   `stageSwitch` of training, hard ones (p < 0.25 yet solved at least once) with `stage2Samples`.
 */
import { CheckpointError } from '../errors.js';
import type { Rng } from '../util/rng.js';
import { informativeGroupProb } from './pass-at-k.js';

export type CurriculumKind = 'uniform' | 'rlcs' | 'two_stage';
export const TIERS = ['unsolved', 'hard', 'medium', 'easy', 'solved', 'unseen'] as const;
export type Tier = (typeof TIERS)[number];

export interface CurriculumOptions {
  kind: CurriculumKind;
  samplesPerPrompt: number;
  emaDecay: number;
  tierFloor: number;
  maxExpansion: number;
  stageSwitch: number;
  stage2Samples: number;
  /** pseudo-trials of the group prior in pooled offline estimates (0 = raw offline rates) */
  poolStrength?: number;
}

/** A rolled-out group: the prompt index and the rewards of its samples. */
export interface Group {
  prompt: number;
  rewards: number[];
}

/** A curriculum's saved state (see Curriculum.exportState). */
export interface CurriculumState {
  stats: PromptStat[];
  invalid_rate: number;
  order: number[];
  order_pos: number;
  progress: number;
}

interface PromptStat {
  offlineTrials: number;
  offlineSuccesses: number;
  /** merged pass-rate estimate, null before any evidence */
  p: number | null;
  onlineTrials: number;
  onlineSuccesses: number;
}

/** Tier of a pass rate (null: never seen). */
export function tierOf(p: number | null): Tier {
  if (p === null) return 'unseen';
  if (p <= 0.05) return 'unsolved';
  if (p < 0.3) return 'hard';
  if (p < 0.7) return 'medium';
  if (p < 0.95) return 'easy';
  return 'solved';
}

/** A group is informative when its rewards are not all equal (std > 1e-6). */
export function rewardSpread(rewards: readonly number[]): number {
  const m = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  return Math.sqrt(rewards.reduce((a, b) => a + (b - m) ** 2, 0) / rewards.length);
}

/** The `n` most balanced informative groups (|#correct - #wrong| smallest; reward >= 0.5 is correct). */
export function mostBalanced(groups: readonly Group[], n: number): Group[] {
  const imbalance = (g: Group) => Math.abs(g.rewards.reduce((a, r) => a + (r >= 0.5 ? 1 : -1), 0));
  return groups
    .map((g, i) => ({ g, i }))
    .filter(({ g }) => rewardSpread(g.rewards) > 1e-6)
    .sort((a, b) => imbalance(a.g) - imbalance(b.g) || a.i - b.i)
    .slice(0, n)
    .map(({ g }) => g);
}

export class Curriculum {
  private readonly stats: PromptStat[];
  private invalidRate = 0;
  private order: number[] = [];
  private orderPos = 0;
  /** share of training done, in [0, 1] (two_stage switches on it) */
  progress = 0;

  /**
   * `groups[i]`: the difficulty group of prompt i (e.g. "arithmetic:5"; null = none), for pooled offline
   * estimates.
   */
  constructor(poolSize: number, readonly opts: CurriculumOptions, private readonly groups: readonly (string | null)[] = []) {
    this.stats = Array.from({ length: poolSize }, () => ({ offlineTrials: 0, offlineSuccesses: 0, p: null, onlineTrials: 0, onlineSuccesses: 0 }));
  }

  get size(): number {
    return this.stats.length;
  }

  /** Records offline evidence (a pre-pass or earlier checkpoints): `successes` of `trials`. */
  setOffline(prompt: number, trials: number, successes: number): void {
    const s = this.stats[prompt];
    s.offlineTrials = trials;
    s.offlineSuccesses = successes;
    if (trials > 0 && s.onlineTrials === 0) s.p = successes / trials;
  }

  /**
   * Shrinks every offline-only estimate towards its group's pooled offline rate (see the module
   * comment); call once all offline evidence is in. No-op when poolStrength is 0 or unset.
   */
  poolOffline(): void {
    const m = this.opts.poolStrength ?? 0;
    if (m <= 0) return;
    const pooled = new Map<string, { s: number; n: number }>();
    this.stats.forEach((st, i) => {
      const g = this.groups[i];
      if (g == null || st.offlineTrials === 0) return;
      const acc = pooled.get(g) ?? { s: 0, n: 0 };
      acc.s += st.offlineSuccesses;
      acc.n += st.offlineTrials;
      pooled.set(g, acc);
    });
    this.stats.forEach((st, i) => {
      const g = this.groups[i];
      const acc = g == null ? undefined : pooled.get(g);
      if (!acc || st.offlineTrials === 0 || st.onlineTrials > 0) return;
      st.p = (st.offlineSuccesses + (m * acc.s) / acc.n) / (st.offlineTrials + m);
    });
  }

  passRate(prompt: number): number | null {
    return this.stats[prompt].p;
  }

  /** Samples per prompt this iteration (two_stage uses more in its second stage). */
  samplesPerPrompt(): number {
    return this.opts.kind === 'two_stage' && this.progress >= this.opts.stageSwitch ? this.opts.stage2Samples : this.opts.samplesPerPrompt;
  }

  /** Oversampling factor 1 / (1 - invalid_rate) (rlcs only). */
  expansion(): number {
    if (this.opts.kind !== 'rlcs') return 1;
    return Math.min(this.opts.maxExpansion, 1 / Math.max(1e-6, 1 - this.invalidRate));
  }

  /** Current tier weights (normalised over non-empty tiers) and the members of each tier. */
  tierWeights(): { weights: Record<Tier, number>; members: Record<Tier, number[]> } {
    const G = this.samplesPerPrompt();
    const members = Object.fromEntries(TIERS.map((t) => [t, [] as number[]])) as Record<Tier, number[]>;
    this.stats.forEach((s, i) => members[tierOf(s.p)].push(i));
    const raw = {} as Record<Tier, number>;
    let total = 0;
    for (const t of TIERS) {
      const m = members[t];
      if (m.length === 0) raw[t] = 0;
      else if (t === 'unseen') raw[t] = m.length; // unknown: as informative as possible until measured
      else raw[t] = m.length * Math.max(this.opts.tierFloor, m.reduce((a, i) => a + informativeGroupProb(this.stats[i].p!, G), 0) / m.length);
      total += raw[t];
    }
    const weights = {} as Record<Tier, number>;
    for (const t of TIERS) weights[t] = total > 0 ? raw[t] / total : 0;
    return { weights, members };
  }

  /** Prompt indices to roll out for an iteration that trains on `nPrompts` groups. */
  draw(nPrompts: number, rng: Rng): number[] {
    const n = Math.min(this.size, Math.ceil(nPrompts * this.expansion()));
    switch (this.opts.kind) {
      case 'uniform':
        return this.drawUniform(n, rng, null);
      case 'two_stage':
        return this.drawUniform(n, rng, this.stagePool());
      case 'rlcs':
        return this.drawByTier(n, rng);
    }
  }

  /** Which rolled-out groups to train on (dynamic sampling drops zero-spread groups when asked). */
  select(groups: readonly Group[], nPrompts: number, dynamicSampling: boolean): Group[] {
    if (this.opts.kind === 'rlcs') return mostBalanced(groups, nPrompts);
    const kept = dynamicSampling ? groups.filter((g) => rewardSpread(g.rewards) > 1e-6) : groups.slice();
    return kept.slice(0, nPrompts);
  }

  /** Updates pass rates and the invalid-rate EMA from an iteration's groups. */
  observe(groups: readonly Group[]): void {
    if (groups.length === 0) return;
    const d = this.opts.emaDecay;
    let invalid = 0;
    for (const g of groups) {
      const s = this.stats[g.prompt];
      const mean = g.rewards.reduce((a, b) => a + b, 0) / g.rewards.length;
      s.p = s.p === null ? mean : d * s.p + (1 - d) * mean;
      s.onlineTrials += g.rewards.length;
      s.onlineSuccesses += g.rewards.filter((r) => r >= 0.5).length;
      if (rewardSpread(g.rewards) <= 1e-6) invalid++;
    }
    this.invalidRate = d * this.invalidRate + (1 - d) * (invalid / groups.length);
  }

  /** Everything that decides later draws: per-prompt estimates, the invalid-rate EMA, the uniform order. */
  exportState(): CurriculumState {
    return { stats: this.stats.map((s) => ({ ...s })), invalid_rate: this.invalidRate, order: this.order.slice(), order_pos: this.orderPos, progress: this.progress };
  }

  /** Restores `exportState()`; the prompt pool must have the same size. */
  importState(st: CurriculumState): void {
    if (!Array.isArray(st.stats) || st.stats.length !== this.stats.length) {
      throw new CheckpointError(`curriculum state: expected estimates of ${this.stats.length} prompts, found ${Array.isArray(st.stats) ? st.stats.length : 'none'}; resume with the same --data`);
    }
    st.stats.forEach((s, i) => Object.assign(this.stats[i], s));
    this.invalidRate = st.invalid_rate;
    this.order = st.order.slice();
    this.orderPos = st.order_pos;
    this.progress = st.progress;
  }

  /** Tier sizes, weights and mean pass rates, for metrics and summaries. */
  summary(): { tiers: Record<string, { prompts: number; weight: number; mean_pass_rate: number | null }>; invalid_rate: number; expansion: number } {
    const { weights, members } = this.tierWeights();
    const tiers: Record<string, { prompts: number; weight: number; mean_pass_rate: number | null }> = {};
    for (const t of TIERS) {
      const m = members[t];
      if (m.length === 0) continue;
      const ps = m.map((i) => this.stats[i].p).filter((p): p is number => p !== null);
      tiers[t] = { prompts: m.length, weight: weights[t], mean_pass_rate: ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : null };
    }
    return { tiers, invalid_rate: this.invalidRate, expansion: this.expansion() };
  }

  private stagePool(): number[] {
    const second = this.progress >= this.opts.stageSwitch;
    const pool: number[] = [];
    this.stats.forEach((s, i) => {
      const p = s.p ?? 0.5;
      const solvedOnce = s.offlineSuccesses + s.onlineSuccesses > 0;
      if (second ? p < 0.25 && solvedOnce : p >= 0.2 && p <= 0.8) pool.push(i);
    });
    return pool;
  }

  private drawUniform(n: number, rng: Rng, pool: number[] | null): number[] {
    if (pool !== null) {
      const src = pool.length > 0 ? pool : this.stats.map((_, i) => i);
      const copy = src.slice();
      const out: number[] = [];
      for (let k = 0; k < n && copy.length > 0; k++) out.push(copy.splice(rng.int(copy.length), 1)[0]);
      return out;
    }
    const out: number[] = [];
    while (out.length < n) {
      if (this.orderPos >= this.order.length) {
        this.order = this.stats.map((_, i) => i);
        for (let i = this.order.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
        }
        this.orderPos = 0;
      }
      const next = this.order[this.orderPos++];
      if (!out.includes(next)) out.push(next);
    }
    return out;
  }

  private drawByTier(n: number, rng: Rng): number[] {
    const { weights, members } = this.tierWeights();
    const left = Object.fromEntries(TIERS.map((t) => [t, members[t].slice()])) as Record<Tier, number[]>;
    const out: number[] = [];
    while (out.length < n) {
      const avail = TIERS.filter((t) => left[t].length > 0);
      if (avail.length === 0) break;
      const total = avail.reduce((a, t) => a + weights[t], 0);
      let t = avail[avail.length - 1];
      if (total > 0) {
        let u = rng.random() * total;
        for (const cand of avail) if ((u -= weights[cand]) < 0) { t = cand; break; }
      } else t = avail[rng.int(avail.length)];
      out.push(left[t].splice(this.pickInTier(left[t], rng), 1)[0]);
    }
    return out;
  }

  /** Index into `members` drawn in proportion to each prompt's informative-group probability (+ floor). */
  private pickInTier(members: readonly number[], rng: Rng): number {
    const G = this.samplesPerPrompt();
    const w = members.map((i) => {
      const p = this.stats[i].p;
      return (p === null ? 1 : informativeGroupProb(p, G)) + 0.01;
    });
    let u = rng.random() * w.reduce((a, b) => a + b, 0);
    for (let k = 0; k < w.length; k++) if ((u -= w[k]) < 0) return k;
    return w.length - 1;
  }
}
