// The HTTP sentence encoder against an in-process `glmkit serve --embedding-model` server: the same
// vectors as the local encoder, batched requests, the API key, and one clear error for an unreachable,
// silent or refusing endpoint. Also `glmkit seqa --encoder URL` end to end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type Server } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type GlmServer } from '../server/app.js';
import { seqaCommand } from '../cli/seqa.js';
import { tempDir } from '../util/temp-dir.js';
import { saveEncoder } from './st-layout.js';
import { microEncoder } from './test-fixtures.js';
import { EmbeddingEndpointError, embeddingsUrl, HttpSentenceEncoder } from './http-encoder.js';

const work = tempDir('glmkit-http-enc-');
const dir = join(work, 'enc');
const local = microEncoder({ normalize: true, bidirectional: true });
const TEXTS = ['the red fox runs fast', 'a small cat sleeps', 'the big dog eats bread', 'birds sing', 'the fox sleeps in the morning'];
let server: GlmServer;
let url = '';
let requests = 0;

before(async () => {
  saveEncoder(dir, local);
  server = await createServer({ embeddingModelDir: dir, embeddingModelId: 'enc', apiKey: 'sekrit' });
  server.app.addHook('onRequest', async () => void requests++);
  url = await server.listen('127.0.0.1', 0);
});

after(async () => {
  await server?.close();
});

test('embeddingsUrl: a base URL, a /v1 URL and a full /embeddings URL', () => {
  assert.equal(embeddingsUrl('http://h:1'), 'http://h:1/v1/embeddings');
  assert.equal(embeddingsUrl('http://h:1/v1/'), 'http://h:1/v1/embeddings');
  assert.equal(embeddingsUrl('https://h/api/v1/embeddings'), 'https://h/api/v1/embeddings');
  assert.throws(() => embeddingsUrl('not a url'), /expected an http\(s\) URL/);
  assert.throws(() => new HttpSentenceEncoder('http://h:1', { model: ' ' }), /model name/);
});

test('HTTP encoder vectors are identical to the local encoder\'s; texts go in batches', async () => {
  const want = local.embed(TEXTS);
  const one = new HttpSentenceEncoder(`${url}/v1`, { model: 'enc', apiKey: 'sekrit' });
  const got = await one.embedTexts(TEXTS);
  assert.equal(got.length, TEXTS.length);
  got.forEach((v, i) => assert.deepEqual(v, want[i], `text ${i}`));
  assert.deepEqual(await local.embedTexts(TEXTS), want);
  // batches of 2: 3 requests, same vectors (each batch is padded to its own length, so up to rounding)
  const before = requests;
  const batched = await new HttpSentenceEncoder(url, { model: 'enc', apiKey: 'sekrit', batchSize: 2 }).embedTexts(TEXTS);
  assert.equal(requests - before, 3);
  batched.forEach((v, i) => v.forEach((x, d) => assert.ok(Math.abs(x - want[i][d]) < 1e-5, `text ${i} dim ${d}`)));
  assert.deepEqual(await one.embedTexts([]), []);
});

test('HTTP encoder errors: wrong key, unknown model, unreachable and silent endpoints', async () => {
  await assert.rejects(new HttpSentenceEncoder(url, { model: 'enc' }).embedTexts(['a']), (e: unknown) => e instanceof EmbeddingEndpointError && /HTTP 401: missing or wrong API key/.test(e.message));
  await assert.rejects(new HttpSentenceEncoder(url, { model: 'nope', apiKey: 'sekrit' }).embedTexts(['a']), /HTTP 404: The model 'nope' does not exist/);
  await assert.rejects(new HttpSentenceEncoder(url, { model: 'enc', apiKey: 'sekrit' }).embedTexts(['']), /HTTP 400: input\[0\] is an empty string/);
  // a port nobody listens on
  const closed = await listening(createNetServer());
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  await assert.rejects(new HttpSentenceEncoder(`http://127.0.0.1:${port}`, { model: 'enc' }).embedTexts(['a']), (e: unknown) => e instanceof EmbeddingEndpointError && /unreachable \(ECONNREFUSED\); start it/.test(e.message));
  // a server that accepts and never answers
  const silent = await listening(createNetServer(() => undefined));
  try {
    const p = (silent.address() as { port: number }).port;
    await assert.rejects(new HttpSentenceEncoder(`http://127.0.0.1:${p}`, { model: 'enc', timeoutMs: 150 }).embedTexts(['a']), /unreachable \(no answer within 150 ms\)/);
  } finally {
    silent.close();
  }
});

test('glmkit seqa --encoder URL gives the scores of the local encoder folder', async () => {
  const data = join(work, 'q.jsonl');
  writeFileSync(data, [
    { prefix: 'the red fox', choices: ['runs fast', 'sleeps'], answer: 0 },
    { prefix: 'a small cat', choices: ['sings', 'sleeps', 'eats bread'], answer: 1 },
  ].map((q) => JSON.stringify(q)).join('\n') + '\n');
  const common = ['--generator', dir, '--data', data, '--voters', '3', '--max-voter-tokens', '4', '--synonym-swap'];
  const log = console.log;
  console.log = () => undefined;
  process.env.GLMKIT_TEST_ENC_KEY = 'sekrit';
  try {
    assert.equal(await seqaCommand([...common, '--encoder', dir, '--out', join(work, 'local')]), 0);
    assert.equal(await seqaCommand([...common, '--encoder', `${url}/v1`, '--encoder-model', 'enc', '--encoder-api-key-env', 'GLMKIT_TEST_ENC_KEY', '--out', join(work, 'http')]), 0);
    await assert.rejects(seqaCommand([...common, '--encoder', url, '--out', join(work, 'x')]), /--encoder-model NAME is required/);
    await assert.rejects(seqaCommand([...common, '--encoder', url, '--encoder-model', 'enc', '--encoder-api-key-env', 'GLMKIT_TEST_UNSET_VAR', '--out', join(work, 'y')]), /GLMKIT_TEST_UNSET_VAR, which is not set/);
  } finally {
    console.log = log;
    delete process.env.GLMKIT_TEST_ENC_KEY;
  }
  const rows = (name: string) => readFileSync(join(work, name, 'questions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const a = rows('local'), b = rows('http');
  assert.equal(a.length, 2);
  a.forEach((r, i) => {
    assert.deepEqual(b[i].voters, r.voters);
    assert.ok(r.voters.length > 0);
    assert.deepEqual(b[i].predictions, r.predictions);
    r.scores.seqa.forEach((s: number, j: number) => assert.ok(Math.abs(s - b[i].scores.seqa[j]) < 1e-6 * Math.abs(s), `question ${i} choice ${j}`));
  });
  const summary = JSON.parse(readFileSync(join(work, 'http', 'summary.json'), 'utf8'));
  assert.match(summary.options.encoder, /\/v1\/embeddings \(model enc\)/);
});

function listening(s: Server): Promise<Server> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r(s)));
}
