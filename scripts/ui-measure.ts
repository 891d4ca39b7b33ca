/**
 * Measures the web UI in headless Chromium (a diagnostic, no thresholds): time to the first token
 * shown in the chat page, animation frames and long tasks while an answer streams, and the dashboard
 * load time with 10 runs opened by a link. Uses a micro random model (its answers are noise; only the
 * timings matter). Run: npx tsx scripts/ui-measure.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadCausalLM, saveModel } from '../src/models/glm/checkpoint.js';
import { createServer } from '../src/server/app.js';
import { loadTokenizer, STOP_TOKENS } from '../src/tokenizer/index.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { tempDir } from '../src/util/temp-dir.js';
import { launchBrowserForTests } from '../src/util/test-skip.js';
import { makeFixture } from '../tests/fixtures.js';
import { openPage } from '../tests/ui-page.js';

const work = tempDir('glmkit-ui-measure-');
const fx = await makeFixture(join(work, 'fx'), { docs: 30, chats: 4 });
// the stop tokens' LM-head rows zeroed: answers run to max tokens (a streamed answer long enough to watch)
const model = loadCausalLM(fx.model), tok = loadTokenizer(fx.model), H = model.config.hiddenSize;
for (const t of STOP_TOKENS) {
  const id = tok.tokenToId(t);
  if (id !== undefined) (model.lmHead!.weight.data as Float32Array).fill(-1, id * H, (id + 1) * H);
}
const modelDir = join(work, 'long');
saveModel(modelDir, model);
saveTokenizer(tok, modelDir);
const runs = join(work, 'runs');
for (let i = 0; i < 10; i++) {
  mkdirSync(join(runs, `r${i}`), { recursive: true });
  writeFileSync(join(runs, `r${i}`, 'metrics.jsonl'), Array.from({ length: 2000 }, (_, s) => JSON.stringify({ step: s + 1, loss: 3 / (1 + s / (100 * (i + 1))) })).join('\n') + '\n');
}
const { browser, skip } = await launchBrowserForTests();
if (!browser) throw new Error(`no browser: ${skip}`);
const server = await createServer({ modelDir, ui: { runsDir: runs } });
const url = await server.listen('127.0.0.1', 0);
try {
  const chat = await openPage(browser, `${url}/#/chat`);
  const page = chat.page;
  await page.waitForSelector('#prompt');
  await page.fill('#max_tokens', '400');
  for (let round = 0; round < 3; round++) {
    // a string, not a function: tsx would wrap named functions in a helper the page lacks
    await page.evaluate(`(() => {
      window.frames_ = 0; window.long_ = 0; window.stop_ = false; window.t0_ = performance.now();
      const tick = () => { window.frames_++; if (!window.stop_) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
      new PerformanceObserver((l) => { window.long_ += l.getEntries().length; }).observe({ type: 'longtask' });
    })()`);
    const before = (await page.$('#stats')) ? await page.textContent('#stats') : null;
    if (round === 0) {
      await page.fill('#prompt', 'The river');
      await page.press('#prompt', 'Enter');
    } else await page.click('#regenerate');
    // done: the stats line changed and nothing streams
    // (polled from here: the page's Content-Security-Policy forbids waitForFunction's eval)
    const done = `(() => { const s = document.querySelector('#stats'); return !!s && s.textContent !== ${JSON.stringify(before)} && !document.querySelector('[data-streaming]'); })()`;
    for (let i = 0; !(await page.evaluate(done)); i++) {
      if (i > 2400) throw new Error('the answer did not finish in 2 minutes');
      await new Promise((r) => setTimeout(r, 50));
    }
    const { frames, long, ms } = await page.evaluate('(() => { window.stop_ = true; return { frames: window.frames_, long: window.long_, ms: performance.now() - window.t0_ }; })()') as { frames: number; long: number; ms: number };
    const stats = await page.textContent('#stats');
    console.log(`chat answer ${round + 1}: ${stats}; ${frames} animation frames in ${(ms / 1000).toFixed(2)} s from send to done (${(1000 * frames / ms).toFixed(0)}/s), ${long} long tasks (>50 ms)`);
  }
  await chat.context.close();
  for (let round = 0; round < 3; round++) {
    const t0 = Date.now();
    const linked = await openPage(browser, `${url}/#/runs/${Array.from({ length: 10 }, (_, i) => `r${i}`).join(',')}`, { width: 1400, height: 1000 });
    await linked.page.locator('.chart[data-metric="loss"] .u-legend .u-series').nth(10).waitFor({ timeout: 120_000 });
    console.log(`dashboard, 10 runs of 2,000 lines opened by a link: ${Date.now() - t0} ms (page to ten curves)`);
    await linked.context.close();
  }
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), ${new Date().toISOString()}`);
} finally {
  await browser.close();
  await server.close();
}
