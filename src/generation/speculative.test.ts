// Speculative decoding with the MTP layer: greedy output is token for token that of generate() (with
// drafts both accepted and rejected along the way), and sampled tokens follow the main model's
// distribution (chi-square against the exact two-token marginal on a 12-token vocabulary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import * as F from '../tensor/ops/index.js';
import { HybridOptimizer } from '../optim/index.js';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { generate } from './generate.js';
import { generateSpeculative } from './speculative.js';
import { samplingDistribution } from './sampler.js';
import { KVCache } from './kv-cache.js';

/** A tiny MoE model with an MTP layer, trained briefly on counting sequences so that drafts are often right. */
let counting: GlmForCausalLM | null = null;
function countingModel(): GlmForCausalLM {
  if (counting) return counting;
  const cfg = { ...loadPreset('tiny-moe'), vocabSize: 64, padTokenId: null, eosTokenId: null, bosTokenId: null };
  const model = new GlmForCausalLM(cfg, { seed: 3 });
  const opt = HybridOptimizer.forModel(model, { lr: 3e-3, muon: false, weightDecay: 0 });
  const B = 8, T = 24;
  for (let step = 0; step < 60; step++) {
    const ids: number[] = [], targets: number[] = [];
    for (let b = 0; b < B; b++) {
      const start = (step * 7 + b * 5) % 50, stride = 1 + ((step + b) % 2);
      const seq = Array.from({ length: T + 1 }, (_, t) => (start + t * stride) % 64);
      ids.push(...seq.slice(0, T));
      targets.push(...seq.slice(1));
    }
    const out = model.forward(Tensor.ids(ids, [B, T]), { targets: Tensor.ids(targets, [B, T]), mtp: true });
    const loss = out.mtpLoss ? F.add(out.loss!, out.mtpLoss) : out.loss!;
    loss.backward();
    opt.update();
    opt.zeroGrad();
  }
  counting = model.eval();
  return counting;
}

test('speculative decoding (greedy) equals generate() token for token, with drafts accepted and rejected', () => {
  const model = countingModel();
  let accepted = 0, rejected = 0;
  for (const prompt of [[10, 11, 12, 13], [2, 4, 6], [40, 7, 33, 18, 5], [63]]) {
    const want = generate(model, [prompt], { maxNewTokens: 30, temperature: 0 }).tokens[0];
    const got = generateSpeculative(model, prompt, { maxNewTokens: 30, temperature: 0 });
    assert.deepEqual(got.tokens, want, `prompt ${prompt}`);
    assert.equal(got.tokens.length, 30);
    assert.ok(got.mainForwards < got.tokens.length, `main forwards ${got.mainForwards} vs ${got.tokens.length} tokens`);
    accepted += got.accepted;
    rejected += got.drafted - got.accepted;
  }
  assert.ok(accepted > 0, 'no draft was accepted: the accept path was not exercised');
  assert.ok(rejected > 0, 'no draft was rejected: the rollback path was not exercised');
});

test('speculative decoding stops at a stop token and reports log-probs equal to generate()', () => {
  const model = countingModel();
  const plain = generate(model, [[10, 11, 12]], { maxNewTokens: 12, temperature: 0 });
  const stop = plain.tokens[0][5];
  const want = generate(model, [[10, 11, 12]], { maxNewTokens: 12, temperature: 0, stopTokens: [stop] });
  const got = generateSpeculative(model, [10, 11, 12], { maxNewTokens: 12, temperature: 0, stopTokens: [stop] });
  assert.deepEqual(got.tokens, want.tokens[0]);
  assert.equal(got.finishReason, 'stop');
  got.logprobs.forEach((l, i) => assert.ok(Math.abs(l - want.logprobs[0][i]) < 1e-5, `logprob ${i}: ${l} vs ${want.logprobs[0][i]}`));
});

/** P(x1, x2) of plain sampling after `prompt`, marginalised to x2, computed exactly. */
function exactSecondTokenMarginal(model: GlmForCausalLM, prompt: number[], opts: { temperature: number; topK?: number }): Float64Array {
  const V = model.config.vocabSize;
  const lastRow = (seq: number[]) => noGrad(() => {
    const logits = model.forward(Tensor.ids(seq, [1, seq.length])).logits!;
    return samplingDistribution((logits.data as Float32Array).slice((seq.length - 1) * V, seq.length * V), opts);
  });
  const p1 = lastRow(prompt);
  const marginal = new Float64Array(V);
  for (let a = 0; a < V; a++) {
    if (p1[a] === 0) continue;
    const p2 = lastRow([...prompt, a]);
    for (let b = 0; b < V; b++) marginal[b] += p1[a] * p2[b];
  }
  return marginal;
}

test('speculative sampling keeps the main model\'s distribution (chi-square on the second token)', () => {
  // an untrained model: its MTP drafts differ from the main model, so the accept and residual paths both run
  const cfg = { ...loadPreset('tiny-moe'), vocabSize: 12, initializerRange: 0.3, padTokenId: null, eosTokenId: null, bosTokenId: null };
  const model = new GlmForCausalLM(cfg, { seed: 5 }).eval();
  const prompt = [3, 7, 1];
  for (const opts of [{ temperature: 1 }, { temperature: 0.7, topK: 6 }]) {
    const expected = exactSecondTokenMarginal(model, prompt, opts);
    const N = 2000;
    const counts = new Array<number>(12).fill(0);
    let drafted = 0, accepted = 0;
    for (let s = 0; s < N; s++) {
      const r = generateSpeculative(model, prompt, { ...opts, maxNewTokens: 2, seed: 1000 + s });
      counts[r.tokens[1]]++;
      drafted += r.drafted;
      accepted += r.accepted;
    }
    let chi2 = 0, dof = -1;
    for (let v = 0; v < 12; v++) {
      const e = expected[v] * N;
      if (e < 5) {
        assert.ok(counts[v] <= Math.max(5, 4 * e + 5), `${JSON.stringify(opts)}: token ${v} drawn ${counts[v]} times, expected ${e.toFixed(2)}`);
        continue;
      }
      chi2 += (counts[v] - e) ** 2 / e;
      dof++;
    }
    // 99.9% quantile of chi-square with <= 11 degrees of freedom is <= 31.3
    assert.ok(chi2 < 31.3, `${JSON.stringify(opts)}: chi-square ${chi2.toFixed(1)} with ${dof} dof; counts ${counts}, expected ${Array.from(expected, (e) => (e * N).toFixed(0))}`);
    assert.ok(accepted > 0 && accepted < drafted, `${JSON.stringify(opts)}: accepted ${accepted} of ${drafted}`);
  }
});

test('KVCache.rollback drops slots, masks them and steps positions back', () => {
  const cache = new KVCache(2, 8, 1, 1, 2);
  cache.advance(3, new Int32Array([0, 1, 1, 1, 1, 1]));
  assert.deepEqual(Array.from(cache.nextPos), [2, 3]);
  cache.advance(2, null);
  cache.rollback(4);
  assert.equal(cache.length, 4);
  assert.deepEqual(Array.from(cache.nextPos), [3, 4]);
  assert.deepEqual(Array.from(cache.keyMask.subarray(0, 8)), [0, 1, 1, 1, 0, 0, 0, 0]);
  assert.throws(() => cache.rollback(5), /length in \[0, 4\]/);
});
