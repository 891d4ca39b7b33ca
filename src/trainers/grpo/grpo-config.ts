/** `glmkit grpo` configuration: the base trainer fields plus GRPO, rollout and curriculum fields (TRL's names where they exist). */
import { baseSchema } from '../base/schema.js';
import { choice, field, type Values } from '../base/config.js';
import { rlCheckSchema } from '../checks/check-config.js';
import { STEP_AGGREGATIONS } from '../reward/prm.js';
import { remoteRolloutSchema, rolloutAheadSchema } from '../remote/remote-rollouts.js';
import { remoteRewardSchema } from '../remote/reward-client.js';

export const grpoSchema = {
  ...baseSchema,
  max_steps: field('int', 40, 'optimizer steps (one rollout batch per num_iterations steps)', { min: 1 }),
  per_device_train_batch_size: field('int', 32, 'completions per micro-batch; prompts per step = this * gradient_accumulation_steps / num_generations', { min: 1 }),
  learning_rate: field('number', 2e-4, 'peak learning rate', { min: 0 }),
  warmup_steps: field('int', 0, 'linear warm-up steps', { min: 0 }),
  min_lr_ratio: field('number', 1.0, 'final learning rate as a fraction of the peak (1 = constant, as RL usually runs)', { min: 0 }),
  weight_decay: field('number', 0, 'decoupled weight decay', { min: 0 }),
  num_generations: field('int', 8, 'G: completions sampled per prompt', { min: 2 }),
  temperature: field('number', 1.0, 'sampling temperature of rollouts (log-probs are taken under logits / temperature)', { min: 0.01 }),
  top_p: field('number', 1.0, 'nucleus sampling of rollouts (1 = off); the loss uses log-probs of the full distribution, as TRL does', { min: 0 }),
  max_completion_length: field('int', 160, 'generated tokens per rollout over all turns (the reasoning length limit)', { min: 1 }),
  force_answer: field('boolean', true, 'when reasoning hits the limit inside <think>, insert </think> and let the model answer'),
  force_answer_tokens: field('int', 24, 'tokens allowed for a forced answer', { min: 1 }),
  max_tool_turns: field('int', 3, 'assistant turns per rollout (tool round trips + 1)', { min: 1 }),
  enable_thinking: field('boolean', true, 'render prompts in thinking mode'),
  epsilon: field('number', 0.2, 'lower clip range eps_low of the ratio', { min: 0 }),
  epsilon_high: field('number', 0.28, 'upper clip range eps_high ("clip-higher")', { min: 0 }),
  beta: field('number', 0, 'KL coefficient to the initial model (0 = no KL term, as GLM-4.5)', { min: 0 }),
  loss_type: choice(['token_mean', 'sample_mean', 'dr_grpo'], 'token_mean', 'average the loss over all completion tokens of the batch (GLM-4.5, DAPO), per sample first (GLM-4.1V), or sum it over tokens / (samples x max_completion_length) (Dr. GRPO)'),
  scale_rewards: field('boolean', true, 'divide advantages by the group std (false: mean-centred only, the agentic variant)'),
  dynamic_sampling: field('boolean', true, 'drop prompt groups whose rewards have zero spread'),
  num_iterations: field('int', 1, 'optimizer steps per rollout batch (mu); > 1 reuses rollouts with old log-probs', { min: 1 }),
  curriculum: choice(['rlcs', 'uniform', 'two_stage'], 'rlcs', 'prompt sampling: RLCS tiers (GLM-4.1V), uniform, or GLM-4.5 two-stage difficulty'),
  prepass_k: field('int', 4, 'offline pass@k pre-pass: samples per training prompt before RL (0 = none; RLCS then starts from online rates)', { min: 0 }),
  rlcs_ema_decay: field('number', 0.5, 'EMA decay of per-prompt pass rates and of the invalid-group rate', { min: 0 }),
  rlcs_tier_floor: field('number', 0.05, 'minimum (unnormalised) weight of a tier', { min: 0 }),
  rlcs_pool_strength: field('number', 4, "shrink each prompt's offline pass rate towards the pooled rate of its task and difficulty with this many pseudo-trials (0 = raw rates)", { min: 0 }),
  rlcs_max_expansion: field('number', 3, 'cap of the oversampling factor 1 / (1 - invalid_rate)', { min: 1 }),
  stage_switch: field('number', 0.5, 'two_stage: share of steps in the moderate stage', { min: 0 }),
  stage2_num_generations: field('int', 16, 'two_stage: samples per hard prompt in the second stage', { min: 2 }),
  dynamic_temperature: field('boolean', false, 'on a reward plateau, move to the highest temperature within 1% of the best held-out score'),
  temperature_candidates: field('string', '0.7,0.85,1.0,1.15,1.3', 'temperatures tried by dynamic_temperature'),
  temperature_patience: field('int', 8, 'steps without reward improvement that count as a plateau', { min: 1 }),
  eval_max_examples: field('int', 64, 'held-out prompts scored greedily at each evaluation', { min: 1 }),
  routing_replay: field('boolean', false, 'MoE policies: the training forward routes each sampled token to the experts chosen while sampling it (routing replay)'),
  reward_model: field('path', '', 'reward model folder (glmkit reward, or reward --process) whose score replaces the verifier as the training reward (the curriculum and evaluation stay on the verifier)'),
  reward_aggregation: choice(['', ...STEP_AGGREGATIONS], '', 'with a process reward model: min, prod or last of the step probabilities (default: the one saved with it)'),
  ...rlCheckSchema,
  ...remoteRolloutSchema,
  ...rolloutAheadSchema,
  ...remoteRewardSchema,
};

export type GrpoConfig = Values<typeof grpoSchema>;
