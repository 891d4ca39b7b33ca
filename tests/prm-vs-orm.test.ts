// `glmkit experiment run prm-vs-orm --quick` on a micro base (the fixture model as the SFT policy):
// result.json with deciding comparisons and finite intervals, the plots, and a resumed rerun.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCausalLM, saveModel } from '../src/models/glm/checkpoint.js';
import { rewardModelFromCausal } from '../src/trainers/reward/reward-trainer.js';
import { makeFixture } from './fixtures.js';
import { runCli, tempDir } from './helpers.js';

test('experiment run prm-vs-orm --quick: PRM and ORM arms, best-of-N comparisons with bootstrap CIs, plots, resumable', async () => {
  const fx = await makeFixture(tempDir(), { docs: 60, chats: 8 });
  const base = join(fx.dir, 'base');
  mkdirSync(join(base, 'data'), { recursive: true });
  mkdirSync(join(base, 'init'), { recursive: true });
  copyFileSync(join(fx.model, 'tokenizer.json'), join(base, 'init', 'tokenizer.json'));
  cpSync(fx.model, join(base, 'sft', 'final'), { recursive: true });
  cpSync(fx.model, join(base, 'pretrain', 'final'), { recursive: true });
  // the pipeline's reward model, which both kinds start from
  saveModel(join(base, 'reward', 'final'), rewardModelFromCausal(loadCausalLM(fx.model), 1));
  const out = tempDir();
  const r = runCli(['experiment', 'run', 'prm-vs-orm', '--out', out, '--quick', '--base', base, '--quiet'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(result.experiment, 'prm-vs-orm');
  assert.deepEqual(Object.keys(result.arms).sort(), ['orm-v16-f1-s0', 'orm-v16-f4-s0', 'orm-v8-f4-s0', 'prm-v16-f1-s0', 'prm-v16-f4-s0', 'prm-v8-f4-s0']);
  for (const m of Object.values(result.arms) as Record<string, number>[]) {
    for (const n of [1, 2, 4]) assert.ok(m[`best_of_${n}`] >= 0 && m[`best_of_${n}`] <= 1);
    assert.ok(m.rm_accuracy >= 0 && m.rm_accuracy <= 1);
    assert.ok(m.step_accuracy_constant > 0 && m.step_accuracy_constant <= 1 && m.step_auc_position >= 0 && m.step_auc_position <= 1, JSON.stringify(m));
  }
  const deciding = result.comparisons.filter((c: { decides: boolean }) => c.decides);
  assert.equal(deciding.length, 6, JSON.stringify(result.comparisons.map((c: { a: string; b: string }) => `${c.a} vs ${c.b}`)));
  for (const c of result.comparisons) {
    assert.ok(Number.isFinite(c.diff) && c.ci95[0] <= c.diff + 1e-9 && c.diff <= c.ci95[1] + 1e-9, JSON.stringify(c));
    assert.equal(c.method, 'paired bootstrap over prompts');
  }
  assert.ok(['reproduced', 'not reproduced', 'inconclusive'].includes(result.verdict));
  for (const f of ['report.md', 'best-of-n.svg', 'volume.svg', 'diversity.svg']) assert.ok(existsSync(join(out, f)), f);
  const again = runCli(['experiment', 'run', 'prm-vs-orm', '--out', out, '--quick', '--base', base], { timeoutMs: 120_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /prm-v16-f4-s0 already done/);
});
