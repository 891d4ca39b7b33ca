// bench generate --mtp-model: the plain-vs-speculative row on a saved tiny-moe model (random weights,
// so the accept rate is whatever it is; the row's fields and the identical greedy output are checked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorldTask } from '../data/world/index.js';
import { UsageError } from '../errors.js';
import { saveModel } from '../models/glm/checkpoint.js';
import { initModelForTokenizer } from '../models/glm/init-model.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { saveTokenizer } from '../tokenizer/tokenizer-json.js';
import { benchGenerate } from './generate.js';

const texts = (generateWorldTask('pretrain', { n: 200, seed: 3 }) as { text: string }[]).map((d) => d.text);
const tok = trainBpeFromTexts(texts, { vocabSize: 512 });

function saved(preset: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-bench-mtp-'));
  saveModel(dir, initModelForTokenizer(preset, tok, 0));
  saveTokenizer(tok, dir);
  return dir;
}

test('bench generate --mtp-model: one row, plain and speculative rates, accept rate, identical greedy output', async () => {
  const dir = saved('tiny-moe');
  try {
    const lines: string[] = [];
    const rows = await benchGenerate({ mtpModel: dir, tokens: 6, quick: true, json: true, noLlama: true, voters: 0 }, (l) => lines.push(l));
    assert.equal(rows.length, 1, 'only the MTP row without --presets');
    const r = rows[0];
    assert.equal(r.bench, 'generate-mtp');
    assert.equal(r.prompts, 2);
    for (const k of ['plain_tokens_per_s', 'speculative_tokens_per_s', 'speedup', 'mtp_cost_share']) assert.ok(typeof r[k] === 'number' && Number.isFinite(r[k]) && r[k] > 0, `${k} of ${JSON.stringify(r)}`);
    assert.ok(typeof r.accept_rate === 'number' && r.accept_rate >= 0 && r.accept_rate <= 1);
    assert.equal(r.identical, true);
    assert.deepEqual(lines.map((l) => JSON.parse(l)), rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench generate --mtp-model refuses a model without an MTP layer, naming the folder', async () => {
  const dir = saved('tiny');
  try {
    await assert.rejects(benchGenerate({ mtpModel: dir, tokens: 4, quick: true, noLlama: true, voters: 0 }, () => {}), (e: unknown) => e instanceof UsageError && e.message.includes(dir) && /no MTP layer/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
