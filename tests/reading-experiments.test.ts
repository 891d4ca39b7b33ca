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

test('stm defaults: thresholds a small reader can meet, on the kinds where word overlap is not right by construction', async () => {
  const { stm } = await import('../src/experiment/experiments/stm.js');
  const { hardItems } = await import('../src/experiment/experiments/reading-common.js');
  const s = stm.settings(false) as { kinds: string[]; confidence: number; min_value: number; backbone: string };
  assert.deepEqual([...s.kinds].sort(), ['compare', 'paraphrase', 'three_hop', 'two_hop']);
  assert.equal(s.confidence, 0.5);
  assert.equal(s.min_value, 0.3);
  assert.equal(s.backbone, 'fresh');
  assert.equal((s as unknown as { steps: number }).steps, 1000); // 500 steps left the reader at chance on validation items
  const items = hardItems(40, 4, s.kinds as never);
  assert.deepEqual([...new Set(items.map((r) => r.kind))].sort(), ['compare', 'paraphrase', 'three_hop', 'two_hop']);
});
