// `glmkit pipeline --preset tiny-vl --quick`: every stage of the vision-language pipeline runs,
// summary.json holds per-stage figures and per-family held-out accuracy beside its chance level,
// OUT/final is a loadable glm4v folder with its processor settings, and a rerun resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGlm4vModel } from '../src/models/glm4v/checkpoint.js';
import { readImageProcessorConfig } from '../src/models/glm4v/preprocess-config.js';
import { assertFiniteIn, runCli, tempDir } from './helpers.js';

test('pipeline --preset tiny-vl --quick runs every stage, reports per-family accuracy with chance levels, and resumes', () => {
  const out = tempDir('pipeline-vl-');
  const args = ['pipeline', '--preset', 'tiny-vl', '--out', out, '--quick', '--threads', '2'];
  const r = runCli(args, { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  for (const stage of ['data', 'tokenizer', 'init', 'pretrain', 'prealign', 'sft', 'eval', 'rl', 'report']) assert.match(r.stderr, new RegExp(`pipeline: ${stage} \\.\\.\\.`));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.preset, 'tiny-vl');
  for (const stage of ['data', 'tokenizer', 'init', 'pretrain', 'prealign', 'sft', 'eval', 'rl']) assertFiniteIn(summary.seconds[stage], `${stage} seconds`, 0);
  assert.ok(summary.model.parameters > summary.model.vision_parameters && summary.model.vision_parameters > 0, JSON.stringify(summary.model));
  for (const stage of ['pretrain', 'prealign', 'sft']) {
    assertFiniteIn(summary[stage].loss, `${stage} loss`, 0);
    assert.equal(summary[stage].steps, 3, stage);
  }
  assertFiniteIn(summary.sft.eval_loss, 'sft eval loss', 0);
  // --quick trains and evaluates count and digits; each family has test and validation figures beside chance
  assert.deepEqual(Object.keys(summary.sft.accuracy).sort(), ['count', 'digits']);
  for (const half of ['accuracy', 'validation_accuracy']) {
    let n = 0;
    for (const family of ['count', 'digits']) {
      const a = summary.sft[half][family];
      n += a.n;
      if (a.n === 0) continue;
      assertFiniteIn(a.accuracy, `${half} ${family}`, 0, 1);
      assertFiniteIn(a.chance, `${half} ${family} chance`, 0, 1);
      assertFiniteIn(a.truncated, `${half} ${family} truncated`, 0, 1);
    }
    assert.ok(n > 0, half);
  }
  assert.equal(summary.sft.accuracy.count.n + summary.sft.validation_accuracy.count.n, 4);
  // the rl stage: accuracy per family after SFT and after RL on the same test halves
  assert.deepEqual(Object.keys(summary.rl.accuracy).sort(), ['count', 'digits']);
  assert.equal(summary.rl.accuracy.count.n, summary.sft.accuracy.count.n);
  const model = loadGlm4vModel(join(out, 'final'));
  assert.equal(model.numParameters(), summary.model.parameters);
  assert.equal(readImageProcessorConfig(join(out, 'final')).minPixels, 6272);
  assert.ok(existsSync(join(out, 'report.html')));
  // a rerun finds every stage done; an interrupted run (state rolled back) redoes only what is missing
  const again = runCli(args);
  assert.equal(again.code, 0, again.stderr);
  for (const stage of ['data', 'pretrain', 'prealign', 'sft', 'eval', 'rl']) assert.match(again.stderr, new RegExp(`pipeline: ${stage} already done`));
  const statePath = join(out, 'pipeline_state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8'));
  state.done = state.done.filter((s: string) => !['sft', 'eval', 'rl', 'report'].includes(s));
  writeFileSync(statePath, JSON.stringify(state));
  const third = runCli(args, { timeoutMs: 300_000 });
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /prealign already done/);
  assert.match(third.stderr, /pipeline: sft \.\.\./);
  assert.match(third.stderr, /pipeline: sft count: test accuracy/);
  // settings that change results are refused with the keys named; --force-stage redoes from there
  const other = runCli([...args, '--seed', '1']);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /holds a pipeline run with other settings \(seed: 0 -> 1\)/);
  const unknown = runCli([...args, '--force-stage', 'nope']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /force_stage: expected one of data, tokenizer, init, pretrain, prealign, sft, eval, rl, report or none, got "nope"/);
});

test('pipeline --config FILE with a vision-language preset runs the vision-language pipeline', () => {
  const out = tempDir('pipeline-vl-config-');
  const config = join(out, 'pipeline.json');
  writeFileSync(config, JSON.stringify({ preset: 'tiny-vl', out: join(out, 'run'), quick: true, until: 'init' }));
  const r = runCli(['pipeline', '--config', config, '--quiet'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'run', 'summary.json'), 'utf8'));
  assert.equal(summary.preset, 'tiny-vl');
  assert.ok(existsSync(join(out, 'run', 'init', 'preprocessor_config.json')), 'init wrote a glm4v folder');
});
