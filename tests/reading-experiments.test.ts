// The reading experiments (rept, stm) run --quick through `glmkit experiment` from a fresh folder
// (they build their own small reader, no pipeline base) and write a verdict from their intervals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers.js';

test('experiment run rept / stm --quick write result.json with deciding comparisons, and stm saves every iteration', () => {
  for (const name of ['rept', 'stm']) {
    const out = tempDir();
    const r = runCli(['experiment', 'run', name, '--out', out, '--quick', '--quiet'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    assert.equal(result.experiment, name);
    assert.equal(result.settings.quick, true);
    assert.ok(result.comparisons.some((c: { decides: boolean }) => c.decides), name);
    for (const c of result.comparisons) assert.ok(Number.isFinite(c.diff) && c.ci95[0] <= c.diff + 1e-9 && c.diff <= c.ci95[1] + 1e-9, `${name}: ${JSON.stringify(c)}`);
    assert.ok(['reproduced', 'not reproduced', 'inconclusive'].includes(result.verdict), name);
    assert.ok(existsSync(join(out, 'report.md')), name);
    if (name === 'rept') {
      for (const arm of ['rept', 'mlm', 'clm']) assert.ok(Number.isFinite(result.arms[`${arm}-seed0`].accuracy), arm);
      assert.ok(result.arms['rept-seed0'].pretrain_ssp_prev > 0 && result.arms['rept-seed0'].pretrain_mlm > 0);
    } else {
      for (const i of [0, 1]) {
        assert.ok(existsSync(join(out, 'stm-seed0', 'run', `iter-${i}`, 'metrics.json')));
        assert.ok(existsSync(join(out, 'stm-seed0', 'run', `iter-${i}`, 'pseudo_labels.jsonl')));
      }
      assert.equal(result.settings.confidence, 0); // quick: thresholds opened so that a few-step reader labels something
      assert.equal(result.settings.max_k, 3);
    }
  }
});

test('stm defaults: a pre-trained backbone with the paper\'s thresholds, on the kinds where word overlap is not right by construction', async () => {
  const { stm } = await import('../src/experiment/experiments/stm.js');
  const { hardItems } = await import('../src/experiment/experiments/reading-common.js');
  const s = stm.settings(false) as { kinds: string[]; confidence: number; min_value: number; backbone: string; steps: number };
  assert.deepEqual([...s.kinds].sort(), ['compare', 'paraphrase', 'three_hop', 'two_hop']);
  assert.equal(s.backbone, 'pretrained'); // fresh readers stayed near chance on validation items
  assert.equal(stm.needs, 'pretrain'); // the base builds the pre-trained model and stops there
  assert.equal(s.confidence, 0.9);
  assert.equal(s.min_value, 0.5);
  assert.equal(s.steps, 600);
  assert.deepEqual(stm.defaultSeeds!(false), [0, 1, 2]); // reader-to-reader variance is as large as the effect
  assert.deepEqual(stm.defaultSeeds!(true), [0]);
  const items = hardItems(40, 4, s.kinds as never);
  assert.deepEqual([...new Set(items.map((r) => r.kind))].sort(), ['compare', 'paraphrase', 'three_hop', 'two_hop']);
});

test('stm with several seeds decides on t-intervals over the seeds and reports the pooled bootstrap beside them', () => {
  const out = tempDir();
  const r = runCli(['experiment', 'run', 'stm', '--out', out, '--quick', '--quiet', '--seeds', '0,1'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  const deciding = result.comparisons.filter((c: { decides: boolean }) => c.decides);
  assert.equal(deciding.length, 3);
  const arms = result.arms as Record<string, Record<string, number>>;
  for (const c of deciding) {
    assert.equal(c.method, 't-interval over seeds');
    assert.equal(c.n, 2);
  }
  // the deciding P@k difference is the mean over seeds of each seed's mean difference
  const pk = deciding.find((c: { b: string }) => c.b.startsWith('answer-only attention'));
  const perSeed = [0, 1].map((s) => arms[`stm-seed${s}`].it1_pk - arms[`stm-seed${s}`].it0_pk);
  assert.ok(Math.abs(pk.diff - (perSeed[0] + perSeed[1]) / 2) < 1e-9, `${pk.diff} vs ${perSeed}`);
  const pooled = result.comparisons.filter((c: { metric: string }) => c.metric.endsWith('pooled over seeds'));
  assert.equal(pooled.length, 3);
  for (const c of pooled) {
    assert.equal(c.method, 'paired bootstrap over prompts');
    assert.equal(c.n, 16); // 8 held-out items x 2 seeds
    assert.equal(c.decides, false);
  }
});

test('rept defaults: every arm continues the base pipeline\'s pre-trained model for the same steps', async () => {
  const { rept } = await import('../src/experiment/experiments/rept.js');
  const s = rept.settings(false) as { backbone: string; pretrain_steps: number };
  assert.equal(s.backbone, 'pretrained');
  assert.equal(rept.needs, 'pretrain');
  assert.equal((rept.settings(true) as { backbone: string }).backbone, 'fresh'); // --quick builds its own micro reader, no base
});

test('pretrainedReader starts a reader from a causal-LM folder with its tokenizer and fresh heads', async () => {
  const { pretrainedReader } = await import('../src/experiment/experiments/reading-common.js');
  const { saveModel } = await import('../src/models/glm/checkpoint.js');
  const { saveTokenizer } = await import('../src/tokenizer/tokenizer-json.js');
  const { microReader } = await import('../src/models/reader/test-fixtures.js');
  const { predictMrc } = await import('../src/models/reader/mrc.js');
  const { generateWorldTask } = await import('../src/data/world/index.js');
  const items = generateWorldTask('mrc', { n: 2, seed: 9, mrcKinds: ['two_hop'] });
  const src = microReader(items.flatMap((r) => [...r.sentences, r.question, ...r.options]));
  const dir = tempDir();
  saveModel(dir, src.lm);
  saveTokenizer(src.tokenizer, dir);
  const a = pretrainedReader(dir, 1), b = pretrainedReader(dir, 2);
  assert.equal(a.tokenizer.vocabSize, src.tokenizer.vocabSize);
  // the same backbone, heads from the seed
  assert.deepEqual(Array.from(a.lm.parameters()[0].data as Float32Array), Array.from(src.lm.parameters()[0].data as Float32Array));
  assert.notDeepEqual(Array.from(a.heads.mcOut.weight.data as Float32Array), Array.from(b.heads.mcOut.weight.data as Float32Array));
  const p = predictMrc(a, items);
  assert.equal(p.length, 2);
  for (const x of p) assert.ok(Math.abs(x.probs.reduce((u, v) => u + v, 0) - 1) < 1e-5);
});

test('--jobs 2 runs the arms in two worker processes and gives the same result as one process', () => {
  const run = (jobs: number) => {
    const out = tempDir();
    const r = runCli(['experiment', 'run', 'rept', '--out', out, '--quick', '--quiet', '--seeds', '0,1', '--threads', '1', '--jobs', String(jobs)], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `--jobs ${jobs}: ${r.stderr}`);
    return { out, result: JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) };
  };
  const one = run(1), two = run(2);
  assert.deepEqual(two.result.arms, one.result.arms);
  assert.deepEqual(two.result.comparisons, one.result.comparisons);
  assert.equal(two.result.verdict, one.result.verdict);
  for (const arm of Object.keys(two.result.arms)) {
    assert.match(JSON.parse(readFileSync(join(two.out, arm, 'arm.json'), 'utf8')).worker, /^[01]\/2$/, arm); // run by a worker, not the parent
    assert.equal(JSON.parse(readFileSync(join(one.out, arm, 'arm.json'), 'utf8')).worker, null, arm);
  }
  assert.ok(!existsSync(join(two.out, '.claims')));
  // arms that read each other's results cannot run in parallel
  const r = runCli(['experiment', 'run', 'exo-vs-dpo', '--out', tempDir(), '--quick', '--quiet', '--jobs', '2'], { timeoutMs: 60_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--jobs 2 needs arms that never read each other's results/);
});
