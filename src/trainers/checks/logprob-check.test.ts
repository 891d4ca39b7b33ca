// The step-0 invariant (trainer log-probs of sampled tokens = the sampler's) and the MoE routing
// agreement, each with the bug planted: a padded vocabulary renormalised by the sampler only, the
// temperature applied by the sampler only, and a router perturbed between rollout and training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../../generation/generate.js';
import { loadPreset } from '../../models/glm/config.js';
import { GlmForCausalLM } from '../../models/glm/model.js';
import { noGrad } from '../../tensor/autograd.js';
import { sequenceBatch, tokenLogprobsNoGrad } from '../rl-utils.js';
import { assertLogprobsAgree, logprobDeviation } from './logprob-check.js';
import { clearRouting, routedForward, routingAgreement, withRoutingRecorded } from './routing-check.js';
import { targetLogprobs } from '../rl-utils.js';

const prompts = [[5, 6, 7, 8, 9], [11, 12], [3, 3, 3, 4]];

function sampled(model: GlmForCausalLM, opts: { temperature: number; vocabLimit?: number; topP?: number; recordRouting?: boolean }) {
  const res = generate(model, prompts, { maxNewTokens: 8, seed: 2, ...opts });
  const batch = sequenceBatch(prompts, res.tokens, 0);
  return { res, batch, offsets: prompts.map((p) => p.length - 1), T: batch.ids.shape[1] };
}

test('step-0 log-probs: a padded vocabulary must be cut on the trainer side too (planted: full-vocabulary softmax)', () => {
  // 64 ids in the embedding, 40 of them real: the sampler renormalises over the 40
  const model = new GlmForCausalLM({ ...loadPreset('tiny'), vocabSize: 64, numHiddenLayers: 2, initializerRange: 0.2, padTokenId: null, eosTokenId: null }, { seed: 4 }).eval();
  const { res, batch, offsets, T } = sampled(model, { temperature: 0.8, vocabLimit: 40 });
  for (const row of res.tokens) for (const t of row) assert.ok(t < 40);
  const good = logprobDeviation(tokenLogprobsNoGrad(model, batch, 0.8, 40).data, T, offsets, res.logprobs);
  assert.equal(good.tokens, 24);
  assert.ok(good.max < 2e-4, `same distribution: max deviation ${good.max}`);
  assertLogprobsAgree(good, 1e-3, 'test', (r) => `row ${r}`);
  // the bug: the trainer's softmax covers the 24 padded ids the sampler never draws
  const bad = logprobDeviation(tokenLogprobsNoGrad(model, batch, 0.8).data, T, offsets, res.logprobs);
  assert.ok(bad.max > 1e-2, `padded ids' mass shows up: ${bad.max}`);
  assert.throws(() => assertLogprobsAgree(bad, 1e-3, 'grpo', (r) => `row ${r}`), /grpo: the trainer's log-probs of sampled tokens differ from the sampler's by up to .*worst: row \d, completion token \d/);
});

test('step-0 log-probs: temperature applied only in the sampler is caught; top-p keeps the full-distribution convention', () => {
  const model = new GlmForCausalLM({ ...loadPreset('tiny'), vocabSize: 64, numHiddenLayers: 2, initializerRange: 0.2, padTokenId: null, eosTokenId: null }, { seed: 7 }).eval();
  const { res, batch, offsets, T } = sampled(model, { temperature: 0.6 });
  const ok = logprobDeviation(tokenLogprobsNoGrad(model, batch, 0.6).data, T, offsets, res.logprobs);
  assert.ok(ok.max < 2e-4, `${ok.max}`);
  const planted = logprobDeviation(tokenLogprobsNoGrad(model, batch, 1).data, T, offsets, res.logprobs);
  assert.ok(planted.max > 1e-2, `temperature only in the sampler: ${planted.max}`);
  assert.throws(() => assertLogprobsAgree(planted, 1e-3, 'ppo', () => 'row'), /different distributions/);
  // a masked token (tool output) is not compared
  const masked = logprobDeviation(tokenLogprobsNoGrad(model, batch, 1).data, T, offsets, res.logprobs, res.tokens.map((r) => r.map(() => 0)));
  assert.equal(masked.tokens, 0);
  assert.equal(masked.max, 0);
  // top-p: the sampler records the log-prob under the full (untruncated) distribution, as the trainer computes it
  const p = sampled(model, { temperature: 1, topP: 0.5 });
  const dev = logprobDeviation(tokenLogprobsNoGrad(model, p.batch, 1).data, p.T, p.offsets, p.res.logprobs);
  assert.ok(dev.max < 2e-4, `top-p: ${dev.max}`);
});

test('MoE routing: rollout and training forward choose the same experts; a perturbed router is caught', () => {
  const model = new GlmForCausalLM({ ...loadPreset('tiny-moe'), vocabSize: 64, numHiddenLayers: 2, initializerRange: 0.2, padTokenId: null, eosTokenId: null }, { seed: 3 }).eval();
  const { res, batch, offsets, T } = sampled(model, { temperature: 1, recordRouting: true });
  assert.ok(res.routing);
  const layers = model.moeLayers();
  assert.equal(layers.length, 1);
  res.routing!.forEach((row, b) => {
    assert.equal(row.length, res.tokens[b].length);
    assert.equal(row.at(-1), null, 'the last token is never fed back');
    for (const r of row.slice(0, -1)) assert.equal(r!.length, layers[0].expertsPerToken);
  });
  const agree = () => {
    const { layers: ls } = withRoutingRecorded(model, () => noGrad(() => model.forward(batch.ids, { attentionMask: batch.attentionMask })));
    const a = routingAgreement(ls, T, offsets, res.routing!);
    clearRouting(ls);
    return a;
  };
  const same = agree();
  assert.equal(same.compared, res.tokens.reduce((a, r) => a + r.length - 1, 0));
  assert.equal(same.mismatched, 0);
  assert.equal(layers[0].recordRouting, false);
  // the bug: the router changes between rollout and training (e.g. a bias update in between)
  const w = layers[0].gate.weight.data;
  for (let i = 0; i < w.length; i++) w[i] += ((i * 7919) % 13) / 13 - 0.5;
  const moved = agree();
  assert.ok(moved.mismatched / moved.compared > 0.2, `perturbed router: ${moved.mismatched}/${moved.compared}`);
});

test('routing replay: after a selection-bias update between rollout and training, replay restores the sampler\'s log-probs', () => {
  const model = new GlmForCausalLM({ ...loadPreset('tiny-moe'), vocabSize: 64, numHiddenLayers: 2, initializerRange: 0.2, padTokenId: null, eosTokenId: null }, { seed: 5 }).eval();
  const { res, batch, offsets, T } = sampled(model, { temperature: 1, recordRouting: true });
  // the aux-loss-free bias update moves expert selection only (the combine weights use unbiased scores)
  const bias = model.moeLayers()[0].gate.eScoreCorrectionBias.data;
  for (let e = 0; e < bias.length; e++) bias[e] = e % 2 ? 0.3 : -0.3;
  assert.deepEqual(res.promptRouting!.map((r) => r.length), prompts.map((p) => p.length));
  const lp = (replay: boolean) => noGrad(() => targetLogprobs(routedForward(model, batch, res.routing!, offsets, replay, res.promptRouting).logits!, batch)).data;
  const drifted = logprobDeviation(lp(false), T, offsets, res.logprobs);
  const replayed = logprobDeviation(lp(true), T, offsets, res.logprobs);
  assert.ok(drifted.max > 1e-3, `the bias change moves log-probs: ${drifted.max}`);
  assert.ok(replayed.max < 2e-4, `replayed routing gives the sampler's log-probs: ${replayed.max}`);
  assert.equal(model.moeLayers()[0].replayRouting, null);
});
