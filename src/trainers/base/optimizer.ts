/** The trainer's view of the optim package: the GLM-4.5 optimizer split, the LR schedule, clipping. */
import type { Module } from '../../nn/module.js';
import { HybridOptimizer, clipGradNorm as clip, warmupCosine, type Optimizer } from '../../optim/index.js';
import type { Tensor } from '../../tensor/tensor.js';

export type TrainOptimizer = Optimizer;

export interface OptimizerConfig {
  optimizer: 'adamw' | 'muon';
  learning_rate: number;
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
}

export interface ScheduleConfig {
  learning_rate: number;
  min_lr_ratio: number;
  warmup_steps: number;
  max_steps: number;
}

/** Muon for matrices + AdamW for embeddings, heads, norms and biases (or AdamW for everything). */
export function buildOptimizer(model: Module, cfg: OptimizerConfig): TrainOptimizer {
  return HybridOptimizer.forModel(model, {
    lr: cfg.learning_rate,
    muon: cfg.optimizer === 'muon',
    weightDecay: cfg.weight_decay,
    adamw: { beta1: cfg.adam_beta1, beta2: cfg.adam_beta2, eps: cfg.adam_epsilon },
  });
}

/** LR of the update that takes the model from `step` to `step + 1` (warm-up starts above 0). */
export function learningRateAt(cfg: ScheduleConfig, step: number): number {
  const warm = Math.min(cfg.warmup_steps, cfg.max_steps);
  return warmupCosine({ peakLr: cfg.learning_rate, minLr: cfg.learning_rate * Math.min(1, cfg.min_lr_ratio), warmupSteps: warm, totalSteps: cfg.max_steps })(step + 1);
}

/** Global-norm clipping (0 = off, still returns the norm). */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return clip(params, maxNorm > 0 ? maxNorm : Infinity);
}
