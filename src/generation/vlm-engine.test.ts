// VisionEngine: step-wise serving of the vision model gives each request the tokens
// generateWithImages gives it (greedy), across batches; cancellation, max_tokens 0, and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent, EngineRequest } from './engine.js';
import { GenerationEngine } from './engine.js';
import { generateWithImages } from './vlm-generate.js';
import { VisionEngine } from './vlm-engine.js';
import { image, imagePrompt, LIMIT, model, prompts } from './vlm-test-fixtures.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { loadPreset } from '../models/glm/config.js';

function runAll(engine: VisionEngine, reqs: EngineRequest[], cancelAfter?: { id: number; steps: number }): Map<number, { tokens: number[]; logprobs: number[]; reason: string }> {
  for (const r of reqs) engine.submit(r);
  const out = new Map(reqs.map((r) => [r.id, { tokens: [] as number[], logprobs: [] as number[], reason: '' }]));
  let steps = 0;
  while (!engine.idle) {
    if (cancelAfter && ++steps === cancelAfter.steps) engine.cancel(cancelAfter.id);
    for (const e of engine.step() as EngineEvent[]) {
      const o = out.get(e.id)!;
      if (e.type === 'token') {
        o.tokens.push(e.token);
        o.logprobs.push(e.logprob);
      } else if (e.type === 'done') o.reason = e.finishReason;
    }
  }
  return out;
}

test('greedy requests through the engine (two batches with maxSlots 2) get generateWithImages tokens', () => {
  const m = model(3);
  const ps = prompts(m.config);
  const maxTokens = [6, 3, 5];
  const reqs: EngineRequest[] = ps.map((p, i) => ({ id: i + 1, prompt: p.ids, images: p.images, maxTokens: maxTokens[i], temperature: 0 }));
  const engine = new VisionEngine(m, { maxSlots: 2, vocabLimit: LIMIT, padId: 0 });
  const got = runAll(engine, reqs);
  ps.forEach((p, i) => {
    const want = generateWithImages(m, [p], { maxNewTokens: maxTokens[i], temperature: 0, vocabLimit: LIMIT });
    assert.deepEqual(got.get(i + 1)!.tokens, want.tokens[0], `request ${i + 1}`);
    got.get(i + 1)!.logprobs.forEach((lp, k) => assert.ok(Math.abs(lp - want.logprobs[0][k]) < 1e-4));
    assert.equal(got.get(i + 1)!.reason, 'length');
  });
});

test('a stop token ends one row; cancel stops a running request; max_tokens 0 finishes at once', () => {
  const m = model(3);
  const ps = prompts(m.config);
  const first = generateWithImages(m, [ps[0]], { maxNewTokens: 6, temperature: 0, vocabLimit: LIMIT }).tokens[0];
  const engine = new VisionEngine(m, { maxSlots: 4, vocabLimit: LIMIT });
  const got = runAll(engine, [
    { id: 1, prompt: ps[0].ids, images: ps[0].images, maxTokens: 6, temperature: 0, stopTokens: [first[1]] },
    { id: 2, prompt: ps[1].ids, images: ps[1].images, maxTokens: 20, temperature: 0 },
    { id: 3, prompt: ps[2].ids, maxTokens: 0, temperature: 0 },
  ], { id: 2, steps: 4 });
  assert.deepEqual(got.get(1)!.tokens, first.slice(0, first.indexOf(first[1]) + 1));
  assert.equal(got.get(1)!.reason, 'stop');
  assert.equal(got.get(2)!.reason, 'cancelled');
  assert.ok(got.get(2)!.tokens.length >= 2 && got.get(2)!.tokens.length < 20);
  assert.deepEqual(got.get(3)!, { tokens: [], logprobs: [], reason: 'length' });
});

test('refusals: placeholders without images, prompt log-probs, and images sent to the text engine', () => {
  const m = model(3);
  const engine = new VisionEngine(m);
  assert.throws(() => engine.submit({ id: 1, prompt: imagePrompt(m.config, [1], 2, [2]), maxTokens: 2 }), /holds 2 <\|image\|> token\(s\)/);
  assert.throws(() => engine.submit({ id: 2, prompt: [1, 2], maxTokens: 2, promptLogprobs: true }), /prompt log-probs .* not supported for vision-language models/);
  const text = new GenerationEngine(new GlmForCausalLM(loadPreset('tiny')));
  assert.throws(() => text.submit({ id: 3, prompt: [1, 2], maxTokens: 2, images: [image([1, 2, 4], 1)] }), /text-only model; it cannot read the request's 1 image/);
});

test('a batch is admitted only while its longest prompt plus most new tokens fits the slot capacity', () => {
  const m = model(3);
  const ps = prompts(m.config);
  const engine = new VisionEngine(m, { maxSlots: 4, slotCapacity: 40, vocabLimit: LIMIT });
  // prompt 0 has 13 tokens: 13 + 25 fits; adding prompt 2 (3 tokens, 30 new) would need 13 + 30 > 40
  engine.submit({ id: 1, prompt: ps[0].ids, images: ps[0].images, maxTokens: 25, temperature: 0 });
  engine.submit({ id: 2, prompt: ps[2].ids, maxTokens: 30, temperature: 0 });
  const tokens = new Map<number, number[]>([[1, []], [2, []]]);
  const collect = (events: EngineEvent[]) => {
    for (const e of events) if (e.type === 'token') tokens.get(e.id)!.push(e.token);
  };
  collect(engine.step());
  assert.deepEqual([engine.active, engine.queued], [1, 1]);
  while (!engine.idle) collect(engine.step());
  const want = (i: number, n: number) => generateWithImages(m, [ps[i]], { maxNewTokens: n, temperature: 0, vocabLimit: LIMIT }).tokens[0];
  assert.deepEqual(tokens.get(1), want(0, 25));
  assert.deepEqual(tokens.get(2), want(2, 30));
});
