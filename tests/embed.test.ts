// Sentence embeddings end to end: `glmkit embed train` on world triples from a micro GLM, the
// encoder folder's sentence-transformers layout, `glmkit embed`, and `glmkit serve --embedding-model`
// driven by the official `openai` client: the three give the same vectors as a plain mean-pool of
// the model's hidden states, and bad input gets OpenAI-shaped 400s / one CLI line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { CHOICE_SYNONYMS, generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { loadCausalLM } from '../src/models/glm/checkpoint.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { noGrad } from '../src/tensor/autograd.js';
import { Tensor } from '../src/tensor/tensor.js';
import { makeFixture } from './fixtures.js';
import { assertFiniteIn, runCli, tempDir } from './helpers.js';
import { startServer } from './serve-process.js';

const work = tempDir('glmkit-embed-');
let chatModel = '';
let encoder = '';
let proc: ChildProcess | undefined;
let client: OpenAI;
const TEXTS = ['Ann helped Bo at the market.', 'At the port, the doctor was greeted by Cy.', 'rain'];

before(async () => {
  const fx = await makeFixture(work, { docs: 60, chats: 4 });
  chatModel = fx.model;
  const pairs = join(work, 'pairs.jsonl'), sts = join(work, 'sts.jsonl');
  await writeJsonl(pairs, generateWorldTask('pairs', { n: 48, seed: 1, split: 'train' }));
  await writeJsonl(sts, generateWorldTask('sts', { n: 30, seed: 2, split: 'test' }));
  const r = runCli(['embed', 'train', '--model', fx.model, '--data', pairs, '--eval-data', sts, '--out', join(work, 'enc'), '--max-steps', '3', '--per-device-train-batch-size', '8', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assertFiniteIn(out.loss, 'loss', 0);
  assertFiniteIn(out.eval.eval_spearman, 'eval_spearman', -1, 1);
  encoder = out.final;
  ({ proc } = await startServer(chatModel, ['--embedding-model', encoder, '--embedding-model-name', 'enc', '--model-name', 'chat']).then((s) => {
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'none', maxRetries: 0 });
    return s;
  }));
});

after(() => {
  proc?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

/** Mean of the final hidden states over each text's tokens (the whole text bidirectional), L2-normalised. */
function plainMeanPool(dir: string, texts: string[]): number[][] {
  const lm = loadCausalLM(dir), tok = loadTokenizer(dir);
  const H = lm.config.hiddenSize;
  return texts.map((t) => {
    const ids = tok.encode(t);
    const h = noGrad(() => lm.model.forward(Tensor.ids(ids, [1, ids.length]), { prefixLen: Int32Array.of(ids.length) }).hidden.data);
    const v = new Array<number>(H).fill(0);
    for (let p = 0; p < ids.length; p++) for (let d = 0; d < H; d++) v[d] += h[p * H + d] / ids.length;
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
}

test('embed train writes an encoder folder in sentence-transformers\' layout', () => {
  const modules = JSON.parse(readFileSync(join(encoder, 'modules.json'), 'utf8')) as { path: string; type: string }[];
  assert.deepEqual(modules.map((m) => m.type.split('.').at(-1)), ['Transformer', 'Pooling', 'Normalize']);
  const pool = JSON.parse(readFileSync(join(encoder, modules[1].path, 'config.json'), 'utf8'));
  assert.equal(pool.pooling_mode_mean_tokens, true);
  assert.equal(pool.word_embedding_dimension, 32);
  assert.ok(existsSync(join(encoder, 'sentence_bert_config.json')));
  assert.ok(existsSync(join(encoder, 'model.safetensors')));
  const metrics = readFileSync(join(encoder, '..', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics.filter((m) => 'loss' in m).length, 3);
});

test('glmkit embed, /v1/embeddings (openai client) and a plain mean-pool give the same vectors', async () => {
  const file = join(work, 'texts.jsonl');
  writeFileSync(file, TEXTS.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
  const r = runCli(['embed', '--model', encoder, '--file', file]);
  assert.equal(r.code, 0, r.stderr);
  const cli = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { index: number; embedding: number[] });
  assert.deepEqual(cli.map((x) => x.index), [0, 1, 2]);
  const one = runCli(['embed', '--model', encoder, '--text', TEXTS[1]]);
  assert.equal(one.code, 0, one.stderr);
  const res = await client.embeddings.create({ model: 'enc', input: TEXTS, encoding_format: 'float' });
  assert.equal(res.object, 'list');
  assert.equal(res.model, 'enc');
  const srv = res.data.map((d) => d.embedding);
  const plain = plainMeanPool(encoder, TEXTS);
  const tok = loadTokenizer(encoder);
  assert.equal(res.usage.prompt_tokens, TEXTS.reduce((s, t) => s + tok.encode(t).length, 0));
  for (let i = 0; i < TEXTS.length; i++) {
    assert.equal(srv[i].length, 32);
    assert.deepEqual(srv[i], cli[i].embedding, `text ${i}: server vs CLI`);
    srv[i].forEach((x, d) => assert.ok(Math.abs(x - plain[i][d]) < 1e-5, `text ${i} dim ${d}: ${x} vs plain ${plain[i][d]}`));
  }
  // one text alone gives the vector it has in a padded batch
  JSON.parse(one.stdout).embedding.forEach((x: number, d: number) => assert.ok(Math.abs(x - cli[1].embedding[d]) < 1e-5));
  // token arrays, base64 and dimensions
  const ids = tok.encode(TEXTS[0]);
  const byIds = await client.embeddings.create({ model: 'enc', input: [ids] });
  assert.deepEqual(byIds.data[0].embedding, srv[0]);
  const b64 = await fetch(`${client.baseURL}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'enc', input: TEXTS[0], encoding_format: 'base64' }) });
  const buf = Buffer.from(((await b64.json()) as { data: { embedding: string }[] }).data[0].embedding, 'base64');
  assert.deepEqual(Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4)), srv[0]);
  const small = await client.embeddings.create({ model: 'enc', input: TEXTS[0], dimensions: 8 });
  const head = srv[0].slice(0, 8), n = Math.hypot(...head);
  small.data[0].embedding.forEach((x, d) => assert.ok(Math.abs(x - head[d] / n) < 1e-6));
  assert.ok(Math.abs(Math.hypot(...small.data[0].embedding) - 1) < 1e-5);
});

test('/v1/models lists the chat and the embedding model', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['chat', 'enc']);
});

test('bad embedding requests are OpenAI-shaped 400s (404 for an unknown model)', async () => {
  const cases: [Record<string, unknown>, number, string][] = [
    [{ model: 'enc', input: [] }, 400, 'empty_input'],
    [{ model: 'enc', input: '' }, 400, 'empty_input'],
    [{ model: 'enc', input: [[1, 2, 99999]] }, 400, 'invalid_token_id'],
    [{ model: 'enc', input: [[1, -1]] }, 400, 'invalid_token_id'],
    [{ model: 'enc', input: 'hi', dimensions: 33 }, 400, 'invalid_value'],
    [{ model: 'enc', input: 'hi', encoding_format: 'int8' }, 400, 'invalid_value'],
    [{ model: 'nope', input: 'hi' }, 404, 'model_not_found'],
  ];
  for (const [body, status, code] of cases) {
    await assert.rejects(client.embeddings.create(body as never), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      assert.equal(e.status, status, JSON.stringify(body));
      assert.equal((e.error as { code?: string }).code, code, JSON.stringify(body));
      return true;
    });
  }
});

test('a folder without pooling config: one clear line from glmkit embed and glmkit serve', () => {
  for (const args of [['embed', '--model', chatModel, '--text', 'hi'], ['serve', '--embedding-model', chatModel, '--port', '0']]) {
    const r = runCli(args, { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /no modules\.json, so no pooling config/);
  }
  const r = runCli(['embed', '--model', encoder]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /exactly one of --text T or --file/);
});

test('a server of only an embedding model', async () => {
  const s = await startServer(null, ['--embedding-model', encoder]);
  try {
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const models = await c.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['final']);
    const e = await c.embeddings.create({ model: 'final', input: TEXTS[0] });
    const ref = await client.embeddings.create({ model: 'enc', input: TEXTS[0] });
    assert.deepEqual(e.data[0].embedding, ref.data[0].embedding);
    await assert.rejects(c.chat.completions.create({ model: 'final', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => err instanceof OpenAI.APIError && err.status === 404);
  } finally {
    s.proc.kill('SIGTERM');
  }
});

test('glmkit seqa: SEQA and the three LM baselines on world multiple-choice questions', async () => {
  const mcq = join(work, 'mcq.jsonl');
  const records = generateWorldTask('mcq', { n: 3, seed: 4 });
  await writeJsonl(mcq, records);
  const out = join(work, 'seqa');
  const r = runCli(['seqa', '--generator', chatModel, '--encoder', encoder, '--data', mcq, '--voters', '4', '--max-voter-tokens', '6', '--synonym-swap', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.n, 3);
  assert.deepEqual(Object.keys(summary.accuracy), ['seqa', 'lm_sum', 'lm_mean', 'lm_pmi']);
  for (const a of Object.values(summary.accuracy)) assertFiniteIn(a, 'accuracy', 0, 1);
  for (const m of ['seqa', 'lm_sum', 'lm_mean', 'lm_pmi']) {
    assertFiniteIn(summary.accuracy_synonym_swap[m], 'swapped accuracy', 0, 1);
    assert.ok(Math.abs(summary.accuracy_drop[m] - (summary.accuracy[m] - summary.accuracy_synonym_swap[m])) < 1e-9);
  }
  const rows = readFileSync(join(out, 'questions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  for (const [i, row] of rows.entries()) {
    assert.ok(row.voters.length <= 4);
    assert.equal(row.scores.seqa.length, 4);
    assert.equal(row.swapped_choices.length, 4);
    assert.deepEqual(row.swapped_choices, records[i].choices.map((c) => CHOICE_SYNONYMS[c]));
  }
  // a record without choices names file, line and field
  writeFileSync(mcq, '{"prefix": "x", "choices": ["a"], "answer": 0}\n');
  const bad = runCli(['seqa', '--generator', chatModel, '--encoder', encoder, '--data', mcq, '--out', join(work, 'seqa2')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /mcq\.jsonl:1: choices: expected an array of at least 2/);
});
