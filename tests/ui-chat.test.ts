// The web UI's Chat view in headless Chromium against a real `glmkit serve` and a micro GLM trained in
// this test (tests/ui-model.ts): the reasoning streams before the answer and is shown apart,
// collapsible; the thinking switch and regenerate change the answer; the export is TRL `messages`
// JSONL; with the python tool on, the tool call and its result are shown as a step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowserForTests, type TestBrowser } from '../src/util/test-skip.js';
import { tempDir } from './helpers.js';
import { trainUiModel, uiChats } from './ui-model.js';
import { openPage, startUi, type UiProcess } from './ui-page.js';

const { browser, skip } = await launchBrowserForTests();
const work = tempDir('glmkit-ui-chat-');
let ui: UiProcess;

before(async () => {
  if (skip) return;
  const model = await trainUiModel(process.env.GLMKIT_UI_TEST_MODEL ?? join(work, 'model'));
  ui = await startUi(['serve', '--model', model, '--model-name', 'glm-ui', '--agent-dir', join(work, 'agent'), '--labels', join(work, 'labels.db')]);
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

test('chat: reasoning streams first and is shown apart; thinking switch, regenerate, export, edit', { skip }, async (t) => {
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
  await page.fill('#prompt', 'Say hello.');
  await page.press('#prompt', 'Enter');
  const on = await lastAnswer(page, 1);
  assert.deepEqual({ ...on, open: undefined }, { reasoning: 'The user greets me.', content: 'Hello there!', open: undefined, error: null });
  assert.equal(on.open, false, 'the reasoning is collapsed once the answer is done');
  const snaps = (await page.evaluate('window.snaps')) as [number, number][];
  assert.ok(snaps.some(([r, c]) => r > 0 && r < 'The user greets me.'.length && c === 0), `partial reasoning shown before any answer text: ${JSON.stringify(snaps)}`);
  assert.ok(snaps.some(([r, c]) => r === 'The user greets me.'.length && c > 0 && c < 'Hello there!'.length), `the answer streamed after the reasoning: ${JSON.stringify(snaps)}`);
  t.diagnostic(`stats: ${await page.textContent('#stats')}; ${snaps.length} page changes while streaming`);
  await page.click('.msg.assistant summary');
  assert.equal(await page.$eval('.msg.assistant details', (d) => d.hasAttribute('open')), true, 'the reasoning opens on click');

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
