/** The model FLOPs count behind `bench train`'s model GFLOP/s and MFU. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../models/glm/config.js';
import { trainingFlopsPerToken } from './train.js';

test('trainingFlopsPerToken: 6 x matmul weights + causal attention for the bench preset; null for MoE', () => {
  // bench: H 256, 4 query heads and 2 kv heads of 64, MLP 704, 4 layers, vocabulary 4096, T 256.
  // Per layer q 256x256, k and v 256x128 each, o 256x256, gate_up 256x1408, down 704x256 = 737,280;
  // x4 + head 256x4096 = 3,997,696 weights -> 23,986,176; attention 6 * 256 * 256 * 4 = 1,572,864.
  assert.equal(trainingFlopsPerToken(loadPreset('bench'), 256), 25_559_040);
  // Attention grows with the sequence, the weight term does not.
  assert.equal(trainingFlopsPerToken(loadPreset('bench'), 512)! - trainingFlopsPerToken(loadPreset('bench'), 256)!, 1_572_864);
  assert.equal(trainingFlopsPerToken(loadPreset('tiny-moe'), 256), null);
});
