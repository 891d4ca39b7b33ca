// The web UI without a model (`glmkit ui --runs DIR`), in headless Chromium: the page loads every
// script from this server (no CDN), Markdown is rendered with raw HTML off and unsafe links dropped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowserForTests, type TestBrowser } from '../src/util/test-skip.js';
import { tempDir } from './helpers.js';
import { openPage, startUi, type UiProcess } from './ui-page.js';

const { browser, skip } = await launchBrowserForTests();
const runs = tempDir('glmkit-ui-runs-');
let ui: UiProcess;

before(async () => {
  mkdirSync(join(runs, 'sft'), { recursive: true });
  writeFileSync(join(runs, 'sft', 'metrics.jsonl'), [1, 2, 3].map((s) => JSON.stringify({ step: s, loss: 3 - s / 2 })).join('\n') + '\n');
  if (!skip) ui = await startUi(['ui', '--runs', runs]);
});

after(async () => {
  await ui?.stop();
  await (browser as TestBrowser | null)?.close();
});

test('the UI shell loads from this server only, with no script error', { skip }, async () => {
  const { page, requests, errors, context } = await openPage(browser!, `${ui.url}/`);
  await page.waitForSelector('#tab-runs');
  assert.deepEqual(await page.$$eval('header nav a', (as) => as.map((a) => a.textContent)), ['Runs']);
  const foreign = requests.filter((u) => !u.startsWith(`${ui.url}/`));
  assert.deepEqual(foreign, [], 'every request goes to this server');
  assert.ok(requests.some((u) => u.endsWith('/ui/vendor/preact.mjs')));
  assert.deepEqual(errors, []);
  await context.close();
});

test('Markdown: raw HTML is shown as text, javascript: and data: links are dropped, web links kept', { skip }, async () => {
  const { page, context } = await openPage(browser!, `${ui.url}/`);
  const out = await page.evaluate(async () => {
    const { renderMarkdown } = await import('/ui/lib.js' as string);
    return [
      renderMarkdown('**bold** <img src=x onerror="window.hit=1"> <script>window.hit=2</script>'),
      renderMarkdown('[a](javascript:window.hit=3) [b](data:text/html,<b>x</b>) [c](https://example.org/x) ![i](https://example.org/i.png)'),
    ] as string[];
  });
  assert.match(out[0], /<strong>bold<\/strong>/);
  assert.match(out[0], /&lt;img src=x onerror=&quot;window.hit=1&quot;&gt;/);
  assert.doesNotMatch(out[0], /<img|<script/);
  assert.doesNotMatch(out[1], /href="(javascript|data):/);
  assert.match(out[1], /<a href="https:\/\/example.org\/x" rel="noopener noreferrer nofollow" target="_blank">c<\/a>/);
  assert.doesNotMatch(out[1], /<img/);
  await context.close();
});
