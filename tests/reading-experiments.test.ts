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
  const items = hardItems(40, 4, s.kinds as never);
  assert.deepEqual([...new Set(items.map((r) => r.kind))].sort(), ['compare', 'paraphrase', 'three_hop', 'two_hop']);
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
