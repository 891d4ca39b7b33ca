// The web UI's Chat view in headless Chromium against a real `glmkit serve` and a micro GLM trained in
// this test (tests/ui-model.ts): the reasoning streams before the answer and is shown apart,
// collapsible; the thinking switch and regenerate change the answer; the export is TRL `messages`
// JSONL; with the python tool on, the tool call and its result are shown as a step. Compare & label:
// ten comparisons labelled by keyboard, a second annotator, the agreement shown, and the exported
// pairs trained on by `glmkit reward`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowserForTests, type TestBrowser } from '../src/util/test-skip.js';
import { runCli, tempDir } from './helpers.js';
import { trainUiModel, uiChats } from './ui-model.js';
import { openPage, screenshot, startUi, type UiProcess } from './ui-page.js';
import { waitHealth } from './serve-process.js';

const { browser, skip } = await launchBrowserForTests();
const work = tempDir('glmkit-ui-chat-');
const db = join(work, 'labels.db');
let ui: UiProcess;
let model = '';

before(async () => {
  if (skip) return;
  // GLMKIT_UI_TEST_MODEL: a folder to keep the trained model in between runs (development only)
  model = await trainUiModel(process.env.GLMKIT_UI_TEST_MODEL ?? join(work, 'model'));
  const prompts = join(work, 'prompts.jsonl');
  writeFileSync(prompts, Array.from({ length: 10 }, (_, i) => `${JSON.stringify({ prompt: `Tell me about ${i}.` })}\n`).join(''));
  ui = await startUi(['serve', '--model', model, '--model-name', 'glm-ui', '--agent-dir', join(work, 'agent'), '--labels', db, '--label-prompts', prompts]);
});

after(async () => {
  await ui?.stop();
  await (browser as TestBrowser | null)?.close();
});

/** Waits until the chat shows `n` answers and is idle again, and returns the last answer. */
async function lastAnswer(page: import('playwright-core').Page, n: number) {
  await page.locator('.msg.assistant').nth(n - 1).waitFor({ timeout: 120_000 });
  await page.locator('[data-streaming]').waitFor({ state: 'detached', timeout: 120_000 });
  await page.locator('#send').waitFor({ timeout: 120_000 });
  return page.$$eval('.msg.assistant', (els) => els.map((el) => ({
    reasoning: el.querySelector('.reasoning-text')?.textContent ?? null,
    content: el.querySelector('.content')?.textContent?.trim() ?? '',
    open: el.querySelector('details') ? el.querySelector('details')!.hasAttribute('open') : null,
    error: el.querySelector('.error')?.textContent ?? null,
  })).at(-1)!);
}

test('chat: reasoning streams first and is shown apart; thinking switch, regenerate, export, edit, stop', { skip }, async (t) => {
  const { page, context, errors } = await openPage(browser!, `${ui.url}/#/chat`);
  await page.waitForSelector('#prompt');
  await page.fill('#temperature', '0');
  await page.fill('#max_tokens', '40');
  // Record what the answer holds at each change of the page: reasoning must show before the answer.
  await page.evaluate(`(() => {
    window.snaps = [];
    new MutationObserver(() => {
      const el = [...document.querySelectorAll('.msg.assistant')].at(-1);
      if (el) window.snaps.push([el.querySelector('.reasoning-text')?.textContent?.length ?? 0, el.querySelector('.content')?.textContent?.trim().length ?? 0]);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
  // A slow network (600 B/s) spreads the stream's chunks over time, as a slow model would, so the
  // page's intermediate states can be seen.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 600, uploadThroughput: -1 });
  await page.fill('#prompt', 'Say hello.');
  await page.press('#prompt', 'Enter');
  const on = await lastAnswer(page, 1);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  assert.deepEqual({ ...on, open: undefined }, { reasoning: 'The user greets me.', content: 'Hello there!', open: undefined, error: null });
  assert.equal(on.open, false, 'the reasoning is collapsed once the answer is done');
  const snaps = (await page.evaluate('window.snaps')) as [number, number][];
  assert.ok(snaps.some(([r, c]) => r > 0 && r < 'The user greets me.'.length && c === 0), `partial reasoning shown before any answer text: ${JSON.stringify(snaps)}`);
  assert.deepEqual(snaps.at(-1), ['The user greets me.'.length, 'Hello there!'.length]);
  t.diagnostic(`stats: ${await page.textContent('#stats')}; ${snaps.length} page changes while streaming`);
  await page.click('.msg.assistant summary');
  assert.equal(await page.$eval('.msg.assistant details', (d) => d.hasAttribute('open')), true, 'the reasoning opens on click');
  await screenshot(page, 'ui-chat');

  await page.uncheck('#thinking');
  await page.click('#regenerate');
  const off = await lastAnswer(page, 1);
  assert.deepEqual(off, { reasoning: null, content: 'Hi!', open: null, error: null });
  assert.equal(await page.locator('.msg').count(), 2, 'regenerate replaced the answer');

  await page.fill('#system', 'Be brief.');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  const lines = readFileSync((await download.path())!, 'utf8').trim().split('\n');
  assert.deepEqual(lines.map((l) => JSON.parse(l)), [{ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello.' }, { role: 'assistant', content: 'Hi!' }] }]);

  await page.click('.msg.user .edit');
  assert.equal(await page.inputValue('#prompt'), 'Say hello.');
  assert.equal(await page.locator('.msg').count(), 0, 'editing drops the message and what followed');

  // Stop: on the slow network again, stop while the reasoning streams; the partial answer stays and
  // the server frees the request.
  await page.check('#thinking');
  await page.fill('#system', '');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 600, uploadThroughput: -1 });
  await page.press('#prompt', 'Enter');
  await page.locator('[data-streaming] .reasoning-text').waitFor({ state: 'attached', timeout: 60_000 });
  await page.click('#stop');
  const stopped = await lastAnswer(page, 1);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  assert.equal(stopped.error, null);
  assert.ok(stopped.reasoning !== null && 'The user greets me.'.startsWith(stopped.reasoning) && stopped.content.length < 'Hello there!'.length,
    `stopped part-way: ${JSON.stringify(stopped)}`);
  await waitHealth(ui.url, (h) => h.in_flight === 0, 'the stopped request is freed');
  assert.deepEqual(errors, []);
  await context.close();
});

test('chat with the python tool: the call and its result are shown as a step', { skip }, async () => {
  const { python } = uiChats();
  const user = python.messages.find((m) => m.role === 'user')!.content!;
  const observation = python.messages.find((m) => m.role === 'tool')!.content!;
  const { page, context } = await openPage(browser!, `${ui.url}/#/chat`);
  await page.waitForSelector('#tool-python');
  await page.fill('#temperature', '0');
  await page.fill('#max_tokens', '160');
  await page.check('#tool-python');
  await page.fill('#prompt', user);
  await page.press('#prompt', 'Enter');
  const answer = await lastAnswer(page, 1);
  assert.equal(answer.error, null);
  const step = await page.$eval('.msg.assistant .step', (el) => el.textContent ?? '');
  assert.match(step, /tool call\s*python/);
  assert.ok(step.includes(`python returned${observation}`), `the step shows what python printed (${observation}): ${step}`);
  await context.close();
});

test('compare & label: ten comparisons by keyboard, a second annotator, kappa shown, pairs exported and trained on', { skip }, async (t) => {
  const { page, context, errors } = await openPage(browser!, `${ui.url}/#/label`);
  await page.fill('#annotator', 'alice');
  await page.fill('#label-max-tokens', '40'); // short answers: the reward model's pairs fit its 256 tokens
  await page.press('#annotator', 'Enter');
  const keys = ['1', '2', '1', '1', '2', '3', '1', '2', '4', '1'];
  let last = '';
  for (const [i, key] of keys.entries()) {
    const cmp = page.locator(`#comparison:not([data-id="${last}"])`);
    await cmp.waitFor({ timeout: 120_000 });
    last = (await cmp.getAttribute('data-id'))!;
    assert.equal(await page.textContent('#label-prompt'), `Tell me about ${i}.`);
    assert.doesNotMatch(await page.textContent('#comparison') ?? '', /glm-ui/, 'no model name on the page');
    if (i === 0) await screenshot(page, 'ui-label');
    if (i === 9) await page.keyboard.press('c'); // reason: correct (on a comparison only alice labels)
    await page.keyboard.press(key);
  }
  await page.locator('#label-status', { hasText: 'The queue is empty' }).waitFor({ timeout: 120_000 });
  assert.match((await page.textContent('#progress'))!, /^alice: 10 labelled · 10 labels on 10 comparisons · 0 prompts queued$/);
  assert.deepEqual(errors, []);

  // bob labels four of alice's comparisons through the same routes the page uses
  const post = async (path: string, body: object) => (await fetch(`${ui.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<{ comparison: { id: number } | null }>;
  for (let i = 0; i < 4; i++) {
    const next = await post('/ui/api/label/next', { annotator: 'bob' });
    assert.ok(next.comparison, 'bob is offered a comparison alice labelled');
    await post('/ui/api/label', { annotator: 'bob', comparison_id: next.comparison.id, choice: 'left' });
  }
  await page.goto(`${ui.url}/#/label/stats`);
  await page.waitForSelector('#stats-agreement');
  const row = await page.$$eval('#stats-agreement tr td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(row.slice(0, 2), ['alice & bob', '4']);
  assert.match(row[3]!, /^(-?\d\.\d{3}|undefined)$/);
  assert.equal(await page.textContent('#stats-counts td:first-child'), '14');
  await screenshot(page, 'ui-label-stats');
  await context.close();

  const pairs = join(work, 'pairs.jsonl');
  const ex = runCli(['labels', 'export', '--db', db, '--out', pairs]);
  assert.equal(ex.code, 0, ex.stderr);
  const records = readFileSync(pairs, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  // alice decided 8 of her 10 (one tie, one both bad); bob chose 'left' on the first four, which is
  // the same answer as alice's or not depending on the sides each was shown: those split are left out
  const m = /^glmkit labels export: (\d+) pairs to .* \(left out: 1 ties, 1 both bad, (\d) with annotators split evenly\)/.exec(ex.stdout);
  assert.ok(m, ex.stdout);
  assert.equal(Number(m[1]), records.length);
  assert.equal(records.length + Number(m[2]), 8);
  const first = records.find((r) => r.labels.some((l: { annotator: string; reasons: string[] }) => l.annotator === 'alice' && l.reasons.includes('correct')));
  assert.ok(first, 'the reason given by key is stored');
  assert.deepEqual(first.prompt, [{ role: 'user', content: 'Tell me about 9.' }]);
  assert.equal(first.chosen[0].role, 'assistant');
  const rm = join(work, 'rm');
  const r = runCli(['reward', '--model', model, '--data', pairs, '--out', rm, '--max-steps', '2', '--per-device-train-batch-size', '4', '--no-length-balance', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(rm, 'final', 'model.safetensors')), 'glmkit reward trained on the exported pairs');
  t.diagnostic(`${records.length} pairs exported and trained on`);
});
