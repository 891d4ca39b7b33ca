/** glmkit's public surface. Everything not exported here is internal. */
export {
  GlmkitError,
  ShapeError,
  DTypeError,
  ConfigError,
  DataError,
  CheckpointError,
  NativeError,
  UsageError,
} from './errors.js';

// Engine
export { Tensor } from './tensor/tensor.js';
export type { DType } from './tensor/dtype.js';
export { noGrad, isGradEnabled } from './tensor/autograd.js';
export * as ops from './tensor/ops/index.js';
export { getBackend, setBackend, withBackend, nativeUnavailableReason } from './tensor/backend/index.js';
export type { Backend, BackendName } from './tensor/backend/index.js';
export { setNativeThreads, nativeInfo } from './tensor/backend/native.js';
export { Rng } from './util/rng.js';
export { Module } from './nn/module.js';
export { Linear, Embedding, RMSNorm, LayerNorm } from './nn/layers.js';

// Models and checkpoints
export { GlmForCausalLM, GlmForSequenceClassification, GlmModel, type CausalLMOptions, type CausalLMOutput } from './models/glm/model.js';
export { configFromHf, configToHf, loadPreset, presetNames, validateConfig, type GlmConfig } from './models/glm/config.js';
export { castWeights, loadModel, loadCausalLM, saveModel, type WeightDtype } from './models/glm/checkpoint.js';
export { exportGlmGguf, exportGlmGgufFromFolder } from './models/glm/gguf-export.js';
// GLM-4.1V (vision-language): docs/vision.md
export { Glm4vForConditionalGeneration, type Glm4vForwardOptions, type Glm4vOutput } from './models/glm4v/model.js';
export { glm4vConfigFromHf, glm4vConfigToHf, loadVlPreset, vlPresetNames, type Glm4vConfig, type Glm4vVisionConfig } from './models/glm4v/config.js';
export { loadGlm4vModel, saveGlm4vModel, isGlm4vFolder } from './models/glm4v/checkpoint.js';
export { preprocessImage, preprocessImages, imageTokenCount, imageProcessor, smartResize, readImageProcessorConfig, type ImageProcessorConfig } from './models/glm4v/preprocess.js';
export { openSafetensors, openSafetensorsCheckpoint, readSafetensors, writeSafetensors } from './io/safetensors.js';

// Generation
export { generate, type GenerateOptions, type GenerateResult } from './generation/generate.js';
export { generateWithImages, type ImagePrompt } from './generation/vlm-generate.js';
export { renderImagePrompts, rolloutImagePrompts, rolloutWithImages, type ImageChatPrompt, type ImageRollout } from './generation/vlm-rollout.js';
export { KVCache } from './generation/kv-cache.js';

// Tokenizer and chat format
export * from './tokenizer/index.js';

// Optimizers and training
export * as optim from './optim/index.js';
export { PretrainTrainer } from './trainers/pretrain/pretrain-trainer.js';
export { SftTrainer } from './trainers/sft/sft-trainer.js';
export { Trainer, type MicroBatchResult, type TrainResult } from './trainers/base/trainer.js';
export { resolveConfig } from './trainers/base/config.js';

// Data, evaluation, pipeline
export * as world from './data/world/index.js';
export { evalChat } from './eval/chat-eval.js';
export { runPipeline } from './pipeline/pipeline.js';
