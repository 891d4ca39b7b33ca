// `glmkit experiment`: the list, and `run exo-vs-dpo --quick` end to end: result.json with the documented
// shape and finite intervals, report.md, SVG plots, per-prompt scores, a resumed rerun, and a rerun with
// other settings refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers.js';

test('experiment list names each experiment with its paper, claim and minutes', () => {
  const r = runCli(['experiment', 'list']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exo-vs-dpo\s+EXO/);
  assert.match(r.stdout, /claim: At matched KL/);
  assert.match(r.stdout, /~\d+ min on 2 cores/);
  const bad = runCli(['experiment', 'run', 'no-such-claim', '--out', tempDir()]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown experiment 'no-such-claim'; known: exo-vs-dpo/);
});

test('experiment run exo-vs-dpo --quick writes result.json, report.md, plots and scores, and resumes', () => {
  const out = tempDir();
  const r = runCli(['experiment', 'run', 'exo-vs-dpo', '--out', out, '--quick'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.equal(result.experiment, 'exo-vs-dpo');
  assert.match(result.paper, /EXO/);
  assert.ok(result.claim.length > 20);
  assert.deepEqual(Object.keys(result.arms).sort(), ['dpo-beta2', 'exo-beta2', 'sft']);
  for (const [arm, m] of Object.entries(result.arms) as [string, Record<string, number>][]) {
    for (const k of ['validation_gold', 'test_gold']) assert.ok(m[k] >= 0 && m[k] <= 1, `${arm} ${k} ${m[k]}`);
    assert.ok(Number.isFinite(m.test_kl) && Number.isFinite(m.validation_kl), arm);
  }
  assert.ok(['reproduced', 'not reproduced', 'inconclusive'].includes(result.verdict));
  assert.equal(result.comparisons.filter((c: { decides: boolean }) => c.decides).length, 1);
  for (const c of result.comparisons) {
    assert.ok(Number.isFinite(c.diff) && c.ci95[0] <= c.diff + 1e-12 && c.diff <= c.ci95[1] + 1e-12, JSON.stringify(c));
    assert.equal(c.n, result.settings.test_prompts);
  }
  assert.ok(result.seconds > 0);
  const report = readFileSync(join(out, 'report.md'), 'utf8');
  assert.match(report, /\*\*Claim\.\*\* At matched KL/);
  assert.match(report, new RegExp(`\\*\\*Verdict: ${result.verdict}\\.\\*\\*`));
  assert.match(report, /glmkit experiment run exo-vs-dpo --out .* --quick/);
  for (const f of ['frontier.svg', 'differences.svg']) {
    const svg = readFileSync(join(out, f), 'utf8');
    assert.match(svg, /^<svg xmlns/);
    assert.match(svg, /95% CI/);
  }
  assert.match(readFileSync(join(out, 'frontier.svg'), 'utf8'), /KL\(policy \|\| SFT\), nats per response/);
  // per-prompt scores of every arm, validation and test
  for (const arm of Object.keys(result.arms)) {
    const rows = readFileSync(join(out, arm, 'scores.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.filter((x) => x.split === 'test').length, result.settings.test_prompts, arm);
    assert.equal(rows.filter((x) => x.split === 'validation').length, result.settings.validation_prompts, arm);
  }
  assert.ok(existsSync(join(out, 'base', 'reward', 'final', 'config.json')), 'the base recipe and its reward model are cached under DIR/base');
  // a base built here trains the reward model with the frozen-half curriculum, and the settings say so
  assert.equal(result.settings.base_reward_curriculum, 'frozen-half');
  const curriculum = JSON.parse(readFileSync(join(out, 'base', 'alignment', 'state.json'), 'utf8')).summary.reward_model.curriculum as { freeze_layers: number; steps: number }[];
  assert.deepEqual(curriculum.map((p) => p.freeze_layers > 0), [true, true, true, true]);

  // a rerun skips the finished arms and gives the same result
  const again = runCli(['experiment', 'run', 'exo-vs-dpo', '--out', out, '--quick'], { timeoutMs: 300_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /dpo-beta2 already done/);
  assert.doesNotMatch(again.stderr, /dpo step/);
  const second = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.deepEqual(second.comparisons, result.comparisons);

  // other settings into the same folder are refused, naming the key
  const other = runCli(['experiment', 'run', 'exo-vs-dpo', '--out', out, '--quick', '--seeds', '1']);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /seeds: \[0\] -> \[1\]/);
});

test('every other experiment runs --quick on a pipeline base and writes a verdict from its intervals', () => {
  const first = tempDir();
  const r0 = runCli(['experiment', 'run', 'exo-vs-dpo', '--out', first, '--quick', '--quiet'], { timeoutMs: 300_000 });
  assert.equal(r0.code, 0, r0.stderr);
  const base = join(first, 'base');
  for (const name of ['ppo-vs-dpo', 'rm-length-bias', 'rlcs-vs-uniform', 'rlhf-scaling', 'rlhf-model-size', 'muon-vs-adamw', 'mtp', 'seqa', 'prm-vs-orm', 'longreward']) {
    const out = tempDir();
    const r = runCli(['experiment', 'run', name, '--out', out, '--quick', '--base', base, '--quiet'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    assert.equal(result.experiment, name);
    // a quick run's untrained model can leave rm-length-bias without equal-gold pairs: then no comparison, said in the notes
    if (name === 'rm-length-bias' && result.comparisons.length === 0) assert.match(result.notes.join(' '), /no interval, so no verdict/);
    else assert.ok(result.comparisons.some((c: { decides: boolean }) => c.decides), `${name} has a deciding comparison`);
    for (const c of result.comparisons) assert.ok(Number.isFinite(c.diff) && c.ci95[0] <= c.diff + 1e-9 && c.diff <= c.ci95[1] + 1e-9, `${name}: ${JSON.stringify(c)}`);
    assert.ok(['reproduced', 'not reproduced', 'inconclusive'].includes(result.verdict), name);
    assert.ok(existsSync(join(out, 'report.md')), name);
    assert.ok(result.settings.quick === true, name);
  }
  // a base with a long-context stage: longreward's policy is its long-context model, on documents of the stage's length
  const lc = tempDir();
  const rl = runCli(['long-context', '--base', base, '--out', lc, '--quick', '--long-visit-style', 'pair', '--long-curriculum-steps', '2', '--long-pretrain-steps', '0'], { timeoutMs: 300_000 });
  assert.equal(rl.code, 0, rl.stderr);
  // the base was pre-trained without pair travel logs (the quick pipeline's default): the stage says what it was measured on
  assert.match(rl.stderr, /long-context: longctx on a base pre-trained without pair travel logs/);
  const longBase = tempDir();
  for (const d of ['data', 'init', 'pretrain', 'sft']) symlinkSync(join(base, d), join(longBase, d));
  symlinkSync(join(lc, 'longctx'), join(longBase, 'longctx'));
  const lrOut = tempDir();
  const lr = runCli(['experiment', 'run', 'longreward', '--out', lrOut, '--quick', '--base', longBase, '--quiet'], { timeoutMs: 300_000 });
  assert.equal(lr.code, 0, lr.stderr);
  const pairsCfg = JSON.parse(readFileSync(join(lrOut, 'pairs', 'arm.json'), 'utf8')).config;
  assert.equal(pairsCfg.policy, join(longBase, 'longctx', 'final'));
  assert.equal(pairsCfg.policy_doc_tokens, 1024 - 256); // quick: a 1,024-token context
  assert.equal(pairsCfg.visit_style, 'pair');
  // the judge's support labels of the policy's own statements, against the world's truth
  const gs = JSON.parse(readFileSync(join(lrOut, 'pairs', 'arm.json'), 'utf8')).metrics.gold_support;
  assert.ok(gs === undefined || (gs.right <= gs.labels && gs.unsupported_right <= gs.unsupported && gs.unsupported <= gs.labels), JSON.stringify(gs));
  const lrResult = JSON.parse(readFileSync(join(lrOut, 'result.json'), 'utf8'));
  assert.match(lrResult.notes.join(' '), /long-context model/);
  // short-context ability is read twice: direct world prompts and level-2 arithmetic in thinking mode (quick: 4 prompts)
  const arith = lrResult.comparisons.find((c: { metric: string }) => /arithmetic, level 2, thinking/.test(c.metric));
  assert.ok(arith && arith.decides && arith.n === 4, JSON.stringify(lrResult.comparisons));

  // --base without what an experiment needs is one clear error
  const empty = tempDir();
  const bad = runCli(['experiment', 'run', 'exo-vs-dpo', '--out', tempDir(), '--quick', '--base', empty]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--base .*: expected its world data/);
});
