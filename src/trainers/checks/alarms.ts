/**
 * Silent-failure alarms of RL runs. Each alarm is a metrics.jsonl field (alarm/*) computed from what
 * the trainer has at hand every step, and a rule saying when its value means trouble. A rule that
 * fires for `patience` consecutive logged steps prints one warning line naming the likely cause
 * (once, until it clears); with --strict-checks the run stops instead, keeping the last checkpoint
 * written before the alarm began.
 */
import { TrainingError } from '../../errors.js';

export type StepMetrics = Record<string, number | string>;

export interface AlarmRule {
  /** the metrics field the rule reads (alarm/...) */
  field: string;
  fires: (value: number, m: StepMetrics) => boolean;
  /** one line: what is wrong and the likely cause */
  message: (value: number, m: StepMetrics) => string;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const num = (m: StepMetrics, k: string) => (typeof m[k] === 'number' ? (m[k] as number) : NaN);

/** The alarms every RL trainer reports (fields absent from a method's metrics are not checked). */
export const RL_ALARMS: readonly AlarmRule[] = [
  {
    field: 'alarm/zero_var_groups',
    fires: (v) => v >= 0.9,
    message: (v) => `${pct(v)} of groups have zero reward variance, so they give no gradient: prompts too easy or too hard for the policy; see the curriculum (--curriculum rlcs, --dynamic-sampling) and the reward`,
  },
  {
    field: 'alarm/clip_share',
    fires: (v) => v > 0.3,
    message: (v, m) => `the importance ratio is clipped on ${pct(v)} of tokens (low ${pct(num(m, 'alarm/clip_low'))}, high ${pct(num(m, 'alarm/clip_high'))}): updates are too large; lower the learning rate or reuse rollouts less (num_iterations, num_ppo_epochs)`,
  },
  {
    field: 'alarm/truncated',
    fires: (v) => v >= 0.5,
    message: (v, m) => `${pct(v)} of completions hit the length limit without EOS (their mean reward ${num(m, 'alarm/truncated_reward').toFixed(3)}): they are scored as unfinished; raise the completion length or check the stop tokens`,
  },
  {
    field: 'alarm/entropy',
    fires: (v) => v < 0.05,
    message: (v) => `the policy's entropy fell to ${v.toFixed(4)} nats: it has collapsed to near-deterministic outputs and stops exploring; lower the learning rate or raise the temperature`,
  },
  {
    field: 'alarm/grad_norm_bad',
    fires: (v) => v > 0,
    message: (_v, m) => `the gradient norm is ${m.grad_norm}: ${num(m, 'grad_norm') === 0 ? 'no learning signal (every advantage is 0: zero-variance groups or a constant reward)' : 'a numerical blow-up; lower the learning rate'}`,
  },
  {
    field: 'alarm/length_drift',
    fires: (v) => v > 3 || v < 1 / 3,
    message: (v) => `the mean response length is ${v.toFixed(2)}x that of the first step: length hacking (growing) or collapse (shrinking); check the reward for a length bias`,
  },
  {
    field: 'alarm/kl_spike',
    fires: (v) => v > 10,
    message: (v) => `the KL to the reference is ${v.toFixed(1)}x its running mean: an unstable update; lower the learning rate or raise the KL coefficient`,
  },
  {
    field: 'alarm/rm_gold_corr',
    fires: (v) => v < 0,
    message: (v) => `reward-model scores and the gold reward disagree (correlation ${v.toFixed(2)}): the policy is exploiting the reward model (reward hacking); stop here or raise the KL coefficient`,
  },
];

/** Pearson correlation of two equally long lists (NaN when either is constant or shorter than 2). */
export function correlation(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  if (n < 2 || b.length !== n) return NaN;
  const ma = a.reduce((s, x) => s + x, 0) / n, mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/**
 * Follows the alarms over the steps of a run. `observe` adds the derived fields (alarm/grad_norm_bad,
 * alarm/length_drift, alarm/kl_spike, alarm/active) to a step's metrics, counts consecutive firings,
 * and warns once per onset after `patience` steps (or throws with `strict`).
 */
export class AlarmTracker {
  private readonly streak = new Map<string, number>();
  private readonly onset = new Map<string, number>();
  private firstLength = NaN;
  private klSum = 0;
  private klCount = 0;
  constructor(
    readonly method: string,
    readonly patience: number,
    readonly strict: boolean,
    private readonly warn: (line: string) => void,
    /** the last checkpoint written at or before a step (for the strict stop message) */
    private readonly checkpointBefore: (step: number) => string | null = () => null,
    readonly rules: readonly AlarmRule[] = RL_ALARMS,
  ) {}

  /** The running state (saved in checkpoints so a resumed run alarms as one that never stopped). */
  exportState(): Record<string, unknown> {
    return { streak: [...this.streak], onset: [...this.onset], first_length: Number.isFinite(this.firstLength) ? this.firstLength : null, kl_sum: this.klSum, kl_count: this.klCount };
  }

  importState(s: Record<string, unknown> | undefined): void {
    if (!s) return;
    for (const [k, v] of s.streak as [string, number][]) this.streak.set(k, v);
    for (const [k, v] of s.onset as [string, number][]) this.onset.set(k, v);
    this.firstLength = (s.first_length as number | null) ?? NaN;
    this.klSum = s.kl_sum as number;
    this.klCount = s.kl_count as number;
  }

  /** Adds the derived alarm fields to `m` (a step's metrics, `step` and `grad_norm` included) and applies the rules. */
  observe(m: StepMetrics): void {
    const step = Number(m.step);
    if ('grad_norm' in m) {
      const g = Number(m.grad_norm);
      m['alarm/grad_norm_bad'] = g === 0 || !Number.isFinite(g) ? 1 : 0;
    }
    const len = num(m, 'alarm/mean_length');
    if (Number.isFinite(len)) {
      if (!Number.isFinite(this.firstLength) && len > 0) this.firstLength = len;
      if (this.firstLength > 0) m['alarm/length_drift'] = len / this.firstLength;
    }
    const kl = num(m, 'alarm/kl');
    if (Number.isFinite(kl)) {
      const mean = this.klCount > 0 ? this.klSum / this.klCount : NaN;
      if (mean > 1e-4) m['alarm/kl_spike'] = kl / mean;
      this.klSum += kl;
      this.klCount++;
    }
    let active = 0;
    for (const rule of this.rules) {
      const v = num(m, rule.field);
      const on = Number.isFinite(v) && rule.fires(v, m);
      if (!on) {
        this.streak.delete(rule.field);
        this.onset.delete(rule.field);
        continue;
      }
      active++;
      const n = (this.streak.get(rule.field) ?? 0) + 1;
      this.streak.set(rule.field, n);
      if (n === 1) this.onset.set(rule.field, step);
      if (n !== this.patience) continue;
      const line = `${this.method}: alarm ${rule.field.slice('alarm/'.length)} for ${n} steps (step ${step}): ${rule.message(v, m)}`;
      if (this.strict) {
        const since = this.onset.get(rule.field) ?? step;
        const ck = this.checkpointBefore(since - 1);
        throw new TrainingError(`${line}. Stopped by --strict-checks without writing a model; ${ck ? `the last good checkpoint (before the alarm began at step ${since}) is ${ck}` : 'no checkpoint was written before the alarm began'}`);
      }
      this.warn(line);
    }
    m['alarm/active'] = active;
  }
}
