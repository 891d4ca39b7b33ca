import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alignmentSetup, type AlignmentSettings } from './alignment-arms.js';
import type { ExperimentContext } from '../types.js';

test('alignmentSetup refuses more than one seed before it builds or reads a base', async () => {
  let baseAsked = false;
  const ctx = { out: '/nonexistent', quick: true, seeds: [0, 1], log: () => {}, base: async () => { baseAsked = true; throw new Error('no base here'); }, arm: async () => { throw new Error('no arms'); } } as unknown as ExperimentContext;
  const S = { train_prompts: 8, validation_prompts: 3, test_prompts: 4, samples_per_prompt: 1, num_candidates: 4, max_new_tokens: 12, max_seq_length: 384, prompt_seed: 710, resamples: 100, seeds: [0, 1] } as AlignmentSettings;
  await assert.rejects(alignmentSetup(ctx, S), /one seed; got --seeds 0,1: run it once per seed/);
  assert.equal(baseAsked, false);
  // one seed goes on to the base
  await assert.rejects(alignmentSetup(ctx, { ...S, seeds: [3] }), /no base here/);
  assert.equal(baseAsked, true);
});
