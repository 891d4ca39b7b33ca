/** The settings of the RL checks, alarms and rollout dumps (shared by `glmkit grpo` and `glmkit ppo`). */
import { field } from '../base/config.js';

export const rlCheckSchema = {
  strict_checks: field('boolean', false, 'stop the run when an invariant fails (step-0 log-probs, chat-template boundary, padding) or an alarm persists for --alarm-patience steps, keeping the last good checkpoint'),
  logprob_tolerance: field('number', 1e-3, 'largest allowed |trainer - sampler| log-prob of a sampled token before the first update (the step-0 invariant)', { min: 0 }),
  alarm_patience: field('int', 3, 'K: logged steps an alarm must persist before it prints a warning (or, with --strict-checks, stops the run)', { min: 1 }),
  dump_rollouts: field('int', 0, "write every Nth step's rollouts with per-token log-probs, entropy and advantages to OUT/rollouts/step-<k>.jsonl (0 = none; see glmkit inspect)", { min: 0 }),
};

export interface RlCheckConfig {
  strict_checks: boolean;
  logprob_tolerance: number;
  alarm_patience: number;
  dump_rollouts: number;
  out: string;
  quiet: boolean;
}
