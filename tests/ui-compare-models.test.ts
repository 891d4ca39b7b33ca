// Compare & label with two models (`glmkit serve --model A --model B`), over HTTP as the page does it:
// one answer from each model's own worker, stored as a comparison, labelled blind by side; the label
// rows record which model was on which side and the stats' win rates per model follow the choices.
// Also the runs view's "Chat" link: a checkpoint under --runs loaded into a worker on demand.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadCausalLM, saveModel } from '../src/models/glm/checkpoint.js';
import { GlmForCausalLM } from '../src/models/glm/model.js';
import { chatModelIds, createServer, type GlmServer } from '../src/server/app.js';
import { loadTokenizer } from '../src/tokenizer/index.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { makeFixture } from './fixtures.js';
import { tempDir } from './helpers.js';
import { launchBrowserForTests, type TestBrowser } from '../src/util/test-skip.js';
import { openPage } from './ui-page.js';

const work = tempDir('glmkit-ui-compare-');
let server: GlmServer | null = null;
let other: GlmServer | null = null;
const { browser, skip } = await launchBrowserForTests();
/** the two-model server of the first test, for the browser test */
let twoModels: { first: string; second: string } | null = null;
let third: GlmServer | null = null;
after(async () => {
  await server?.close();
  await other?.close();
  await third?.close();
  await (browser as TestBrowser | null)?.close();
});

test('two models: one answer from each, blind sides, label rows name the models, per-model win rates', async () => {
  const fx = await makeFixture(join(work, 'fx'), { docs: 30, chats: 4 });
  // a second micro model: the same tokenizer, other weights
  const beta = join(work, 'beta');
  saveModel(beta, new GlmForCausalLM(loadCausalLM(fx.model).config, { seed: 4 }));
  saveTokenizer(loadTokenizer(fx.model), beta);
  twoModels = { first: fx.model, second: beta };
  const labelsDb = join(work, 'labels.db');
  server = await createServer({ modelDir: fx.model, moreModelDirs: [beta], maxSlots: 2, ui: { labelsDb } });
  const url = await server.listen('127.0.0.1', 0);
  const post = async (path: string, body: object) => {
    const r = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: url }, body: JSON.stringify(body) });
    const j = await r.json() as Record<string, any>;
    assert.equal(r.status, 200, `${path}: ${JSON.stringify(j)}`);
    return j;
  };
  const config = await (await fetch(`${url}/ui/api/config`)).json() as { models: string[] };
  assert.deepEqual(config.models, ['model', 'beta'], 'the page is told both models, the first --model first');
  const listed = await (await fetch(`${url}/v1/models`)).json() as { data: { id: string }[] };
  assert.deepEqual(listed.data.map((m) => m.id), ['model', 'beta']);
  const unknown = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gamma', messages: [{ role: 'user', content: 'x' }] }) });
  assert.equal(unknown.status, 404);

  const annotator = 'ann';
  const prompts = ['The river', 'A farmer', 'The lamp', 'A bridge', 'The north', 'A stone'];
  const alphaLeft: boolean[] = [];
  for (const [i, p] of prompts.entries()) {
    const messages = [{ role: 'user', content: p }];
    const ask = (model: string) => post('/v1/chat/completions', { model, messages, n: 1, temperature: 0, max_tokens: 8, chat_template_kwargs: { enable_thinking: false } });
    const [ra, rb] = await Promise.all([ask('model'), ask('beta')]);
    assert.equal(ra.model, 'model');
    assert.equal(rb.model, 'beta');
    const answers = [ra, rb].map((r) => ({ model: r.model, content: r.choices[0].message.content ?? '', reasoning: r.choices[0].message.reasoning_content ?? null }));
    assert.notEqual(answers[0].content, answers[1].content, `the two models answer '${p}' differently`);
    const saved = await post('/ui/api/label/comparisons', { annotator, messages, answers, sampling: { temperature: 0, n: 1 } });
    const c = saved.comparison as { id: number; left: { content: string }; right: { content: string } };
    assert.ok(!JSON.stringify(c).includes('"model"'), 'the annotator sees no model names');
    const left = c.left.content === answers[0].content;
    alphaLeft.push(left);
    // the annotator prefers the first model's answer, except one tie
    await post('/ui/api/label', { annotator, comparison_id: c.id, choice: i === 0 ? 'tie' : left ? 'left' : 'right' });
  }

  const db = new Database(labelsDb, { readonly: true });
  const rows = db.prepare('SELECT choice, left_model, right_model FROM labels ORDER BY id').all() as { choice: string; left_model: string; right_model: string }[];
  db.close();
  assert.deepEqual(rows.map((r) => [r.left_model, r.right_model]), alphaLeft.map((l) => (l ? ['model', 'beta'] : ['beta', 'model'])), 'each row records the model on each side');
  assert.deepEqual(rows.map((r) => r.choice), ['tie', 'a', 'a', 'a', 'a', 'a']);
  const stats = await (await fetch(`${url}/ui/api/label/stats`)).json() as { models: Record<string, { wins: number; losses: number; ties: number; win_rate: number | null }> };
  assert.deepEqual(stats.models.model, { wins: 5, losses: 0, ties: 1, both_bad: 0, win_rate: 1 });
  assert.deepEqual(stats.models.beta, { wins: 0, losses: 5, ties: 1, both_bad: 0, win_rate: 0 });
});

test('two models in the browser: the label page asks each model once, shows no names, and the label row names both', { skip }, async () => {
  assert.ok(twoModels, 'the two-model server of the first test is running');
  // a server of its own: a fresh labels file, so no earlier comparison is offered first
  const labelsDb = join(work, 'labels-browser.db');
  third = await createServer({ modelDir: twoModels.first, moreModelDirs: [twoModels.second], maxSlots: 2, ui: { labelsDb } });
  const url = await third.listen('127.0.0.1', 0);
  const { page, context, errors } = await openPage(browser!, `${url}/#/label`);
  await page.fill('#annotator', 'carol');
  await page.fill('#label-max-tokens', '8');
  await page.press('#annotator', 'Enter');
  // no queued prompts: the page offers a typed prompt
  await page.locator('#label-status', { hasText: 'The queue is empty' }).waitFor({ timeout: 60_000 });
  await page.fill('#typed-prompt', 'The harbour');
  await page.click('#compare');
  const cmp = page.locator('#comparison');
  await cmp.waitFor({ timeout: 60_000 });
  const shown = (await cmp.textContent()) ?? '';
  assert.doesNotMatch(shown, /\bbeta\b/, 'no model name on the page');
  await page.keyboard.press('1'); // left is better
  await page.locator('#label-status', { hasText: 'The queue is empty' }).waitFor({ timeout: 60_000 });
  const db = new Database(labelsDb, { readonly: true });
  const rows = db.prepare("SELECT l.choice, l.left_model, l.right_model FROM labels l WHERE l.annotator = 'carol'").all() as { choice: string; left_model: string; right_model: string }[];
  db.close();
  assert.equal(rows.length, 1, 'one label from the page');
  assert.deepEqual([rows[0].left_model, rows[0].right_model].sort(), ['beta', 'model'], 'one answer from each model');
  assert.ok(['a', 'b'].includes(rows[0].choice), `a side was chosen, got ${rows[0].choice}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('model ids of several --model folders: folder names, a clash takes the parent name', () => {
  assert.deepEqual(chatModelIds('/r/a/final', undefined, ['/r/b/final']), ['final', 'b-final']);
  assert.deepEqual(chatModelIds('/m/x', 'named', ['/m/y']), ['named', 'y']);
  assert.throws(() => chatModelIds('/r/a/final', undefined, ['/r/b/final', '/q/b/final']), /both named 'b-final'/);
});

test('runs view: a checkpoint under --runs is loaded on demand and chatted with; paths outside --runs are refused', async () => {
  const fx = await makeFixture(join(work, 'fx2'), { docs: 30, chats: 4 });
  const runs = join(work, 'runs');
  mkdirSync(join(runs, 'sft', 'checkpoint-5'), { recursive: true });
  cpSync(fx.model, join(runs, 'sft', 'final'), { recursive: true });
  symlinkSync(fx.dir, join(runs, 'sft', 'checkpoint-9'));
  other = await createServer({ modelDir: fx.model, ui: { runsDir: runs } });
  const url = await other.listen('127.0.0.1', 0);
  const post = (path: string, body: object) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: url }, body: JSON.stringify(body) });
  const config = await (await fetch(`${url}/ui/api/config`)).json() as { checkpoint_chat: boolean };
  assert.equal(config.checkpoint_chat, true);
  const r = await post('/ui/api/runs/chat', { run: 'sft', checkpoint: 'final' });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { model: 'sft-final' });
  const again = await post('/ui/api/runs/chat', { run: 'sft', checkpoint: 'final' });
  assert.deepEqual(await again.json(), { model: 'sft-final' }, 'a loaded checkpoint is reused');
  const chat = await post('/v1/chat/completions', { model: 'sft-final', messages: [{ role: 'user', content: 'The river' }], max_tokens: 4, temperature: 0 });
  assert.equal(chat.status, 200);
  assert.equal((await chat.json() as { model: string }).model, 'sft-final');
  const listed = await (await fetch(`${url}/v1/models`)).json() as { data: { id: string }[] };
  assert.deepEqual(listed.data.map((m) => m.id), ['model', 'sft-final']);
  const refused = async (body: object, status: number, code: string) => {
    const res = await post('/ui/api/runs/chat', body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal((await res.json() as { error: { code: string } }).error.code, code);
  };
  await refused({ run: '../fx2', checkpoint: 'final' }, 403, 'outside_runs');
  await refused({ run: 'sft', checkpoint: 'checkpoint-9' }, 403, 'outside_runs');
  await refused({ run: 'sft', checkpoint: '../../fx2/model' }, 400, 'invalid_value');
  await refused({ run: 'sft', checkpoint: 'checkpoint-5' }, 404, 'not_found');
});
