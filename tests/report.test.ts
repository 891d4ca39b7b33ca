// The run report of a short real run, opened in headless Chromium: the at-a-glance table, the stage
// timeline and the curves are there with labelled axes, every figure in the table equals summary.json's,
// and a screenshot is written (to GLMKIT_REPORT_SCREENSHOT when set, e.g. docs/images/report.png).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { at } from '../src/report/glance.js';
import { fmt } from '../src/report/svg.js';
import { launchBrowser } from './browser.js';
import { runCli, tempDir } from './helpers.js';

test('report.html of a quick pipeline: glance table equal to summary.json, timeline, charts with axes', async (t) => {
  const out = tempDir();
  const r = runCli(['pipeline', '--preset', 'tiny', '--out', out, '--quick', '--quiet'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const browser = await launchBrowser();
  if (typeof browser === 'string') return t.skip(browser);
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const t0 = Date.now();
    await page.goto(pathToFileURL(join(out, 'report.html')).href, { waitUntil: 'load' });
    t.diagnostic(`report.html loaded in ${Date.now() - t0} ms (${readFileSync(join(out, 'report.html')).length} bytes)`);
    // 1. at a glance: SFT, reward model, the three aligned models, GRPO, the final model
    const groups = await page.$$eval('#glance tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    for (const g of ['SFT', 'Reward model', 'Alignment', 'GRPO', 'Output']) assert.ok(groups.includes(g), `glance row ${g} in ${groups}`);
    const readings = await page.$$eval('#glance tbody tr td:last-child', (tds) => tds.map((td) => td.textContent ?? ''));
    assert.ok(readings.some((s) => /^PPO (raised|lowered|did not (clearly )?change) the gold reward/.test(s)), readings.join(' | '));
    // every figure with a summary.json path shows that value
    const figs = await page.$$eval('#glance [data-key]', (els) => els.map((e) => ({ key: e.getAttribute('data-key')!, value: Number(e.getAttribute('data-value')), text: e.textContent ?? '' })));
    assert.ok(figs.length >= 10, `${figs.length} figures`);
    for (const f of figs) {
      assert.equal(f.value, at(summary, f.key), f.key);
      assert.ok(f.text.includes(fmt(f.value)), `${f.key}: '${f.text}' shows ${fmt(f.value)}`);
    }
    // 2. where the time went: one bar per stage of summary.seconds
    const stages = await page.$$eval('#time svg text', (ts) => ts.map((x) => x.textContent));
    for (const s of Object.keys(summary.seconds)) assert.ok(stages.includes(s), `timeline names stage ${s}`);
    // 3. curves: every chart has tick labels on both axes and axis labels
    const charts = await page.$$eval('#curves svg', (svgs) => svgs.map((s) => ({ title: s.getAttribute('aria-label'), ticks: s.querySelectorAll('text.tick').length, labels: [...s.querySelectorAll('text.axis-label')].map((x) => x.textContent) })));
    assert.ok(charts.length >= 15, `${charts.length} charts`);
    for (const c of charts) {
      assert.ok(c.ticks >= 4, `${c.title}: ${c.ticks} tick labels`);
      assert.equal(c.labels.length, 2, `${c.title}: axis labels ${c.labels}`);
      assert.ok(c.labels.every((l) => l && l.length > 0), c.title ?? '');
    }
    for (const title of ['Loss', 'Learning rate', 'Gradient norm', 'Reward', 'KL to the reference', 'Gold reward vs KL to SFT (held-out prompts)']) {
      assert.ok(charts.some((c) => c.title === title), `a chart '${title}'`);
    }
    // 4. samples side by side; 5. the raw summary, collapsed
    assert.ok((await page.$$('#samples tbody tr')).length >= 1);
    assert.equal(await page.$eval('#raw details', (d) => d.hasAttribute('open')), false);
    await page.screenshot({ path: process.env.GLMKIT_REPORT_SCREENSHOT ?? join(out, 'report.png'), fullPage: false });
  } finally {
    await browser.close();
  }
});

test('report of a folder without metrics is one clear error', () => {
  const r = runCli(['report', tempDir()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no metrics\.jsonl, summary\.json or result\.json found/);
});
