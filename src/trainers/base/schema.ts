/** The fields every trainer shares (TRL's names where they exist). Methods extend this schema. */
import { choice, field, type Field } from './config.js';
import { MIXED_PRECISION } from '../../tensor/ops/precision.js';

/**
 * `--resume` (bare, or `true`): continue from the newest complete checkpoint in --out, an error when
 * there is none or when it is already at --max-steps; `--resume auto`: continue when a checkpoint
 * exists (one at --max-steps only writes final/ again), else start fresh; absent (`false`): a fresh
 * run. Config files may also say `resume: true` / `resume: false`.
 */
export const resumeField: Field<'false' | 'true' | 'auto'> = {
  ...choice(['false', 'true', 'auto'], 'false', 'continue from the newest complete checkpoint in --out (an error when there is none); --resume auto starts fresh when there is none'),
  implicit: 'true',
};

/** How a run treats the checkpoints in --out (see resumeField). */
export type ResumeMode = 'off' | 'on' | 'auto';

export function resumeMode(v: unknown): ResumeMode {
  if (v === true || v === 'true') return 'on';
  if (v === 'auto') return 'auto';
  return 'off';
}

export const baseSchema = {
  model: field('path', '', 'model folder to start from (Hugging Face layout: config.json + model.safetensors + tokenizer files)'),
  data: field<string | string[]>('path', '', 'training data, JSONL', { multiple: true }),
  eval_data: field<string | null>('path', null, 'held-out data for evaluation, JSONL (optional)', { nullable: true }),
  out: field('path', '', 'output folder: checkpoint-<step>/, final/ (the trained model), metrics.jsonl, training_config.json'),
  max_steps: field('int', 100, 'optimizer steps to run', { min: 1 }),
  per_device_train_batch_size: field('int', 8, 'sequences per micro-batch', { min: 1 }),
  gradient_accumulation_steps: field('int', 1, 'micro-batches per optimizer step', { min: 1 }),
  max_seq_length: field('int', 256, 'tokens per training sequence (longer examples are dropped and counted)', { min: 2 }),
  optimizer: choice(['adamw', 'muon'], 'adamw', 'adamw for everything, or muon for 2-D matrices (AdamW for embeddings, head, norms, biases) as GLM-4.5'),
  learning_rate: field('number', 1e-3, 'peak learning rate', { min: 0 }),
  min_lr_ratio: field('number', 0.1, 'final learning rate of the cosine decay, as a fraction of the peak', { min: 0 }),
  warmup_steps: field('int', 10, 'linear warm-up steps', { min: 0 }),
  weight_decay: field('number', 0.1, 'decoupled weight decay of matrices (never on norms and biases)', { min: 0 }),
  adam_beta1: field('number', 0.9, 'AdamW beta1', { min: 0 }),
  adam_beta2: field('number', 0.95, 'AdamW beta2', { min: 0 }),
  adam_epsilon: field('number', 1e-8, 'AdamW epsilon', { min: 0 }),
  max_grad_norm: field('number', 1.0, 'clip gradients to this global L2 norm (0 = off)', { min: 0 }),
  mtp_weight: field('number', 0.3, 'weight lambda of the multi-token-prediction loss (GLM-4.5 models with MTP layers)', { min: 0 }),
  moe_balance_weight: field('number', 1e-4, 'weight alpha of the MoE sequence-level balance loss', { min: 0 }),
  moe_bias_update_rate: field('number', 1e-3, 'u of the aux-loss-free expert bias update after each step (0 = off)', { min: 0 }),
  seed: field('int', 0, 'seed of data order and sampling', { min: 0 }),
  logging_steps: field('int', 1, 'log metrics every N steps', { min: 1 }),
  save_steps: field('int', 0, 'save a checkpoint every N steps (0 = none during the run); the last step is always saved as checkpoint-<step>/ beside final/', { min: 0 }),
  save_total_limit: field('int', 0, 'keep at most N checkpoints, deleting the oldest (0 = keep all)', { min: 0 }),
  eval_steps: field('int', 0, 'evaluate every N steps (0 = only at the end)', { min: 0 }),
  resume: resumeField,
  max_nonfinite_skips: field('int', 3, 'stop the run after this many consecutive steps with a non-finite loss or gradient norm (each is skipped, never applied)', { min: 1 }),
  threads: field('int', 0, 'native threads (0 = GLMKIT_THREADS or all cores)', { min: 0 }),
  data_parallel: field('int', 0, 'threads each micro-batch is split over, each with its own model replica and its kernels inline (0 = one per generation thread: the CLI\'s native thread count, a library process 1; 1 = off); dense float32 models in pretrain, sft, reward, dpo and exo', { min: 0 }),
  mixed_precision: choice(MIXED_PRECISION, 'no', 'bf16: the training forward and backward run their matrix products with bfloat16 operands and float32 sums (AVX512_BF16 where the CPU has it); weights, gradients and optimizer state stay float32 (ppo and grpo: their trainer log-probs then differ from the float32 sampler\'s by bf16 rounding, which the log-prob check reports)'),
  quiet: field('boolean', false, 'no progress output'),
};

export type BaseSchema = typeof baseSchema;

/**
 * `--frozen-dtype f32|bf16`: how a preference or RL trainer keeps its frozen models (reference,
 * reward model) in memory. bf16 halves their memory and the bytes their forwards read; their
 * arithmetic stays f32 (src/tensor/ops/bf16.ts). The trained policy and value model stay f32.
 */
export const frozenDtypeField = () =>
  choice(['f32', 'bf16'] as const, 'f32', 'how the frozen reference (and reward) models keep their matrices: bf16 halves their memory; the trained models stay f32');
