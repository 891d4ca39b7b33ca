// GAE against hand-computed values, and the value model's per-position head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../../models/glm/config.js';
import { GlmForSequenceClassification } from '../../models/glm/model.js';
import { noGrad } from '../../tensor/autograd.js';
import { sequenceBatch } from '../rl-utils.js';
import { gae } from './ppo-trainer.js';
import { ValueModel } from './value-model.js';

test('GAE: delta_t = r_t + gamma V_{t+1} - V_t, A_t = delta_t + gamma lam A_{t+1}, R = A + V', () => {
  const { advantages, returns } = gae([0.1, -0.2, 1], [0.5, 0.3, 0.2], 0.9, 0.8);
  // delta = [-0.13, -0.32, 0.8]; A2 = 0.8, A1 = -0.32 + 0.72 * 0.8, A0 = -0.13 + 0.72 * A1
  const exp = [-0.13 + 0.72 * 0.256, 0.256, 0.8];
  advantages.forEach((a, i) => assert.ok(Math.abs(a - exp[i]) < 1e-12, `A${i} ${a} vs ${exp[i]}`));
  returns.forEach((r, i) => assert.ok(Math.abs(r - (exp[i] + [0.5, 0.3, 0.2][i])) < 1e-12));
  // gamma = lam = 1: A_t = sum of rewards from t on - V_t (Monte-Carlo return minus baseline)
  const mc = gae([1, 2, 3], [0.5, 0.5, 0.5], 1, 1);
  assert.deepEqual(mc.advantages, [5.5, 4.5, 2.5]);
});

test('value model: the reward model score head applied at every position; last real token = RM score', () => {
  const cfg = { ...loadPreset('tiny'), vocabSize: 64, numHiddenLayers: 2, padTokenId: null, eosTokenId: null };
  const rm = new GlmForSequenceClassification(cfg, 1, { seed: 2 });
  const rmCopy = new GlmForSequenceClassification(cfg, 1, { seed: 2 });
  const value = new ValueModel(rmCopy);
  assert.deepEqual([...value.stateDict().keys()].sort(), [...rm.stateDict().keys()].sort());
  const batch = sequenceBatch([[1, 2, 3], [4, 5]], [[6, 7], [8]], 0);
  noGrad(() => {
    const v = value.forward(batch);
    const s = rm.forward(batch.ids, { attentionMask: batch.attentionMask });
    const T = batch.ids.shape[1];
    assert.deepEqual(v.shape, [2, T]);
    assert.ok(Math.abs(v.data[0 * T + 4] - s.data[0]) < 1e-5);
    assert.ok(Math.abs(v.data[1 * T + 2] - s.data[1]) < 1e-5);
  });
});
