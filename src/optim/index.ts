/** Optimizers (AdamW, Muon, the GLM-4.5 hybrid), LR and batch-size schedules, clipping, state save/load. */
export { AdamW, type AdamWOptions, type ParamGroup } from './adamw.js';
export { Muon, NS_COEFFS, newtonSchulzIterate, nsWorkspace, orthogonalize, type MuonOptions, type NsWorkspace } from './muon.js';
export {
  ADAMW_MATRIX_PATTERN, HybridOptimizer, glmParamGroups, paramRole,
  type GlmParamGroupOptions, type GlmParamGroups, type HybridOptions, type ParamRole,
} from './param-groups.js';
export {
  batchWarmup, constant, linear, lrSchedule, warmupCosine,
  type BatchWarmupOptions, type LrSchedule, type ScheduleKind, type WarmupDecayOptions,
} from './schedule.js';
export { clipGradNorm, gradNorm } from './clip.js';
export {
  OPTIMIZER_METADATA_KEY, loadOptimizerState, saveOptimizerState, stateToSafetensors,
  type Optimizer, type OptimizerScalars, type OptimizerState,
} from './state.js';
