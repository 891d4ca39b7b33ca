/**
 * Dynamic sampling temperature (GLM-4.5): when the training reward plateaus, score held-out prompts
 * at several temperatures and move to the highest temperature whose score is within `tolerance`
 * (relative, 1% by default) of the best — more exploration at no cost in quality.
 */

export interface DynamicTemperatureState {
  temperature: number;
  best: number | null;
  since_best: number;
  ema: number | null;
}

export class DynamicTemperature {
  private best = -Infinity;
  private sinceBest = 0;
  private ema: number | null = null;

  constructor(
    public temperature: number,
    readonly opts: { candidates: number[]; patience: number; tolerance?: number; emaDecay?: number },
  ) {}

  /** Feeds a step's mean reward; true when the smoothed reward has not improved for `patience` steps. */
  observe(meanReward: number): boolean {
    const d = this.opts.emaDecay ?? 0.8;
    this.ema = this.ema === null ? meanReward : d * this.ema + (1 - d) * meanReward;
    if (this.ema > this.best + 1e-3) {
      this.best = this.ema;
      this.sinceBest = 0;
      return false;
    }
    this.sinceBest++;
    if (this.sinceBest < this.opts.patience) return false;
    this.sinceBest = 0;
    this.best = -Infinity; // re-arm after a change
    return true;
  }

  /** The plateau detector's state and the current temperature (best is null while re-armed). */
  exportState(): DynamicTemperatureState {
    return { temperature: this.temperature, best: Number.isFinite(this.best) ? this.best : null, since_best: this.sinceBest, ema: this.ema };
  }

  importState(s: DynamicTemperatureState): void {
    this.temperature = s.temperature;
    this.best = s.best ?? -Infinity;
    this.sinceBest = s.since_best;
    this.ema = s.ema;
  }

  /** Moves to the highest candidate temperature scoring within tolerance of the best; returns it. */
  choose(scores: ReadonlyMap<number, number>): number {
    if (scores.size === 0) return this.temperature;
    const top = Math.max(...scores.values());
    const tol = this.opts.tolerance ?? 0.01;
    let pick = -Infinity;
    for (const [t, s] of scores) if (s >= top - tol * Math.abs(top) && t > pick) pick = t;
    this.temperature = pick;
    return pick;
  }
}
