/**
 * The reference backend: every kernel in plain TypeScript, written to be obviously correct rather
 * than fast. It accepts Float32Array and Float64Array (gradient checks run in f64) and is the twin
 * that every native kernel is tested against.
 */
import type { Backend } from '../backend.js';
import { gemm, gemmBf16, gemmPrepacked, packWeights } from './gemm.js';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from './norm.js';
import { rope } from './rope.js';
import { attentionBackward, attentionForward } from './attention.js';
import {
  crossEntropyBackward,
  crossEntropyForward,
  logSoftmaxBackward,
  logSoftmaxForward,
  softmaxBackward,
  softmaxForward,
} from './softmax.js';
import { addForward, embeddingBackward, embeddingForward, geluBackward, geluForward, mulForward, swigluBackward, swigluForward } from './elementwise.js';
import { moeExpertsForward } from './moe.js';
import { adamw } from './optim.js';

export const referenceBackend: Backend = {
  name: 'reference',
  describe: () => 'reference (pure TypeScript)',
  gemm,
  gemmBf16,
  packWeights,
  gemmPrepacked,
  rmsnormForward,
  rmsnormBackward,
  layernormForward,
  layernormBackward,
  rope,
  attentionForward,
  attentionBackward,
  softmaxForward,
  softmaxBackward,
  logSoftmaxForward,
  logSoftmaxBackward,
  crossEntropyForward,
  crossEntropyBackward,
  addForward,
  mulForward,
  swigluForward,
  swigluBackward,
  geluForward,
  geluBackward,
  embeddingForward,
  embeddingBackward,
  adamw,
  moeExpertsForward,
};
