// Parallel generation: rows shared out to worker threads give the tokens and finish reasons of one
// thread and its log-probs up to float rounding (a row's logits can move in the last bits with the
// shape of its batch), follow weight updates, advance the caller's rng alike, and MoE models or
// routing records stay on the calling thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { generate, type GenerateOptions } from './generate.js';
import { MIN_ROWS_PER_THREAD, parallelShares, setGenerationThreads } from './parallel-generate.js';

const model = new GlmForCausalLM({ ...loadPreset('tiny'), initializerRange: 0.2 }, { seed: 4 }).eval();
const rng = new Rng(11);
// 24 prompts of 1-12 tokens (8 rows per thread at 3 threads); stop tokens that end some rows early,
// so rows leave the batch
const prompts = Array.from({ length: 24 }, (_, i) => Array.from({ length: 1 + ((i * 5) % 12) }, () => rng.int(1000)));
const opts: GenerateOptions = { maxNewTokens: 40, temperature: 1, topP: 0.95, stopTokens: [7, 8, 9, 10, 11, 12, 13, 14], seed: 3 };

function assertClose(a: number[][], b: number[][], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((row, i) => {
    assert.equal(row.length, b[i].length, `${what}: row ${i} length`);
    row.forEach((x, j) => assert.ok(Math.abs(x - b[i][j]) <= 1e-4 * Math.max(1, Math.abs(x)), `${what}: row ${i} token ${j}: ${x} vs ${b[i][j]}`));
  });
}

function run(threads: number, o: GenerateOptions = opts) {
  setGenerationThreads(threads);
  try {
    return generate(model, prompts, o);
  } finally {
    setGenerationThreads(1);
  }
}

test('rows shared out to 2 and 3 threads give the tokens of one thread', () => {
  const one = run(1);
  assert.ok(one.finishReason.includes('stop') && one.finishReason.includes('length'), 'the test needs rows that stop early and rows that run to the budget');
  for (const w of [2, 3]) {
    const par = run(w);
    assert.deepEqual(par.tokens, one.tokens, `${w} threads: tokens`);
    assertClose(par.logprobs, one.logprobs, `${w} threads: log-probs`);
    assert.deepEqual(par.finishReason, one.finishReason, `${w} threads: finish reasons`);
  }
  const greedy = { ...opts, temperature: 0 };
  assert.deepEqual(run(2, greedy).tokens, run(1, greedy).tokens, 'greedy');
});

test('workers decode with the weights of the call, and the caller rng advances alike', () => {
  const saved = [...model.parameters()].map((p) => (p.data as Float32Array).slice());
  try {
    const before = run(2).tokens;
    for (const p of model.parameters()) for (let i = 0; i < p.size; i += 7) (p.data as Float32Array)[i] *= -1.5;
    // first tokens only: the changed model's large logits make later near-ties likely
    const first = { ...opts, maxNewTokens: 1 };
    const after1 = run(1, first), after2 = run(2, first);
    assert.notDeepEqual(after1.tokens, before.map((t) => t.slice(0, 1)), 'changing the weights changes the samples');
    assert.deepEqual(after2.tokens, after1.tokens, 'the workers got the new weights');
    assertClose(after2.logprobs, after1.logprobs, 'first-token log-probs');
  } finally {
    [...model.parameters()].forEach((p, i) => (p.data as Float32Array).set(saved[i]));
  }
  const r1 = new Rng(5), r2 = new Rng(5);
  run(1, { ...opts, seed: undefined, rng: r1 });
  run(2, { ...opts, seed: undefined, rng: r2 });
  assert.equal(r1.random(), r2.random());
});

test('one thread, MoE models and routing records decode on the calling thread', () => {
  setGenerationThreads(4);
  try {
    assert.equal(parallelShares(model, 64, opts), 4);
    assert.equal(parallelShares(model, 24, opts), 3, `at least ${MIN_ROWS_PER_THREAD} rows per thread`);
    assert.equal(parallelShares(model, 15, opts), null);
    assert.equal(parallelShares(model, 64, { ...opts, recordRouting: true }), null);
    const moe = new GlmForCausalLM({ ...loadPreset('tiny-moe'), numHiddenLayers: 2 }, { seed: 1 });
    assert.equal(parallelShares(moe, 64, opts), null);
  } finally {
    setGenerationThreads(1);
  }
  assert.equal(parallelShares(model, 64, opts), null);
  assert.throws(() => setGenerationThreads(-1), /integer >= 0/);
});
