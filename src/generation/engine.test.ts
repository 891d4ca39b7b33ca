// The continuous-batching engine: same tokens as generate() at temperature 0 for requests that
// arrive at different steps; same samples as generate() with the same seed; prompt log-probs equal
// a full forward's log-softmax; cancel frees the slot; stop tokens and token budgets end requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { generate } from './generate.js';
import { GenerationEngine, topLogprobs, type EngineEvent, type EngineRequest } from './engine.js';

const model = new GlmForCausalLM({ ...loadPreset('tiny'), initializerRange: 0.2 }, { seed: 7 }).eval();

/** Runs the engine until idle, submitting each request at its arrival step; returns events per id. */
function runEngine(engine: GenerationEngine, arrivals: { step: number; req: EngineRequest }[]): Map<number, EngineEvent[]> {
  const byId = new Map<number, EngineEvent[]>();
  for (let step = 0; step < 1000; step++) {
    for (const a of arrivals) if (a.step === step) engine.submit(a.req);
    if (engine.idle && arrivals.every((a) => a.step <= step)) break;
    for (const e of engine.step()) {
      if (!byId.has(e.id)) byId.set(e.id, []);
      byId.get(e.id)!.push(e);
    }
  }
  return byId;
}

const tokensOf = (ev: EngineEvent[]) => ev.filter((e) => e.type === 'token').map((e) => (e as { token: number }).token);
const doneOf = (ev: EngineEvent[]) => ev.find((e) => e.type === 'done') as Extract<EngineEvent, { type: 'done' }>;

test('requests joining a running batch get the tokens generate() gives at temperature 0', () => {
  const prompts = [[5, 17, 300, 2], [9], [44, 45, 46, 47, 48, 49, 50, 51], [700, 3], [12, 13, 14]];
  const budgets = [12, 7, 10, 3, 9];
  const engine = new GenerationEngine(model, { maxSlots: 3, slotCapacity: 64 });
  const arrivals = prompts.map((p, i) => ({ step: [0, 0, 2, 3, 5][i], req: { id: i, prompt: p, maxTokens: budgets[i], temperature: 0 } }));
  const out = runEngine(engine, arrivals);
  prompts.forEach((p, i) => {
    const want = generate(model, [p], { maxNewTokens: budgets[i], temperature: 0 });
    assert.deepEqual(tokensOf(out.get(i)!), want.tokens[0], `request ${i}`);
    const lps = out.get(i)!.filter((e) => e.type === 'token').map((e) => (e as { logprob: number }).logprob);
    lps.forEach((lp, t) => assert.ok(Math.abs(lp - want.logprobs[0][t]) < 1e-4, `logprob ${i}/${t}`));
    assert.equal(doneOf(out.get(i)!).finishReason, 'length');
    assert.equal(doneOf(out.get(i)!).completionTokens, budgets[i]);
  });
  assert.ok(engine.idle);
});

test('logprobs: false gives the same tokens with NaN log-probs, greedy and sampled', () => {
  const engine = new GenerationEngine(model, { maxSlots: 2, slotCapacity: 64 });
  const p = [5, 17, 300, 2];
  for (const temperature of [0, 0.8]) {
    const req = { prompt: p, maxTokens: 8, temperature, seed: 3 };
    const out = runEngine(engine, [{ step: 0, req: { id: 1, ...req } }, { step: 0, req: { id: 2, ...req, logprobs: false } }]);
    assert.deepEqual(tokensOf(out.get(2)!), tokensOf(out.get(1)!), `temperature ${temperature}`);
    for (const e of out.get(1)!) if (e.type === 'token') assert.ok(Number.isFinite(e.logprob));
    for (const e of out.get(2)!) if (e.type === 'token') assert.ok(Number.isNaN(e.logprob));
  }
});

test('seeded sampling equals generate() with the same seed; stop tokens end a request', () => {
  const p = [3, 4, 5, 6];
  const engine = new GenerationEngine(model, { maxSlots: 2, slotCapacity: 64 });
  const out = runEngine(engine, [
    { step: 0, req: { id: 1, prompt: p, maxTokens: 10, temperature: 0.9, topP: 0.9, seed: 42 } },
    { step: 1, req: { id: 2, prompt: [8, 9], maxTokens: 10, temperature: 1.2, seed: 5 } },
  ]);
  assert.deepEqual(tokensOf(out.get(1)!), generate(model, [p], { maxNewTokens: 10, temperature: 0.9, topP: 0.9, seed: 42 }).tokens[0]);
  assert.deepEqual(tokensOf(out.get(2)!), generate(model, [[8, 9]], { maxNewTokens: 10, temperature: 1.2, seed: 5 }).tokens[0]);
  // Stop at the third greedy token: it ends the request and is reported.
  const greedy = generate(model, [p], { maxNewTokens: 5, temperature: 0 }).tokens[0];
  const stop = greedy[2];
  const cut = greedy.indexOf(stop) + 1;
  const out2 = runEngine(engine, [{ step: 0, req: { id: 3, prompt: p, maxTokens: 5, temperature: 0, stopTokens: [stop] } }]);
  assert.deepEqual(tokensOf(out2.get(3)!), greedy.slice(0, cut));
  assert.equal(doneOf(out2.get(3)!).finishReason, 'stop');
});

test('prompt log-probs equal the log-softmax of a full forward', () => {
  const p = [11, 200, 31, 4, 9];
  const engine = new GenerationEngine(model, { maxSlots: 1, slotCapacity: 32 });
  const out = runEngine(engine, [{ step: 0, req: { id: 0, prompt: p, maxTokens: 0, temperature: 0, promptLogprobs: true, topLogprobs: 2 } }]);
  const ev = out.get(0)!.find((e) => e.type === 'prompt') as Extract<EngineEvent, { type: 'prompt' }>;
  const V = model.config.vocabSize;
  const logits = noGrad(() => model.forward(Tensor.ids(p, [1, p.length])).logits!).data as Float32Array;
  assert.equal(ev.logprobs[0], null);
  for (let t = 1; t < p.length; t++) {
    const row = logits.subarray((t - 1) * V, t * V);
    let m = -Infinity, z = 0;
    for (const x of row) m = Math.max(m, x);
    for (const x of row) z += Math.exp(x - m);
    const want = row[p[t]] - m - Math.log(z);
    assert.ok(Math.abs(ev.logprobs[t]! - want) < 1e-4, `position ${t}`);
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
    assert.equal(ev.top[t][0].token, best);
    assert.ok(ev.top[t][0].logprob >= ev.top[t][1].logprob);
  }
  assert.equal(doneOf(out.get(0)!).completionTokens, 0);
});

test('cancel frees the slot for the next request; bad requests are refused', () => {
  const engine = new GenerationEngine(model, { maxSlots: 1, slotCapacity: 32 });
  engine.submit({ id: 1, prompt: [1, 2], maxTokens: 20, temperature: 0 });
  engine.submit({ id: 2, prompt: [3, 4], maxTokens: 4, temperature: 0 });
  engine.step();
  engine.step();
  assert.equal(engine.active, 1);
  assert.equal(engine.queued, 1);
  engine.cancel(1);
  const ev = engine.step();
  assert.ok(ev.some((e) => e.type === 'done' && e.id === 1 && e.finishReason === 'cancelled'));
  const rest = runEngine(engine, []);
  assert.deepEqual(tokensOf(rest.get(2) ?? []).length + ev.filter((e) => e.type === 'token' && e.id === 2).length, 4);
  assert.throws(() => engine.submit({ id: 3, prompt: [1], maxTokens: 40, temperature: 0 }), /exceeds the context/);
  assert.throws(() => engine.submit({ id: 4, prompt: [], maxTokens: 4 }), /empty/);
  assert.throws(() => engine.submit({ id: 5, prompt: [99999], maxTokens: 4 }), /outside the vocabulary/);
  assert.throws(() => engine.submit({ id: 6, prompt: [1], maxTokens: -1 }), /max_tokens/);
});

test('topLogprobs picks the k largest logits with normalised log-probs', () => {
  const row = new Float32Array([0.1, 2, -1, 2.5, 0]);
  const top = topLogprobs(row, 3);
  assert.deepEqual(top.map((t) => t.token), [3, 1, 0]);
  const z = Array.from(row).reduce((a, x) => a + Math.exp(x), 0);
  assert.ok(Math.abs(top[0].logprob - (2.5 - Math.log(z))) < 1e-6);
});

test('vocabLimit: the engine never samples ids past the tokenizer, as generate() with the same limit', () => {
  const wild = new GlmForCausalLM({ ...loadPreset('tiny'), initializerRange: 2 }, { seed: 3 }).eval();
  const limit = 10;
  const engine = new GenerationEngine(wild, { maxSlots: 2, slotCapacity: 64, vocabLimit: limit });
  const out = runEngine(engine, [{ step: 0, req: { id: 1, prompt: [2, 3], maxTokens: 30, temperature: 1.5, seed: 1, topLogprobs: 3 } }]);
  const toks = tokensOf(out.get(1)!);
  assert.ok(toks.every((t) => t < limit), `sampled ${toks}`);
  assert.deepEqual(toks, generate(wild, [[2, 3]], { maxNewTokens: 30, temperature: 1.5, seed: 1, vocabLimit: limit }).tokens[0]);
  for (const e of out.get(1)!) if (e.type === 'token') assert.ok(e.top.every((t) => t.token < limit));
  assert.throws(() => new GenerationEngine(wild, { vocabLimit: 0 }), /vocabLimit must be an integer >= 1/);
});
