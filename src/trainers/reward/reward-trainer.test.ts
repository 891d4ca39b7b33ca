// freeze_layers: the frozen embeddings and lower layers get no gradient and stay unchanged through
// training, and the trained parameters get the gradient they get with nothing frozen; the frozen-feature
// cache gives the same loss and gradients, computes each response once, and holds only its budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromHf } from '../../models/glm/config.js';
import { GlmForSequenceClassification } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { TokenizedPair } from '../../data/preference.js';
import type { MicroBatchResult } from '../base/trainer.js';
import { resolveConfig } from '../base/config.js';
import { ConfigError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import { tempDir } from '../../util/temp-dir.js';
import { RewardTrainer, rewardSchema } from './reward-trainer.js';
import { FrozenFeatureCache } from './frozen-cache.js';

const tok = { requireId: () => 0, vocabSize: 64 } as unknown as Tokenizer;
const hf = { model_type: 'glm4', vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, partial_rotary_factor: 0.5, max_position_embeddings: 256, attention_bias: true, tie_word_embeddings: false, initializer_range: 0.2, pad_token_id: 0, eos_token_id: 0, bos_token_id: null };

function data(): TokenizedPair[] {
  const rng = new Rng(7);
  const resp = (n: number) => ({ ids: Array.from({ length: n }, () => 1 + rng.int(63)), mask: Array.from({ length: n }, (_, t) => (t >= 2 ? 1 : 0)), length: n - 2 });
  return [9, 14, 6, 11].map((n, i) => ({ pair: { prompt: [], chosen: [], rejected: [] } as never, chosen: resp(n), rejected: resp(n - (i % 3)) }));
}

const config = (over: Record<string, unknown>) => resolveConfig(rewardSchema, { object: { model: 'x', data: 'x', out: tempDir(), per_device_train_batch_size: 4, quiet: true, save_steps: 0, ...over }, objectSource: 'test' });
const frozenName = (name: string, n: number) => name.startsWith('model.embed_tokens.') || Array.from({ length: n }, (_, i) => `model.layers.${i}.`).some((p) => name.startsWith(p));

test('freeze_layers: frozen parameters get no gradient, the others the gradient they get with nothing frozen', () => {
  const rm = new GlmForSequenceClassification(configFromHf(hf, 'test'), 1, { seed: 4 });
  const grads = (freeze: number) => {
    const trainer = new RewardTrainer(config({ freeze_layers: freeze }), rm, tok, data(), null);
    rm.zeroGrad();
    const r = (trainer as unknown as { microBatchLoss(a: number): MicroBatchResult }).microBatchLoss(1);
    r.loss.backward();
    return new Map(rm.namedParameters().map(([name, p]) => [name, p.grad ? Float32Array.from(p.grad.data) : null]));
  };
  const all = grads(0), frozen = grads(2);
  let trained = 0;
  for (const [name, g] of frozen) {
    if (frozenName(name, 2)) {
      assert.equal(g, null, `${name} is frozen: no gradient`);
      continue;
    }
    trained++;
    const ref = all.get(name)!;
    assert.ok(g && ref, `${name} has a gradient`);
    const scale = Math.max(...ref.map(Math.abs), 1e-8);
    ref.forEach((v, j) => assert.ok(Math.abs(v - g[j]) <= 1e-5 * scale, `${name}[${j}]: ${g[j]} vs ${v} unfrozen`));
  }
  assert.ok(trained >= 10, `the top layer, final norm and score head train (${trained} tensors)`);
  assert.ok([...all.values()].every((g) => g !== null), 'freeze_layers 0 trains every parameter again');
});

/** The training loop as it is, without writing model folders (the stand-in tokenizer cannot be saved). */
class NoSaveTrainer extends RewardTrainer {
  protected override writeModelFolder(): void {}
}

test('freeze_layers: training leaves the frozen parameters unchanged and moves the others', async () => {
  const rm = new GlmForSequenceClassification(configFromHf(hf, 'test'), 1, { seed: 4 });
  const before = new Map(rm.namedParameters().map(([name, p]) => [name, Float32Array.from(p.data as Float32Array)]));
  await new NoSaveTrainer(config({ freeze_layers: 1, max_steps: 3, learning_rate: 1e-2, warmup_steps: 0, weight_decay: 0.1 }), rm, tok, data(), null).train();
  for (const [name, p] of rm.namedParameters()) {
    const changed = p.data.some((v, j) => v !== before.get(name)![j]);
    assert.equal(changed, !frozenName(name, 1), `${name}: ${changed ? 'changed' : 'unchanged'}`);
  }
});

test('freeze_layers: more layers than the model has is a config error', () => {
  const rm = new GlmForSequenceClassification(configFromHf(hf, 'test'), 1, { seed: 4 });
  assert.throws(() => new RewardTrainer(config({ freeze_layers: 4 }), rm, tok, data(), null), (e: unknown) => e instanceof ConfigError && /--freeze-layers 4: the model has 3 decoder layers/.test((e as Error).message));
});

test('frozen_cache_mb: the cached frozen layers give the loss and gradients of recomputing them, each response computed once', () => {
  const rm = new GlmForSequenceClassification(configFromHf(hf, 'test'), 1, { seed: 4 });
  const pairs = data();
  const plain = new RewardTrainer(config({ freeze_layers: 2, length_groups: 2 }), rm, tok, pairs, null);
  const cached = new RewardTrainer(config({ freeze_layers: 2, length_groups: 2, frozen_cache_mb: 16 }), rm, tok, pairs, null);
  assert.equal(plain.frozenCache, null);
  const step = (t: RewardTrainer) => {
    rm.zeroGrad();
    const r = (t as unknown as { microBatchLoss(a: number): MicroBatchResult }).microBatchLoss(1);
    r.loss.backward();
    return { loss: r.lossValue, grads: rm.parameters().map((p) => (p.grad ? Float32Array.from(p.grad.data) : null)) };
  };
  for (let k = 0; k < 2; k++) {
    // the same batch (both cursors start alike): first with the cache filling, then read from it
    const a = step(plain), b = step(cached);
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss), `step ${k}: loss ${b.loss} vs ${a.loss}`);
    a.grads.forEach((g, i) => {
      assert.equal(b.grads[i] === null, g === null);
      if (!g) return;
      const scale = Math.max(...g.map(Math.abs), 1e-8);
      g.forEach((v, j) => assert.ok(Math.abs(v - b.grads[i]![j]) <= 1e-4 * scale, `step ${k}, parameter ${i}[${j}]: ${b.grads[i]![j]} vs ${v}`));
    });
  }
  const cache = cached.frozenCache!;
  assert.equal(cache.layer, 2);
  assert.deepEqual([cache.misses, cache.hits], [8, 8], 'the 8 responses computed at the first step, read at the second');
  const bytes = pairs.reduce((n, p) => n + (p.chosen.ids.length + p.rejected.ids.length) * 32 * 4, 0);
  assert.equal(cache.bytes, bytes, 'one [length, hidden] row block per response');
  const small = new FrozenFeatureCache(2, 2000);
  const t = new RewardTrainer(config({ freeze_layers: 2 }), rm, tok, pairs, null, { frozenCache: small });
  step(t);
  step(t);
  assert.ok(small.bytes <= 2000 && small.bytes > 0, `${small.bytes} bytes held`);
  assert.ok(small.misses > 8, 'responses past the budget are computed again');
  assert.throws(() => new RewardTrainer(config({ freeze_layers: 1 }), rm, tok, pairs, null, { frozenCache: small }), /holds the input of layer 2, but --freeze-layers 1 needs layer 1/);
});
