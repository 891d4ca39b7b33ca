/** Every differentiable op, as plain functions over Tensors. */
export * from './elementwise.js';
export { sum, mean, max, sumToShape } from './reduce.js';
export * from './shape-ops.js';
export * from './matmul.js';
export {
  rmsNorm,
  layerNorm,
  geluErf,
  ropeTables,
  rope,
  attention,
  softmax,
  logSoftmax,
  crossEntropy,
  swiglu,
  embedding,
  topk,
  type RopeOptions,
  type AttentionOptions,
  type CrossEntropyOptions,
} from './nn.js';
