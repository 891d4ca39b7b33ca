/**
 * What an RL trainer keeps of its checks during a step, and how the step's metrics get them: the
 * sampler-vs-trainer log-prob deviation and the MoE routing agreement measured on the forward passes
 * of the step (merged over micro-batches, not averaged), invariant violations, then the alarms
 * (alarms.ts). Also the rollout dumps (--dump-rollouts) read by `glmkit inspect`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainingError } from '../../errors.js';
import { listCheckpoints } from '../base/checkpoint.js';
import { AlarmTracker, type StepMetrics } from './alarms.js';
import type { RlCheckConfig } from './check-config.js';
import { assertLogprobsAgree, deviationMetrics, mergeDeviation, type LogprobDeviation } from './logprob-check.js';
import type { RoutingAgreement } from './routing-check.js';

export class RlChecks {
  readonly alarms: AlarmTracker;
  private dev: LogprobDeviation | null = null;
  private routing: RoutingAgreement = { compared: 0, mismatched: 0 };
  private fields: Record<string, number> = {};
  /** warning lines already printed (each invariant warns once per run) */
  private readonly warned = new Set<string>();

  constructor(readonly cfg: RlCheckConfig, readonly method: string) {
    this.alarms = new AlarmTracker(method, cfg.alarm_patience, cfg.strict_checks, (l) => this.print(l), (step) => listCheckpoints(cfg.out).filter((c) => c.step <= step).at(-1)?.dir ?? null);
  }

  private print(line: string): void {
    if (!this.cfg.quiet) process.stderr.write(line + '\n');
  }

  /**
   * Log-probs of one micro-batch compared before any update on its rollouts. At the run's first step
   * with --strict-checks a deviation over the tolerance stops the run before anything is trained;
   * otherwise it warns once.
   */
  logprobs(d: LogprobDeviation, firstStep: boolean, describe: (row: number) => string): void {
    this.dev = mergeDeviation(this.dev, d);
    if (d.max <= this.cfg.logprob_tolerance) return;
    if (firstStep && this.cfg.strict_checks) assertLogprobsAgree(d, this.cfg.logprob_tolerance, this.method, describe);
    this.warnOnce('logprob', `${this.method}: warning: trainer and sampler log-probs of sampled tokens differ by up to ${d.max.toPrecision(3)} (tolerance ${this.cfg.logprob_tolerance}; check/logprob_max_dev in metrics.jsonl): the importance ratio is not 1 before the update`);
  }

  routingAgreement(a: RoutingAgreement): void {
    this.routing = { compared: this.routing.compared + a.compared, mismatched: this.routing.mismatched + a.mismatched };
  }

  /** Step-level fields taken as they are (counts of violations, alarm inputs). */
  set(fields: Record<string, number>): void {
    Object.assign(this.fields, fields);
  }

  /** An invariant violation: with --strict-checks `error()` is thrown; otherwise one warning per kind per run. */
  violation(kind: string, message: string, error: () => Error = () => new TrainingError(message)): void {
    if (this.cfg.strict_checks) throw error();
    this.warnOnce(kind, `${this.method}: warning: ${message}`);
  }

  private warnOnce(kind: string, line: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.print(line);
  }

  /** Adds the step's check fields to its metrics and runs the alarms (may throw with --strict-checks). */
  afterStep(m: StepMetrics): void {
    if (this.dev) Object.assign(m, deviationMetrics(this.dev));
    if (this.routing.compared > 0) m['check/moe_routing_mismatch'] = this.routing.mismatched / this.routing.compared;
    Object.assign(m, this.fields);
    this.dev = null;
    this.routing = { compared: 0, mismatched: 0 };
    this.fields = {};
    this.alarms.observe(m);
  }
}

/** One sample of a rollout dump (OUT/rollouts/step-<k>.jsonl), per-token values as parallel arrays. */
export interface DumpRecord {
  step: number;
  /** index of the sample in the step */
  sample: number;
  /** prompt index in the training data, and the group of samples of one prompt in this step */
  prompt_index: number;
  group: number;
  /** false for samples of groups the step dropped (no trainer values) */
  kept: boolean;
  prompt: string;
  completion: string;
  finish: string;
  reward: number;
  /** the reward's parts (verifier result, reward-model score, baseline, penalties, gold) */
  reward_parts: Record<string, number | string | boolean | null>;
  token_ids: number[];
  /** decoded text of each token */
  pieces: string[];
  /** 1 where the token was sampled by the policy (trained), 0 for tool output and forced tokens */
  mask: number[];
  sampler_logprob: (number | null)[];
  trainer_logprob: (number | null)[];
  ref_logprob: (number | null)[] | null;
  entropy: (number | null)[];
  advantage: (number | null)[];
  /** PPO: the value head's estimate at each token */
  value?: (number | null)[];
}

/** Writes rollout dumps every `every` logged steps (step 1 and multiples of `every`). */
export class RolloutDump {
  private records: DumpRecord[] = [];
  constructor(readonly out: string, readonly every: number) {}

  /** Whether logged step `step` (1-based) is dumped. */
  due(step: number): boolean {
    return this.every > 0 && (step === 1 || step % this.every === 0);
  }

  add(r: DumpRecord): void {
    this.records.push(r);
  }

  /** Writes the records gathered for `step` (when there are any) and returns the file. */
  flush(step: number): string | null {
    if (this.records.length === 0) return null;
    const dir = join(this.out, 'rollouts');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `step-${step}.jsonl`);
    writeFileSync(file, this.records.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) + '\n').join(''));
    this.records = [];
    return file;
  }
}

/** Rounds for dumps (6 significant digits keep files small; null for a missing value). */
export function round6(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toPrecision(6));
}
