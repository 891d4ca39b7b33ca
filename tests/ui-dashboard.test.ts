// The web UI without a model (`glmkit ui --runs DIR`), in headless Chromium: the page loads every
// script from this server (no CDN), Markdown is rendered with raw HTML off and unsafe links dropped;
// the runs dashboard draws a 100,000-line metrics.jsonl downsampled, overlays runs, shows tables, an
// experiment's verdict and plot, and a curve that grows while a real training run writes metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowserForTests, type TestBrowser } from '../src/util/test-skip.js';
import { root, tempDir } from './helpers.js';
import { makeFixture } from './fixtures.js';
import { openPage, screenshot, startUi, type UiProcess } from './ui-page.js';

const { browser, skip } = await launchBrowserForTests();
const runs = tempDir('glmkit-ui-runs-');
let ui: UiProcess;

const write = (rel: string, text: string) => {
  mkdirSync(join(runs, rel, '..'), { recursive: true });
  writeFileSync(join(runs, rel), text);
};
const metricLines = (n: number, f: (s: number) => object) => Array.from({ length: n }, (_, i) => JSON.stringify({ step: i + 1, ...f(i + 1) })).join('\n') + '\n';

before(async () => {
  write('big/metrics.jsonl', metricLines(100_000, (s) => ({ loss: 3 - s / 50_000 + (s === 60_000 ? 20 : 0), learning_rate: 1e-3 })));
  for (let i = 0; i < 10; i++) write(`sweep/r${i}/metrics.jsonl`, metricLines(2000, (s) => ({ loss: 3 / (1 + s / (100 * (i + 1))) })));
  // finished runs (written an hour ago): drawn, not followed
  const hourAgo = new Date(Date.now() - 3600_000);
  for (const f of ['big/metrics.jsonl', ...Array.from({ length: 10 }, (_, i) => `sweep/r${i}/metrics.jsonl`)]) utimesSync(join(runs, f), hourAgo, hourAgo);
  write('pipe/summary.json', JSON.stringify({ sft: { final_loss: 1.23456, steps: 300 }, reward: { accuracy: 0.875 } }));
  write('pipe/sft/metrics.jsonl', metricLines(3, (s) => ({ loss: 3 - s / 2 })));
  mkdirSync(join(runs, 'pipe', 'sft', 'checkpoint-3'), { recursive: true });
  write('exp/result.json', JSON.stringify({ experiment: 'exo-vs-dpo', verdict: 'reproduced', arms: [{ name: 'exo', gold: 0.5 }] }));
  write('exp/gain.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#2563eb"/><script>parent.hit = 1</script></svg>');
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

/** Ticks or unticks runs in the list so that exactly `paths` are selected. */
async function select(page: import('playwright-core').Page, paths: string[]) {
  for (const label of await page.$$('.runlist label')) {
    const run = await label.getAttribute('data-run');
    const box = (await label.$('input'))!;
    if (paths.includes(run!) !== (await box.isChecked())) await box.click();
  }
}

test('runs: a 100,000-line metrics.jsonl is drawn downsampled; ten runs overlaid; tables, verdict, plot, checkpoints', { skip }, async (t) => {
  const { page, context, errors } = await openPage(browser!, `${ui.url}/#/runs`, { width: 1400, height: 1000 });
  await page.waitForSelector('.runlist label[data-run="big"]');
  const t0 = Date.now();
  await select(page, ['big']);
  await page.waitForSelector('.chart[data-metric="loss"] canvas');
  await page.locator('#lines', { hasText: 'big: 100000 lines' }).waitFor();
  t.diagnostic(`100,000-line run drawn in ${Date.now() - t0} ms`);
  assert.equal(await page.getAttribute('.chart[data-metric="loss"]', 'data-points'), '2000');
  assert.equal(await page.getAttribute('.chart[data-metric="loss"]', 'data-last-x'), '100000');

  const t1 = Date.now();
  const sweep = Array.from({ length: 10 }, (_, i) => `sweep/r${i}`);
  await select(page, sweep);
  await page.locator('#lines', { hasText: 'sweep/r9: 2000 lines' }).waitFor();
  await page.locator('.chart[data-metric="loss"] .u-legend .u-series').nth(10).waitFor(); // x + 10 series
  assert.equal(await page.locator('.chart[data-metric="loss"] .u-legend .u-series').count(), 11);
  t.diagnostic(`10 runs of 2,000 lines overlaid in ${Date.now() - t1} ms`);
  await screenshot(page, 'ui-runs');

  // the same ten runs opened by a link: the whole load, page to ten curves
  const t2 = Date.now();
  const linked = await openPage(browser!, `${ui.url}/#/runs/${sweep.join(',')}`, { width: 1400, height: 1000 });
  await linked.page.locator('.chart[data-metric="loss"] .u-legend .u-series').nth(10).waitFor();
  t.diagnostic(`page with 10 runs loaded by a link in ${Date.now() - t2} ms`);
  await linked.context.close();

  await select(page, ['pipe', 'pipe/sft', 'exp']);
  const summary = page.locator('details[data-file="summary.json"] table');
  await summary.waitFor();
  const rows = await summary.locator('tr').allTextContents();
  assert.deepEqual(rows, ['sft.final_loss1.235', 'sft.steps300', 'reward.accuracy0.8750']);
  assert.match((await page.textContent('.verdict'))!, /exo-vs-dpo|exp: reproduced/);
  const plot = page.locator('img.plot');
  await plot.waitFor();
  assert.equal(await plot.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth), 40, 'the plot is shown as an image');
  assert.equal(await page.evaluate('window.hit'), undefined, 'the script inside the SVG did not run');
  assert.match((await page.textContent('.checkpoints'))!, new RegExp(`glmkit serve --model .*pipe/sft/checkpoint-3`));
  assert.deepEqual(errors, []);
  await context.close();
});

test('runs: the curve grows while a short training run writes metrics.jsonl (server-sent events)', { skip }, async (t) => {
  const fx = await makeFixture(tempDir());
  const out = join(runs, 'live');
  const train = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/entry.ts'), 'pretrain', '--model', fx.model, '--data', fx.pretrainData, '--out', out,
    '--max-seq-length', '32', '--per-device-train-batch-size', '4', '--learning-rate', '3e-3', '--warmup-steps', '2', '--max-steps', '3000', '--quiet'], { cwd: root, stdio: 'ignore' });
  const done = new Promise<number | null>((res) => train.on('exit', res));
  try {
    while (!existsSync(join(out, 'metrics.jsonl'))) await new Promise((r) => setTimeout(r, 100));
    const { page, context } = await openPage(browser!, `${ui.url}/#/runs`);
    await page.waitForSelector('.runlist label[data-run="live"]');
    await select(page, ['live']);
    const chart = page.locator('.chart[data-metric="loss"]');
    await chart.waitFor();
    const seen = [Number(await chart.getAttribute('data-points'))];
    // read the number of points drawn: it must grow while the page is open; then stop the run
    for (let k = 0; k < 1200 && train.exitCode === null && seen.length < 4; k++) {
      await new Promise((r) => setTimeout(r, 100));
      const n = Number(await chart.getAttribute('data-points'));
      if (n !== seen.at(-1)) seen.push(n);
    }
    assert.equal(train.exitCode, null, 'the run was still training');
    train.kill('SIGTERM');
    await done;
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
    await page.locator(`.chart[data-metric="loss"][data-points="${lines}"]`).waitFor({ timeout: 10_000 });
    seen.push(lines);
    t.diagnostic(`points drawn while training: ${seen.join(' -> ')}`);
    assert.ok(seen.length >= 4 && seen.every((n, i) => i === 0 || n > seen[i - 1]), `the curve grew in several steps while the run trained: ${seen.join(' -> ')}`);
    await context.close();
  } finally {
    train.kill();
  }
});
