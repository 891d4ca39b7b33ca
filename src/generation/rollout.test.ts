// The rollout engine: prompts rendered with the chat template, n samples per prompt, stop tokens kept,
// and the log-probs recorded at sampling time equal the trainer's recomputation on rolloutBatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromHf } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { EOS_TOKEN } from '../tokenizer/special-tokens.js';
import { renderChat } from '../tokenizer/chat.js';
import { tokenLogprobsNoGrad } from '../trainers/rl-utils.js';
import { Rng } from '../util/rng.js';
import { generateWorldTask } from '../data/world/index.js';
import { padTokenId, renderPromptIds, rollout, rolloutBatch, rolloutLogprobGrid, rolloutMessage, stopTokenIds } from './rollout.js';

function setup() {
  const docs = (generateWorldTask('pretrain', { n: 60, seed: 1 }) as { text: string }[]).map((d) => d.text);
  const tok = trainBpeFromTexts(docs, { vocabSize: 300 });
  const cfg = configFromHf(
    { model_type: 'glm4', vocab_size: tok.vocabSize, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, partial_rotary_factor: 0.5, max_position_embeddings: 256, attention_bias: true, tie_word_embeddings: false, initializer_range: 0.3, pad_token_id: tok.requireId(EOS_TOKEN), eos_token_id: tok.requireId(EOS_TOKEN), bos_token_id: null },
    'test',
  );
  return { tok, model: new GlmForCausalLM(cfg, { seed: 5 }).eval() };
}

test('rollout: n samples per prompt, stop tokens, and sampler log-probs equal trainer log-probs', () => {
  const { tok, model } = setup();
  const prompts = [[{ role: 'user' as const, content: 'What is 2 + 3?' }], { messages: [{ role: 'user' as const, content: 'Who owns the red kite?' }], enable_thinking: true }];
  const rs = rollout(model, tok, prompts, { maxNewTokens: 12, temperature: 0.7, numSamples: 3, batchSize: 4, seed: 3 });
  assert.equal(rs.length, 6);
  assert.deepEqual(rs.map((r) => r.promptIndex), [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(rs[0].promptIds, renderChat(tok, { messages: prompts[0], enable_thinking: false, add_generation_prompt: true }).ids);
  assert.deepEqual(rs[3].promptIds, renderPromptIds(tok, prompts[1]));
  const stops = new Set(stopTokenIds(tok));
  for (const r of rs) {
    assert.equal(r.completionIds.length, r.logprobs.length);
    assert.ok(r.completionIds.length <= 12 && r.completionIds.length >= 1);
    if (r.finishReason === 'stop') assert.ok(stops.has(r.completionIds.at(-1)!));
    else assert.equal(r.completionIds.length, 12);
    assert.equal(r.text, tok.decode(r.completionIds.filter((t) => !stops.has(t))));
    assert.equal(rolloutMessage(r).role, 'assistant');
  }
  const batch = rolloutBatch(rs, padTokenId(tok));
  const lp = tokenLogprobsNoGrad(model, batch, 0.7);
  const grid = rolloutLogprobGrid(rs, batch);
  let n = 0;
  for (let i = 0; i < grid.length; i++) {
    if (batch.lossMask[i] === 0) {
      assert.equal(grid[i], 0);
      continue;
    }
    n++;
    assert.ok(Math.abs(lp.data[i] - grid[i]) < 2e-4, `position ${i}: trainer ${lp.data[i]} vs sampler ${grid[i]}`);
  }
  assert.equal(n, rs.reduce((a, r) => a + r.completionIds.length, 0));
});

test('rollout: deterministic per rng state, fresh samples as the rng advances', () => {
  const { tok, model } = setup();
  const prompts = [[{ role: 'user' as const, content: 'What is 7 - 4?' }]];
  const a = rollout(model, tok, prompts, { maxNewTokens: 10, numSamples: 2, seed: 9 });
  const b = rollout(model, tok, prompts, { maxNewTokens: 10, numSamples: 2, seed: 9 });
  assert.deepEqual(a.map((r) => r.completionIds), b.map((r) => r.completionIds));
  const rng = new Rng(9);
  const c = rollout(model, tok, prompts, { maxNewTokens: 10, numSamples: 2, rng });
  const d = rollout(model, tok, prompts, { maxNewTokens: 10, numSamples: 2, rng });
  assert.deepEqual(c.map((r) => r.completionIds), a.map((r) => r.completionIds));
  assert.notDeepEqual(d.map((r) => r.completionIds), c.map((r) => r.completionIds));
  assert.throws(() => rollout(model, tok, prompts, { maxNewTokens: 4, numSamples: 0 }), /numSamples/);
});
