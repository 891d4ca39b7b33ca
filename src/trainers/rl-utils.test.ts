// The shared RL math, and the contract the rollout engine relies on: log-probs recorded by the
// sampler equal the trainer's recomputation (tokenLogprobs) at the same temperature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../generation/generate.js';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { Tensor } from '../tensor/tensor.js';
import { assertClose } from '../tensor/testing.js';
import { groupAdvantages, klPerToken, maskedMeanAll, maskedMeanRows, sequenceBatch, targetLogprobs, tokenLogprobsNoGrad } from './rl-utils.js';

test('sampler log-probs equal trainer log-probs (batched, padded, temperature 0.8)', () => {
  const model = new GlmForCausalLM({ ...loadPreset('tiny'), initializerRange: 0.2, padTokenId: null, eosTokenId: null }, { seed: 4 }).eval();
  const prompts = [[5, 6, 7, 8, 9], [11, 12], [3, 3, 3]];
  const res = generate(model, prompts, { maxNewTokens: 7, temperature: 0.8, seed: 1 });
  const batch = sequenceBatch(prompts, res.tokens, 0);
  const lp = tokenLogprobsNoGrad(model, batch, 0.8);
  const T = batch.ids.shape[1];
  prompts.forEach((p, b) => {
    res.tokens[b].forEach((_, i) => {
      const pos = b * T + p.length - 1 + i;
      assert.equal(batch.lossMask[pos], 1);
      assert.ok(Math.abs(lp.data[pos] - res.logprobs[b][i]) < 2e-4, `seq ${b} token ${i}: trainer ${lp.data[pos]} vs sampler ${res.logprobs[b][i]}`);
    });
  });
});

test('group advantages, masked means and KL estimates', () => {
  assertClose(groupAdvantages([1, 0, 1, 0, 0, 0], 2), [1, -1, 1, -1, 0, 0].map((v) => v / (0.5 + 1e-6) * 0.5), { atol: 1e-6 });
  assert.deepEqual(groupAdvantages([1, 0, 0, 0], 4, { scaleByStd: false }), [0.75, -0.25, -0.25, -0.25]);
  assert.throws(() => groupAdvantages([1, 2, 3], 2), /groups of 2/);
  const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const m = Float32Array.from([1, 1, 0, 0, 0, 1]);
  assertClose(maskedMeanRows(x, m), [1.5, 6]);
  assertClose(maskedMeanAll(x, m), [3]);
  const kl = klPerToken(Tensor.from([-1, -2]), Tensor.from([-1, -1]));
  assertClose(kl, [0, Math.exp(1) - 1 - 1], { atol: 1e-6 });
});

test('targetLogprobs: prompt ids past the logits\' cut count 0, a completion id past it is an error', () => {
  const V = 4;
  const logits = new Tensor(new Float32Array(1 * 5 * V).map((_, i) => (i % 7) / 7), [1, 5, V]);
  const lp = targetLogprobs(logits, sequenceBatch([[1, 9, 2]], [[3, 0]], 0)); // id 9 sits in the prompt
  assert.equal(lp.data[0] + 0, 0); // -0 from the negation
  assert.ok(lp.data[2] < 0 && lp.data[3] < 0, 'completion positions have log-probs');
  assert.throws(() => targetLogprobs(logits, sequenceBatch([[1, 2, 2]], [[9, 0]], 0)));
});
