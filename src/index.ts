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
export { Tensor } from './tensor/tensor.js';
export type { DType } from './tensor/dtype.js';
export { noGrad, isGradEnabled } from './tensor/autograd.js';
export * as ops from './tensor/ops/index.js';
export { getBackend, setBackend, withBackend, nativeUnavailableReason } from './tensor/backend/index.js';
export type { Backend, BackendName } from './tensor/backend/index.js';
export { setNativeThreads, nativeInfo } from './tensor/backend/native.js';
export { Rng } from './util/rng.js';
export type { ChatMessage, ChatRole, ToolCall, ToolSpec, Conversation } from './tokenizer/chat-types.js';
