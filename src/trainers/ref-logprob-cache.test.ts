// --ref-logprob-cache: a rerun reuses the reference log-probs (no reference forward, identical
// metrics); a changed reference model or dataset gets a new fingerprint and recomputes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { generateWorldTask } from '../data/world/index.js';
import type { TokenizedPair, TokenizedResponse } from '../data/preference.js';
import { tempDir } from '../util/temp-dir.js';
import { resolveConfig } from './base/config.js';
import { readMetrics } from './base/metrics.js';
import { DpoTrainer, dpoSchema } from './dpo/dpo-trainer.js';
import { ExoTrainer, exoSchema, type CandidateGroup } from './exo/exo-trainer.js';
import { datasetFingerprint, modelFingerprint } from './ref-logprob-cache.js';

const tok = trainBpeFromTexts((generateWorldTask('pretrain', { n: 20, seed: 1 }) as { text: string }[]).map((d) => d.text), { vocabSize: 283 });
const cfg = { ...loadPreset('tiny'), vocabSize: tok.vocabSize, numHiddenLayers: 1, initializerRange: 0.1, padTokenId: null, eosTokenId: null };
const model = (seed: number) => new GlmForCausalLM(cfg, { seed });
const resp = (base: number, n: number): TokenizedResponse => ({ ids: Array.from({ length: 4 + n }, (_, i) => 5 + ((base * 7 + i * 3) % 200)), mask: Array.from({ length: 4 + n }, (_, i) => (i >= 4 ? 1 : 0)), length: n });
const pairs = (shift: number): TokenizedPair[] => Array.from({ length: 6 }, (_, i) => ({ pair: { prompt: [], chosen: [], rejected: [] } as unknown as TokenizedPair['pair'], chosen: resp(i + shift, 3), rejected: resp(i + 50 + shift, 4) }));

async function dpo(cache: string, ref: GlmForCausalLM, data: TokenizedPair[]) {
  const out = tempDir('glmkit-refcache-');
  const c = resolveConfig(dpoSchema, { object: { model: 'unused', data: 'unused', out, max_steps: 2, per_device_train_batch_size: 3, quiet: true, ref_logprob_cache: cache } });
  const t = new DpoTrainer(c, model(1), ref, tok, data, null);
  await t.train();
  return { forwards: t.reference.forwards, metrics: readMetrics(join(out, 'metrics.jsonl')).map(({ tokens_per_s: _t, ...m }) => m) };
}

test('fingerprints: a model or a dataset that differs in one value differs', () => {
  const a = model(3), b = model(3);
  assert.equal(modelFingerprint(a), modelFingerprint(b));
  b.stateDict().values().next().value!.data[0] += 1e-6;
  assert.notEqual(modelFingerprint(a), modelFingerprint(b));
  const d = pairs(0).flatMap((p) => [p.chosen, p.rejected]);
  assert.equal(datasetFingerprint(d), datasetFingerprint(pairs(0).flatMap((p) => [p.chosen, p.rejected])));
  const e = d.map((s) => ({ ...s, mask: s.mask.slice() }));
  e[3].mask[4] = 0;
  assert.notEqual(datasetFingerprint(d), datasetFingerprint(e));
});

test('DPO: a rerun reads the cached reference log-probs; a new reference or dataset recomputes', async () => {
  const cache = tempDir('glmkit-refcache-');
  const first = await dpo(cache, model(2), pairs(0));
  assert.equal(first.forwards, 2);
  const files = readdirSync(cache);
  assert.equal(files.length, 1);
  assert.equal(readFileSync(join(cache, files[0]), 'utf8').trim().split('\n').length, 1 + 12, 'a header and 6 x 2 sequences');
  const again = await dpo(cache, model(2), pairs(0));
  assert.equal(again.forwards, 0, 'no reference forward on a rerun');
  assert.deepEqual(again.metrics, first.metrics);
  // another reference model: its own file, recomputed
  const otherRef = await dpo(cache, model(9), pairs(0));
  assert.equal(otherRef.forwards, 2);
  assert.notDeepEqual(otherRef.metrics[0]['rewards/margins'], first.metrics[0]['rewards/margins']);
  // another dataset: recomputed
  assert.equal((await dpo(cache, model(2), pairs(1))).forwards, 2);
  assert.equal(readdirSync(cache).length, 3);
});

test('EXO: the candidates and the temperature are part of the fingerprint', async () => {
  const cache = tempDir('glmkit-refcache-');
  const groups = (shift: number): CandidateGroup[] => Array.from({ length: 4 }, (_, i) => ({ seqs: [resp(i + shift, 3), resp(i + 20 + shift, 2)], logTargets: [0, -1], rewards: [1, 0], prompt: [{ role: 'user', content: 'q' }] }));
  const run = async (g: CandidateGroup[], temperature: number) => {
    const c = resolveConfig(exoSchema, { object: { model: 'unused', data: 'unused', out: tempDir('glmkit-refcache-'), max_steps: 2, per_device_train_batch_size: 2, quiet: true, ref_logprob_cache: cache, temperature } });
    const t = new ExoTrainer(c, model(1), model(2), tok, g);
    await t.train();
    return t.reference.forwards;
  };
  assert.equal(await run(groups(0), 1), 2);
  assert.equal(await run(groups(0), 1), 0);
  assert.equal(await run(groups(0), 0.8), 2);
  assert.equal(await run(groups(5), 1), 2);
});
