// bench generate, scaled down: glmkit and llama.cpp (node-llama-cpp, prebuilt CPU binary) decode the
// same exported weights; every row reports both rates and their ratio.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLlamaForTests } from '../util/test-skip.js';
import { benchGenerate } from './generate.js';

// llama.cpp is optional: where its prebuilt binary cannot load, this test is skipped with the reason.
const { llama, skip } = await loadLlamaForTests();
await llama?.dispose();

test('bench generate: tiny at batch 1 and 8, glmkit beside llama.cpp on the GGUF export', { skip }, async () => {
  const lines: string[] = [];
  const rows = await benchGenerate({ presets: ['tiny'], tokens: 8, quick: true, json: true }, (l) => lines.push(l));
  assert.deepEqual(rows.map((r) => r.batch), [1, 8]);
  for (const r of rows) {
    for (const k of ['glmkit_tokens_per_s', 'llamacpp_tokens_per_s', 'ratio']) {
      assert.ok(typeof r[k] === 'number' && Number.isFinite(r[k]) && r[k] > 0, `${k} of ${JSON.stringify(r)}`);
    }
    assert.ok(Math.abs((r.ratio as number) - (r.glmkit_tokens_per_s as number) / (r.llamacpp_tokens_per_s as number)) < 0.05 * (r.ratio as number) + 0.01);
  }
  assert.deepEqual(lines.map((l) => JSON.parse(l)), rows);
});
