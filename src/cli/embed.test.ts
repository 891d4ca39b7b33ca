// `glmkit embed` in process on a micro encoder folder: token-id lines, --dimensions, and one clear
// error for each bad input (empty input, ids outside the vocabulary, dimensions above the model's, a
// folder without pooling config).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, DataError, UsageError } from '../errors.js';
import { saveModel } from '../models/glm/checkpoint.js';
import { saveTokenizer } from '../tokenizer/tokenizer-json.js';
import { saveEncoder } from '../embed/st-layout.js';
import { microEncoder } from '../embed/test-fixtures.js';
import { tempDir } from '../util/temp-dir.js';
import { embedCommand } from './embed.js';

const work = tempDir('glmkit-embed-cli-');
const enc = microEncoder({ normalize: true });
const dir = join(work, 'enc');
saveEncoder(dir, enc);
const V = enc.lm.config.vocabSize;

async function run(args: string[]): Promise<{ index: number; embedding: number[] }[]> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try {
    assert.equal(await embedCommand(['--model', dir, ...args]), 0);
  } finally {
    process.stdout.write = write;
  }
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

function file(name: string, lines: string[]): string {
  const f = join(work, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

test('embed --file takes texts and token-id lines; --dimensions truncates and re-normalises', async () => {
  const ids = enc.tokenize('the red fox');
  const rows = await run(['--file', file('in.jsonl', [JSON.stringify({ text: 'the red fox' }), JSON.stringify({ ids })])]);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[1].embedding, rows[0].embedding);
  const [small] = await run(['--text', 'the red fox', '--dimensions', '4']);
  assert.equal(small.embedding.length, 4);
  const n = Math.hypot(...rows[0].embedding.slice(0, 4));
  small.embedding.forEach((x, d) => assert.ok(Math.abs(x - rows[0].embedding[d] / n) < 1e-6));
});

test('embed bad input: one clear error each', async () => {
  await assert.rejects(embedCommand(['--model', dir, '--file', file('empty.jsonl', [''])]), (e: unknown) => e instanceof DataError && /empty\.jsonl: the file holds no records/.test(e.message));
  await assert.rejects(embedCommand(['--model', dir, '--text', '  ']), (e: unknown) => e instanceof UsageError && /--text is empty/.test(e.message));
  await assert.rejects(embedCommand(['--model', dir, '--file', file('blank.jsonl', ['{"text": "a"}', '{"text": ""}'])]), /blank\.jsonl:2: text: expected a non-empty text/);
  await assert.rejects(embedCommand(['--model', dir, '--file', file('oov.jsonl', [JSON.stringify({ ids: [1, V] })])]), (e: unknown) => e instanceof DataError && new RegExp(`oov\\.jsonl:1: ids: entry 1 is ${V}, not a token id of the encoder's vocabulary \\[0, ${V}\\)`).test(e.message));
  await assert.rejects(embedCommand(['--model', dir, '--file', file('neg.jsonl', [JSON.stringify({ ids: [-1] })])]), /neg\.jsonl:1: ids: entry 0 is -1/);
  await assert.rejects(embedCommand(['--model', dir, '--file', file('noids.jsonl', [JSON.stringify({ ids: [] })])]), /noids\.jsonl:1: ids: expected a non-empty array/);
  await assert.rejects(embedCommand(['--model', dir, '--text', 'hi', '--dimensions', '17']), (e: unknown) => e instanceof UsageError && /--dimensions is 17, larger than this encoder's 16/.test(e.message));
  // a plain model folder (no modules.json, so no pooling config)
  const plain = join(work, 'plain');
  mkdirSync(plain, { recursive: true });
  saveModel(plain, enc.lm);
  saveTokenizer(enc.tokenizer, plain);
  await assert.rejects(embedCommand(['--model', plain, '--text', 'hi']), (e: unknown) => e instanceof CheckpointError && /no modules\.json, so no pooling config/.test(e.message));
});
