// generateFromSharedPrefix: one prefill of the prefix (batch 1), its keys and values broadcast into the
// decode rows, gives exactly the tokens of generate() over n copies of the prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import type { Tensor } from '../tensor/tensor.js';
import { generate, generateFromSharedPrefix } from './generate.js';

const model = new GlmForCausalLM({ ...loadPreset('tiny'), initializerRange: 0.2 }, { seed: 5 }).eval();

/** Shapes [B, T] of every backbone forward run inside fn. */
function forwardShapes(fn: () => void): number[][] {
  const inner = model.model;
  const original = inner.forward.bind(inner);
  const shapes: number[][] = [];
  inner.forward = ((ids: Tensor, opts?: Parameters<typeof original>[1]) => {
    shapes.push([...ids.shape]);
    return original(ids, opts);
  }) as typeof inner.forward;
  try {
    fn();
  } finally {
    inner.forward = original;
  }
  return shapes;
}

test('shared-prefix voters: the tokens, log-probs and finish reasons of generate() over n copies, prefix prefilled once', () => {
  const prefix = [11, 250, 37, 8, 402, 19, 77];
  const n = 6;
  // a quarter of the vocabulary stops a row, so rows end at different steps (done rows decode as padding until they leave the batch)
  const stopTokens = Array.from({ length: Math.floor(model.config.vocabSize / 4) }, (_, i) => i * 4);
  const opts = { maxNewTokens: 10, temperature: 1, topP: 0.9, seed: 13, stopTokens, padId: 1 };
  let plain!: ReturnType<typeof generate>, shared!: ReturnType<typeof generate>;
  const plainShapes = forwardShapes(() => (plain = generate(model, Array.from({ length: n }, () => prefix), opts)));
  const sharedShapes = forwardShapes(() => (shared = generateFromSharedPrefix(model, prefix, n, opts)));
  assert.deepEqual(shared.tokens, plain.tokens);
  assert.deepEqual(shared.finishReason, plain.finishReason);
  assert.ok(new Set(shared.tokens.map((t) => t.length)).size > 1, 'rows of different lengths');
  assert.ok(shared.tokens.every((t) => t.length > 0));
  shared.logprobs.forEach((row, b) => row.forEach((lp, i) => assert.ok(Math.abs(lp - plain.logprobs[b][i]) < 1e-4, `row ${b} step ${i}: ${lp} vs ${plain.logprobs[b][i]}`)));
  // rows differ from one another (each row samples its own continuation)
  assert.ok(new Set(shared.tokens.map((t) => t.join())).size > 1);
  // the prefix is prefilled once, at batch 1; every later forward is one decode step of the rows still
  // going (finished rows leave the batch once a quarter of it has stopped), the same steps as generate()'s
  assert.deepEqual(sharedShapes[0], [1, prefix.length]);
  const decodeRows = sharedShapes.slice(1).map((s) => s[0]);
  assert.ok(sharedShapes.slice(1).every((s) => s[1] === 1));
  assert.equal(decodeRows[0], n);
  assert.ok(decodeRows.every((r, i) => r >= 1 && (i === 0 || r <= decodeRows[i - 1])), JSON.stringify(decodeRows));
  assert.ok(decodeRows.at(-1)! < n, `finished rows leave the batch: ${JSON.stringify(decodeRows)}`);
  assert.deepEqual(plainShapes[0], [n, prefix.length]);
  assert.deepEqual(plainShapes.slice(1), sharedShapes.slice(1));
});

test('shared-prefix greedy decoding: every row equals generate() of the prefix alone', () => {
  const prefix = [3, 4, 5, 6];
  const one = generate(model, [prefix], { maxNewTokens: 5, temperature: 0 });
  const shared = generateFromSharedPrefix(model, prefix, 3, { maxNewTokens: 5, temperature: 0 });
  for (const t of shared.tokens) assert.deepEqual(t, one.tokens[0]);
});

test('shared-prefix edge cases: zero rows, zero tokens, bad prefixes and routing refused', () => {
  assert.deepEqual(generateFromSharedPrefix(model, [1, 2], 0, { maxNewTokens: 3 }).tokens, []);
  assert.deepEqual(generateFromSharedPrefix(model, [1, 2], 2, { maxNewTokens: 0 }).tokens, [[], []]);
  assert.throws(() => generateFromSharedPrefix(model, [], 2, { maxNewTokens: 3 }), /prompt 0 is empty/);
  assert.throws(() => generateFromSharedPrefix(model, [model.config.vocabSize], 2, { maxNewTokens: 3 }), /outside the vocabulary/);
  assert.throws(() => generateFromSharedPrefix(model, [1], 2, { maxNewTokens: 3, recordRouting: true }), /recordRouting/);
  assert.throws(() => generateFromSharedPrefix(model, [1], -1, { maxNewTokens: 3 }), /number of sequences/);
});

test('KVCache.broadcastFrom refuses a filled target and a mismatched source', () => {
  const src = model.createCache(1, 4);
  const dst = model.createCache(2, 8);
  dst.advance(1, null);
  assert.throws(() => dst.broadcastFrom(src), /already holds 1 slots/);
  const other = new GlmForCausalLM({ ...loadPreset('tiny'), numHiddenLayers: 1 }, { seed: 1 }).createCache(1, 4);
  assert.throws(() => model.createCache(2, 8).broadcastFrom(other), /layers/);
});
