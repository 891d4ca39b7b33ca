// glmkit inspect: the rollout inspector of a GRPO run's dumps, rendered in headless Chromium: tokens
// coloured by the chosen quantity with numbers on hover, the reward filter, a prompt followed across
// steps, and a virtualised list that keeps a few dozen rows in the page for thousands of samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadCausalLM } from '../src/models/glm/checkpoint.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import { grpoSchema } from '../src/trainers/grpo/grpo-config.js';
import { loadRlPrompts } from '../src/trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../src/trainers/grpo/grpo-trainer.js';
import type { DumpRecord } from '../src/trainers/checks/rl-checks.js';
import { findRolloutRuns } from '../src/report/inspector.js';
import { makeFixture } from './fixtures.js';
import { runCli, tempDir } from './helpers.js';
import { launchBrowser } from './browser.js';

/** A synthetic dump of n samples over 2 steps (prompt i % 50; reward 1 for every third sample). */
function bigDump(dir: string, n: number): void {
  mkdirSync(join(dir, 'rollouts'), { recursive: true });
  for (const step of [1, 2]) {
    const recs: DumpRecord[] = Array.from({ length: n }, (_, i) => ({
      step, sample: i, prompt_index: i % 50, group: i % 50, kept: i % 7 !== 0, prompt: `question ${i % 50}`, completion: `answer ${i} of step ${step}`, finish: i % 5 ? 'stop' : 'length',
      reward: i % 3 === 0 ? 1 : 0, reward_parts: { verifier: i % 3 === 0 ? 1 : 0 }, token_ids: [1, 2, 3], pieces: ['answer ', `${i}`, ' end'], mask: [1, 1, 0],
      sampler_logprob: [-1, -2, null], trainer_logprob: [-1, -1.5, null], ref_logprob: [-1.2, -2, null], entropy: [0.5, 1, null], advantage: [i % 3 === 0 ? 0.8 : -0.4, i % 3 === 0 ? 0.8 : -0.4, null],
    }));
    writeFileSync(join(dir, 'rollouts', `step-${step}.jsonl`), recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
}

test('glmkit inspect: a GRPO dump and a large synthetic one, in headless Chromium', async (t) => {
  const root = tempDir();
  const fx = await makeFixture(join(root, 'fx'), { docs: 60, chats: 4 });
  const rl = join(root, 'rl.jsonl');
  await writeJsonl(rl, generateWorldTask('rl', { n: 6, seed: 4, split: 'train', difficulty: [1] }));
  const out = join(root, 'run');
  const cfg = resolveConfig(grpoSchema, { object: { model: fx.model, data: rl, out: join(out, 'grpo'), max_steps: 2, num_generations: 2, per_device_train_batch_size: 4, max_completion_length: 8, prepass_k: 0, curriculum: 'uniform', dynamic_sampling: false, quiet: true, dump_rollouts: 1 } });
  await new GrpoTrainer(cfg, loadCausalLM(fx.model), loadTokenizer(fx.model), loadRlPrompts(rl), null).train();
  bigDump(join(out, 'big'), 3000);
  assert.deepEqual(findRolloutRuns(out).map((r) => [r.name, r.steps.map((s) => s.step)]), [['big', [1, 2]], ['grpo', [1, 2]]]);
  const cli = runCli(['inspect', out]);
  assert.equal(cli.code, 0, cli.stderr);
  const html = cli.stdout.trim();
  assert.equal(html, join(out, 'inspect.html'));
  const empty = runCli(['inspect', fx.dir]);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /no rollout dumps under .*--dump-rollouts N/);
  assert.equal(empty.stderr.trim().split('\n').length, 1);

  const browser = await launchBrowser();
  if (typeof browser === 'string') return t.skip(browser);
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    // the large run: 3000 samples, a few dozen rows in the page
    assert.equal(await page.textContent('#count'), '3000 of 3000 samples');
    // the step at a glance: groups i % 50 (60 samples each, rewards differ), a group counts as trained when its first sample is (i % 7 != 0)
    assert.match((await page.textContent('#summary'))!, /^step: 3000 samples in 50 groups, 42 trained; 0 groups with equal rewards; mean reward 0\.3333; finish length 600, stop 2400$/);
    const rendered = await page.$$eval('#list .row', (r) => r.length);
    assert.ok(rendered > 5 && rendered < 80, `rows in the page: ${rendered}`);
    await page.$eval('#list', (l) => (l.scrollTop = 28 * 2000));
    await page.waitForSelector('#list .row[data-index="2000"]');
    assert.ok((await page.$$eval('#list .row', (r) => r.length)) < 80);
    // reward filter
    await page.selectOption('#rfilter', 'pos');
    assert.equal(await page.textContent('#count'), '1000 of 3000 samples');
    await page.check('#keptonly');
    const keptPos = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 3 === 0 && i % 7 !== 0).length;
    assert.equal(await page.textContent('#count'), `${keptPos} of 3000 samples`);
    // colour by ratio: exp(trainer - sampler) on hover, red above 1
    await page.selectOption('#qty', 'ratio');
    const vals = await page.$$eval('#tokens .tok', (s) => s.map((x) => x.getAttribute('data-value')));
    assert.equal(Number(vals[0]), 1);
    assert.ok(Math.abs(Number(vals[1]) - Math.exp(0.5)) < 1e-9);
    assert.equal(vals[2], '');
    assert.match((await page.getAttribute('#tokens .tok:nth-child(2)', 'style'))!, /rgba\(220, 60, 40/);
    await page.hover('#tokens .tok:nth-child(2)');
    assert.equal(await page.isVisible('#tip'), true);
    assert.match((await page.textContent('#tip'))!, /trainer {2}-1\.5000[\s\S]*ratio {4}1\.6487/);
    // the same prompt across steps (the selected sample 3: prompt 3, 60 samples per step); click the first of step 2
    const across = await page.$$eval('#across tbody tr', (r) => r.map((x) => x.firstElementChild!.textContent));
    assert.equal(across.length, 120);
    await page.click('#across tbody tr:nth-child(61)');
    assert.equal(await page.inputValue('#step'), '1');
    assert.match((await page.textContent('#meta'))!, /^step 2 · sample 3 · prompt 3 /);
    // the GRPO run's dump: real tokens, sampler and trainer log-probs agree (ratio ~1)
    await page.selectOption('#run', { label: 'grpo' });
    assert.equal(await page.textContent('#count'), '4 of 4 samples');
    const ratios = await page.$$eval('#tokens .tok:not(.off)', (s) => s.map((x) => Number(x.getAttribute('data-value'))));
    assert.ok(ratios.length > 0 && ratios.every((r) => Math.abs(r - 1) < 1e-3), ratios.join(','));
    await page.screenshot({ path: process.env.GLMKIT_INSPECT_SCREENSHOT ?? join(out, 'inspect.png') });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
