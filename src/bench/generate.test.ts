// bench generate, scaled down: glmkit and llama.cpp (node-llama-cpp, prebuilt CPU binary) decode the
// same exported weights; every row reports both rates and their ratio.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLlamaForTests } from '../util/test-skip.js';
import { benchGenerate } from './generate.js';

// llama.cpp is optional: where its prebuilt binary cannot load, this test is skipped with the reason.
const { llama, skip } = await loadLlamaForTests();
await llama?.dispose();

test('bench generate: tiny at batch 1 and 8, f32, bf16 and bf16-dot, glmkit beside llama.cpp on the GGUF export', { skip }, async () => {
  const lines: string[] = [];
  const rows = await benchGenerate({ presets: ['tiny'], tokens: 8, quick: true, json: true, dtypes: ['f32', 'bf16', 'bf16-dot'] }, (l) => lines.push(l));
  assert.deepEqual(rows.map((r) => [r.dtype, r.batch]), [['f32', 1], ['f32', 8], ['bf16', 1], ['bf16', 8], ['bf16-dot', 1], ['bf16-dot', 8]]);
  // the bf16-dot rows say which path ran (avx512_bf16, or why it was off); the others do not carry the field
  for (const r of rows) assert.equal(typeof r.bf16_dot, r.dtype === 'bf16-dot' ? 'string' : 'undefined', JSON.stringify(r));
  const mb = (d: string) => rows.find((r) => r.dtype === d)!.weight_mb as number;
  assert.ok(mb('bf16') < 0.6 * mb('f32'), `bf16 weights ${mb('bf16')} MiB vs f32 ${mb('f32')} MiB`);
  for (const r of rows) {
    for (const k of ['glmkit_tokens_per_s', 'llamacpp_tokens_per_s', 'ratio']) {
      assert.ok(typeof r[k] === 'number' && Number.isFinite(r[k]) && r[k] > 0, `${k} of ${JSON.stringify(r)}`);
    }
    assert.ok(Math.abs((r.ratio as number) - (r.glmkit_tokens_per_s as number) / (r.llamacpp_tokens_per_s as number)) < 0.05 * (r.ratio as number) + 0.01);
    assert.ok(typeof r.pair_ratio === 'number' && r.pair_ratio > 0 && r.reps === 2, `pair_ratio and reps of ${JSON.stringify(r)}`);
  }
  assert.deepEqual(lines.map((l) => JSON.parse(l)), rows);
});
