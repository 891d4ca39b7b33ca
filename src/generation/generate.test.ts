// Generation: greedy decoding equals argmax of full forwards; batched equals one-by-one; sampling
// is seeded; recorded log-probs equal the model's log-softmax; stop tokens end sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import * as F from '../tensor/ops/index.js';
import { Rng } from '../util/rng.js';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { generate } from './generate.js';
import { sampleToken } from './sampler.js';

const model = new GlmForCausalLM({ ...loadPreset('tiny'), initializerRange: 0.2 }, { seed: 2 }).eval();

function greedyByFullForward(prompt: number[], n: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const logits = noGrad(() => model.forward(Tensor.ids(seq, [1, seq.length])).logits!);
    const V = model.config.vocabSize;
    const last = logits.data.subarray((seq.length - 1) * V, seq.length * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    seq.push(best);
  }
  return seq.slice(prompt.length);
}

test('greedy generation equals argmax of full forwards, batched or not', () => {
  const prompts = [[5, 17, 300, 2], [9], [44, 45, 46, 47, 48, 49]];
  const batched = generate(model, prompts, { maxNewTokens: 6, temperature: 0 });
  prompts.forEach((p, i) => {
    const want = greedyByFullForward(p, 6);
    assert.deepEqual(batched.tokens[i], want, `prompt ${i}`);
    assert.deepEqual(generate(model, [p], { maxNewTokens: 6, temperature: 0 }).tokens[0], want);
  });
});

test('logprobs: false gives the same tokens and no log-probs, greedy or sampled', () => {
  const prompts = [[5, 17, 300, 2], [9]];
  for (const temperature of [0, 0.8]) {
    const full = generate(model, prompts, { maxNewTokens: 5, temperature, seed: 3 });
    const bare = generate(model, prompts, { maxNewTokens: 5, temperature, seed: 3, logprobs: false });
    assert.deepEqual(bare.tokens, full.tokens, `temperature ${temperature}`);
    assert.deepEqual(bare.logprobs, [[], []]);
    assert.ok(full.logprobs.every((row) => row.length === 5 && row.every(Number.isFinite)));
  }
});

test('recorded log-probs equal the log-softmax of the model at temperature', () => {
  const prompt = [3, 4, 5];
  const res = generate(model, [prompt], { maxNewTokens: 4, temperature: 0.7, seed: 3 });
  const seq = [...prompt, ...res.tokens[0]];
  const logits = noGrad(() => model.forward(Tensor.ids(seq, [1, seq.length])).logits!);
  const lp = F.logSoftmax(F.mul(logits, 1 / 0.7));
  const V = model.config.vocabSize;
  res.tokens[0].forEach((t, i) => {
    const want = lp.data[(prompt.length - 1 + i) * V + t];
    assert.ok(Math.abs(res.logprobs[0][i] - want) < 1e-4, `token ${i}: ${res.logprobs[0][i]} vs ${want}`);
  });
});

test('sampling is reproducible for a seed and stop tokens end a sequence', () => {
  const a = generate(model, [[1, 2, 3]], { maxNewTokens: 8, temperature: 1, seed: 7 });
  const b = generate(model, [[1, 2, 3]], { maxNewTokens: 8, temperature: 1, seed: 7 });
  assert.deepEqual(a.tokens, b.tokens);
  const stop = a.tokens[0][2];
  const c = generate(model, [[1, 2, 3]], { maxNewTokens: 8, temperature: 1, seed: 7, stopTokens: [stop] });
  const firstStop = a.tokens[0].indexOf(stop);
  assert.deepEqual(c.tokens[0], a.tokens[0].slice(0, firstStop + 1));
  assert.equal(c.finishReason[0], 'stop');
  assert.throws(() => generate(model, [[1, 99999]], { maxNewTokens: 1 }), /outside the vocabulary/);
});

test('top-k and top-p restrict the candidates', () => {
  const logits = Float32Array.from([0, 1, 2, 3, 4]);
  const rng = new Rng(1);
  for (let i = 0; i < 200; i++) {
    assert.ok(sampleToken(logits, { topK: 2 }, rng).token >= 3);
    // p(4) = 0.636 < 0.7 so {4, 3} is the nucleus
    assert.ok(sampleToken(logits, { topP: 0.7 }, rng).token >= 3);
  }
  assert.equal(sampleToken(logits, { temperature: 0 }, rng).token, 4);
});

test('vocabLimit: ids at or above the limit are never sampled (a padded embedding)', () => {
  const wild = new GlmForCausalLM({ ...loadPreset('tiny'), initializerRange: 2 }, { seed: 3 }).eval();
  const limit = 10;
  const res = generate(wild, [[2, 3], [4]], { maxNewTokens: 40, temperature: 1.5, vocabLimit: limit, seed: 1 });
  for (const row of res.tokens) for (const t of row) assert.ok(t < limit, `sampled id ${t}`);
  const free = generate(wild, [[2, 3], [4]], { maxNewTokens: 40, temperature: 1.5, seed: 1 });
  assert.ok(free.tokens.flat().some((t) => t >= limit), 'without a limit the other ids are reachable');
  assert.throws(() => generate(wild, [[2]], { maxNewTokens: 1, vocabLimit: 0 }), /vocabLimit must be an integer >= 1/);
});
