import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { tempDir } from '../../util/temp-dir.js';
import { JudgeCaller } from './caller.js';
import { bm25Scores, chunkDocument, ChunkRetriever, topKInOrder } from './chunks.js';
import { HttpJudge, JudgeUnavailableError, chatCompletionsUrl } from './judge.js';
import { parseList, parseRating, parseSupport } from './prompts.js';
import { LongRewardScorer, fitInfo, type ScoreItem } from './scorer.js';
import type { SentenceEmbedder } from '../../embed/encoder.js';

test('parsers: last [[n]] in 0..10, lists or the explicit empty answer, support labels', () => {
  assert.equal(parseRating('first [[3]] then [[7]]'), 7);
  assert.equal(parseRating('[[ 8.5 ]]'), 8.5);
  assert.equal(parseRating('[[11]]'), null);
  assert.equal(parseRating('a seven'), null);
  assert.deepEqual(parseList('x\n- one\n* two\n', 'No statements'), ['one', 'two']);
  assert.deepEqual(parseList('No statements.', 'No statements'), []);
  assert.equal(parseList('blah', 'No statements'), null);
  assert.equal(parseSupport('[[Not supported]] ... [[Partially supported]]'), 0.5);
  assert.equal(parseSupport('[[fully supported]]'), 1);
  assert.equal(parseSupport('supported'), null);
});

test('chunks: sentence-aligned, within the budget, positions cover the document; BM25 and embedding retrieval in document order', async () => {
  const doc = Array.from({ length: 40 }, (_, i) => `[${i + 1}] Person${i} visited Town${i % 7} on day ${i}.`).join(' ');
  const count = (s: string) => s.split(/\s+/).length;
  const chunks = chunkDocument(doc, 20, count);
  assert.ok(chunks.length >= 8);
  assert.equal(chunks.map((c) => c.text).join(' '), doc);
  assert.ok(chunks.every((c) => count(c.text) <= 20));
  assert.equal(chunks[0].position.split('-')[0], '0%');
  assert.equal(chunks.at(-1)!.position.split('-')[1], '100%');
  assert.equal(doc.slice(chunks[3].start, chunks[3].end), chunks[3].text);
  // a sentence longer than a chunk is cut at words
  assert.ok(chunkDocument('a '.repeat(50).trim() + '.', 10, count).every((c) => count(c.text) <= 10));
  const s = bm25Scores('Person17 visited', chunks.map((c) => c.text));
  assert.equal(topKInOrder(s, 1)[0], chunks.findIndex((c) => c.text.includes('Person17 ')));
  assert.deepEqual(topKInOrder([0.1, 0.9, 0.5, 0.7], 3), [1, 2, 3]);
  // an embedder: one-hot of the person number
  const emb: SentenceEmbedder = { source: 'fake', embedTexts: async (ts) => ts.map((t) => { const v = new Float32Array(41); for (const m of t.matchAll(/Person(\d+)/g)) v[Number(m[1])] += 1; v[40] = 0.01; return v; }) };
  const [pick] = await new ChunkRetriever(emb).retrieve([{ query: 'Person33 did', chunks }], 2);
  assert.equal(pick.length, 2);
  assert.ok(pick[0] < pick[1]);
  assert.ok(pick.includes(chunks.findIndex((c) => c.text.includes('Person33 '))));
});

/** A fake OpenAI chat endpoint: the answer depends on the prompt kind and the temperature. */
function fakeJudge(behave: (kind: string, temperature: number, body: Record<string, any>) => { status?: number; content: string }): Promise<{ server: Server; url: string; requests: Record<string, any>[] }> {
  const requests: Record<string, any>[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const body = JSON.parse(data);
      requests.push(body);
      const text: string = body.messages[0].content;
      const kind = text.startsWith('Rate how helpful') ? 'helpfulness' : text.startsWith('Rate the logic') ? 'logicality' : text.startsWith('List the factual') ? 'statements' : text.startsWith('Is the statement') ? 'support' : text.startsWith('Below is a part') ? 'extract' : 'coverage';
      const r = behave(kind, body.temperature, body);
      res.writeHead(r.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.status && r.status >= 400 ? { error: { message: r.content, type: 'invalid_request_error' } } : { choices: [{ index: 0, message: { role: 'assistant', content: r.content }, finish_reason: 'stop' }] }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`, requests })));
}

const DOC = Array.from({ length: 30 }, (_, i) => `[${i + 1}] Person${i} visited Town${i % 5} on day ${i + 1}.`).join(' ');
const items: ScoreItem[] = [
  { context: DOC, question: 'Which town did Person7 visit on day 8?', answer: 'Person7 visited Town2 on day 8. Town2' },
  { context: DOC, question: 'Which town did Person7 visit on day 8?', answer: 'Town4' },
];

const good = (kind: string): string => ({ helpfulness: 'Relevant. [[8]]', logicality: 'Fine. [[9]]', statements: '- Person7 visited Town2 on day 8.', support: '[[Fully supported]]', extract: '- Person7 visited Town2 on day 8.', coverage: 'Covers it. [[6]]' })[kind]!;

test('HTTP judge: garbage then valid output is retried at rising temperature; a rerun is served from the cache', async () => {
  const { server, url, requests } = await fakeJudge((kind, t) => ({ content: kind === 'helpfulness' && t === 0 ? 'I think it is good' : good(kind) }));
  const cacheDir = tempDir();
  try {
    const caller = new JudgeCaller(new HttpJudge(url, { model: 'judge', concurrency: 3 }), { cacheDir });
    const scores = await new LongRewardScorer(caller, null, { faithChunkTokens: 30, compChunkTokens: 120 }).score(items);
    for (const s of scores) {
      assert.deepEqual([s.helpfulness, s.logicality, s.faithfulness, s.completeness], [8, 9, 10, 6]);
      assert.equal(s.reward, (8 + 9 + 10 + 6) / 4);
      assert.deepEqual(s.failures, []);
      assert.deepEqual(s.rationale.statements, [{ statement: 'Person7 visited Town2 on day 8.', support: 1 }]);
    }
    const helpTemps = requests.filter((r) => r.messages[0].content.startsWith('Rate how helpful')).map((r) => r.temperature);
    assert.deepEqual(helpTemps.sort(), [0, 0, 0.3, 0.3]);
    assert.equal(caller.stats.retried, 2);
    const sent = requests.length;
    assert.equal(caller.stats.requests, sent);
    // extraction is shared by the two answers to the same question and document
    const extracts = requests.filter((r) => r.messages[0].content.startsWith('Below is a part')).length;
    assert.equal(extracts, chunkDocument(DOC, 120, (s) => Math.ceil(s.length / 4)).length);
    // rerun: nothing is sent, the same scores come back
    const again = new JudgeCaller(new HttpJudge(url, { model: 'judge' }), { cacheDir });
    assert.deepEqual(await new LongRewardScorer(again, null, { faithChunkTokens: 30, compChunkTokens: 120 }).score(items), scores);
    assert.equal(requests.length, sent);
    assert.equal(again.stats.requests, 0);
    assert.ok(again.stats.cacheHits >= sent);
  } finally {
    server.close();
  }
});

test('HTTP judge: output unparsable after 5 tries is a recorded failure; a too-long prompt fails only its dimension', async () => {
  const { server, url, requests } = await fakeJudge((kind) =>
    kind === 'logicality' ? { content: 'no rating here' } : kind === 'extract' ? { status: 400, content: "This model's maximum context length is 64 tokens" } : { content: good(kind) });
  try {
    const caller = new JudgeCaller(new HttpJudge(url, { model: 'judge' }), { cacheDir: null });
    const [s] = await new LongRewardScorer(caller, null, { faithChunkTokens: 30, compChunkTokens: 4096 }).score(items.slice(0, 1));
    assert.equal(s.logicality, null);
    assert.equal(s.completeness, null);
    assert.equal(s.reward, null, 'no silent default: the reward is missing');
    assert.equal(s.helpfulness, 8);
    assert.equal(s.faithfulness, 10);
    assert.equal(s.failures.length, 2);
    assert.match(s.failures.find((f) => f.startsWith('logicality'))!, /unparsable judge output after 5 tries/);
    assert.match(s.failures.find((f) => f.startsWith('completeness'))!, /maximum context length/);
    assert.deepEqual(requests.filter((r) => r.messages[0].content.startsWith('Rate the logic')).map((r) => r.temperature), [0, 0.3, 0.5, 0.7, 1.0]);
    assert.equal(requests.filter((r) => r.messages[0].content.startsWith('Below is a part')).length, 1, 'a refused request is not retried');
  } finally {
    server.close();
  }
});

test('HTTP judge: an unreachable endpoint is a clear error; what was answered before stays cached', async () => {
  const { server, url } = await fakeJudge((kind) => ({ content: good(kind) }));
  const cacheDir = tempDir();
  const scorer = () => new LongRewardScorer(new JudgeCaller(new HttpJudge(url, { model: 'judge', timeoutMs: 2000 }), { cacheDir }), null, { faithChunkTokens: 30, compChunkTokens: 120 });
  const first = await scorer().score(items.slice(0, 1));
  const files = readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).endsWith('.json')).length;
  await new Promise((r) => server.close(r));
  assert.deepEqual(await scorer().score(items.slice(0, 1)), first, 'scored items come back from the cache with the endpoint down');
  await assert.rejects(() => scorer().score(items), (e: unknown) => e instanceof JudgeUnavailableError && /unreachable .*check --judge-url/.test((e as Error).message));
  assert.equal(readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).endsWith('.json')).length, files);
  assert.equal(chatCompletionsUrl('http://h:1/v1'), 'http://h:1/v1/chat/completions');
  assert.equal(chatCompletionsUrl('http://h:1'), 'http://h:1/v1/chat/completions');
  assert.throws(() => chatCompletionsUrl('ftp://h'), /http or https/);
  assert.ok(join(cacheDir).length > 0);
});

test('a support budget shorter than the longest label is refused up front, naming --support-tokens', () => {
  const caller = new JudgeCaller(new HttpJudge('http://127.0.0.1:9/v1', { model: 'judge' }), { cacheDir: tempDir() });
  const perChar = (s: string) => s.length; // "[[Partially supported]]" is 23 "tokens"
  assert.throws(() => new LongRewardScorer(caller, null, { countTokens: perChar, supportTokens: 12 }), (e: unknown) => e instanceof ConfigError && /--support-tokens >= 24/.test(e.message) && /Partially supported/.test(e.message));
  assert.doesNotThrow(() => new LongRewardScorer(caller, null, { countTokens: perChar, supportTokens: 24 }));
  assert.doesNotThrow(() => new LongRewardScorer(caller, null, {})); // characters / 4: the default 32 holds every label
});

test('coverage information longer than the judge takes: the items least relevant to the question are left out, in document order, and counted', async () => {
  const lines = ['- [0-10%] Person3 visited Town1 on day 4.', '- [10-20%] Person7 visited Town2 on day 8.', '- [20-30%] Person9 owns a lamp.', '- [30-40%] Person5 is 30 years old.'];
  const q = 'Which town did Person7 visit on day 8?';
  assert.deepEqual(fitInfo(lines, q, () => true), lines);
  // room for two lines: the two that share most words with the question, in document order
  assert.deepEqual(fitInfo(lines, q, (t) => t.split('\n').length <= 2), [lines[0], lines[1]]);
  assert.deepEqual(fitInfo(lines, q, () => false), lines, 'nothing fits: all go, and the request fails as too long');
  // through the scorer: each chunk yields one item, and infoTokens bounds what the coverage rating sees
  let n = 0;
  const { server, url, requests } = await fakeJudge((kind) => (kind === 'extract' ? { content: n++ === 2 ? '- Person7 visited Town2 on day 8.' : `- Person${20 + n} owns a lamp.` } : { content: good(kind) }));
  try {
    const caller = new JudgeCaller(new HttpJudge(url, { model: 'judge' }), { cacheDir: null });
    const [s] = await new LongRewardScorer(caller, null, { faithChunkTokens: 30, compChunkTokens: 60, infoTokens: 12 }).score(items.slice(0, 1));
    const of = chunkDocument(DOC, 60, (t) => Math.ceil(t.length / 4)).length;
    assert.ok(of >= 3);
    assert.deepEqual(s.rationale.completeness_info, { kept: 1, of });
    const coverage = requests.find((r) => r.messages[0].content.startsWith('Rate from 0 to 10'))!.messages[0].content as string;
    assert.match(coverage, /Person7 visited Town2 on day 8/);
    assert.doesNotMatch(coverage, /owns a lamp/);
    assert.equal(s.completeness, 6);
  } finally {
    server.close();
  }
});
