/**
 * Domain experts of expert iteration, each trained from the same base with the trainer its domain
 * has in the rest of glmkit: GRPO with the RLCS curriculum on verifiable arithmetic (reasoning), GRPO
 * with multi-turn python-tool rollouts (tool), EXO on reward-model-scored samples (chat). Each lands
 * in OUT/final like any trainer's output, so any HF folder can stand in for one (`--expert d=DIR`).
 */
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { loadCausalLM, loadModel } from '../../models/glm/checkpoint.js';
import { GlmForSequenceClassification } from '../../models/glm/model.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../base/config.js';
import { ExoTrainer, exoSchema, sampleCandidates } from '../exo/exo-trainer.js';
import { grpoSchema } from '../grpo/grpo-config.js';
import { GrpoTrainer } from '../grpo/grpo-trainer.js';
import type { RlPrompt } from '../grpo/grpo-data.js';
import type { Domain } from './domains.js';

export interface ExpertBudget {
  /** optimizer steps of the expert's trainer */
  steps: number;
  /** generated tokens per rollout / candidate */
  maxNewTokens: number;
  seed: number;
  quiet: boolean;
}

export function loadRewardModelDir(dir: string): GlmForSequenceClassification {
  const m = loadModel(dir);
  if (!(m instanceof GlmForSequenceClassification)) throw new ConfigError(`${dir}: holds a causal LM; expected a reward model (glmkit reward output)`);
  return m;
}

/** Trains the expert of `domain` from `base` on `prompts`; returns its folder (OUT/final). */
export async function trainExpert(domain: Domain, base: string, out: string, prompts: RlPrompt[], budget: ExpertBudget, rewardModel: string | null): Promise<string> {
  const tok = loadTokenizer(base);
  if (domain === 'chat') {
    if (!rewardModel) throw new ConfigError('distill: the chat expert is trained against a reward model; give --reward-model DIR (or --expert chat=DIR)');
    const cfg = resolveConfig(exoSchema, {
      object: { model: base, data: 'distill', reward_model: rewardModel, out, max_steps: budget.steps, per_device_train_batch_size: 4, max_new_tokens: budget.maxNewTokens, enable_thinking: true, seed: budget.seed, quiet: budget.quiet, save_steps: 0, logging_steps: 5 },
      objectSource: 'distill chat expert',
    });
    const sft = loadCausalLM(base, { dtype: 'bf16' }); // frozen: sampler and reference
    const groups = sampleCandidates(sft, loadRewardModelDir(rewardModel), tok, prompts.map((p) => p.prompt), { K: cfg.num_candidates, temperature: cfg.temperature, maxNewTokens: cfg.max_new_tokens, betaR: cfg.beta_r, seed: cfg.seed, maxLen: cfg.max_seq_length, thinking: true });
    await new ExoTrainer(cfg, loadCausalLM(base), sft, tok, groups).train();
    return join(out, 'final');
  }
  const cfg = resolveConfig(grpoSchema, {
    object: {
      model: base, data: 'distill', out, seed: budget.seed, quiet: budget.quiet, resume: false, save_steps: 0, logging_steps: 5,
      curriculum: domain === 'reasoning' ? 'rlcs' : 'uniform', learning_rate: 3e-5, max_steps: budget.steps,
      per_device_train_batch_size: 16, num_generations: 4, prepass_k: domain === 'reasoning' ? 2 : 0, max_completion_length: budget.maxNewTokens, temperature: 0.7,
    },
    objectSource: `distill ${domain} expert`,
  });
  await new GrpoTrainer(cfg, loadCausalLM(base), tok, prompts, null).train();
  return join(out, 'final');
}
