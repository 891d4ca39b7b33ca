// bench generate's SEQA-style row, scaled down: voters/s of the shared-prefix path beside the
// prefix-per-row path and the plain forward, with consistent figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { benchVoters } from './voters.js';

test('benchVoters: voters/s, voter tokens/s and the plain forward tokens/s of one tiny model', () => {
  const model = new GlmForCausalLM(loadPreset('tiny'), { seed: 0 }).eval();
  const r = benchVoters(model, { voters: 4, voterTokens: 3, prefixTokens: 5, reps: 1 });
  assert.deepEqual([r.voters, r.voter_tokens, r.prefix_tokens, r.reps], [4, 3, 5, 1]);
  for (const k of ['voters_per_s', 'voters_per_s_unshared', 'voter_tokens_per_s', 'forward_tokens_per_s', 'shared_ms_median', 'unshared_ms_median'] as const) {
    assert.ok(Number.isFinite(r[k]) && r[k] > 0, `${k} = ${r[k]}`);
  }
  // the rates follow from the medians: N / t and N * K / t
  assert.ok(Math.abs(r.voters_per_s - 4 / (r.shared_ms_median / 1000)) <= 0.02 * r.voters_per_s + 0.1);
  assert.ok(Math.abs(r.voters_per_s_unshared - 4 / (r.unshared_ms_median / 1000)) <= 0.02 * r.voters_per_s_unshared + 0.1);
  assert.ok(Math.abs(r.voter_tokens_per_s - 3 * r.voters_per_s) <= 0.02 * r.voter_tokens_per_s + 1);
});
