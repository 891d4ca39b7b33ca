// RL with images in the tiny-vl pipeline and the vision-rlcs experiment, on a random GLM-4.1V standing
// in for the SFT model: the pipeline's rl stage writes per-family accuracy after SFT and after RL, and
// `experiment run vision-rlcs --quick` writes per-family and sample-efficiency verdicts from intervals,
// with uniform sampling given at least RLCS's rollouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initGlm4vForTokenizer } from '../src/models/glm4v/init-model.js';
import { saveGlm4vModel } from '../src/models/glm4v/checkpoint.js';
import { writeVisionTask } from '../src/data/vision/index.js';
import { trainBpeFromTexts } from '../src/tokenizer/bpe-train.js';
import { GLM_SPECIAL_TOKENS } from '../src/tokenizer/special-tokens.js';
import { testCorpus } from '../src/tokenizer/test-fixtures.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { resolveConfig } from '../src/trainers/base/config.js';
import { vlQuickOverrides } from '../src/pipeline/vl/vl-recipe.js';
import { evalFile, vlPaths } from '../src/pipeline/vl/vl-stages.js';
import { rlStage, vlRlPipelineSchema, VL_STAGES_WITH_RL } from '../src/pipeline/vl/vl-rl-stage.js';
import { normalisedArea, visionRlcs } from '../src/experiment/experiments/vision-rlcs.js';
import { runExperiment } from '../src/experiment/runner.js';
import { assertFiniteIn, tempDir } from './helpers.js';

/** A pipeline-shaped folder whose sft/final is a random tiny-vl model with a small tokenizer. */
function fakeBase(): string {
  const dir = tempDir('vision-rl-');
  const tok = trainBpeFromTexts(testCorpus(150), { vocabSize: 256 + 100 + GLM_SPECIAL_TOKENS.length });
  const sft = join(dir, 'sft', 'final');
  saveGlm4vModel(sft, initGlm4vForTokenizer('tiny-vl', tok, 11));
  saveTokenizer(tok, sft);
  return dir;
}

test('normalisedArea: trapezoids up to the budget, cut by interpolation, held after the last point', () => {
  assert.equal(normalisedArea([0, 10], [0, 1], 10), 0.5);
  assert.equal(normalisedArea([0, 10], [1, 1], 20), 1);
  assert.equal(normalisedArea([0, 20], [0, 1], 10), 0.25); // the curve reaches 0.5 at 10
  assert.equal(normalisedArea([0, 4, 8], [0, 1, 1], 8), 0.75);
});

test('pipeline rl stage (quick): GRPO on image prompts, accuracy per family after SFT and after RL', async () => {
  const out = fakeBase();
  assert.deepEqual(VL_STAGES_WITH_RL.map((s) => s.name).slice(-3), ['eval', 'rl', 'report']);
  const cfg = vlQuickOverrides(resolveConfig(vlRlPipelineSchema, { object: { out, quick: true, quiet: true }, objectSource: 'test' }));
  const paths = vlPaths(out);
  for (const f of ['count', 'digits'] as const) writeVisionTask('rl', { families: [f], n: 4, seed: 3, split: 'test', size: cfg.image_size, difficulty: [1] }, evalFile(paths, f));
  const summary: Record<string, unknown> = {};
  await rlStage({ cfg, out, paths, summary, log: () => {} });
  const rl = summary.rl as Record<string, any>;
  assert.equal(rl.steps, 2);
  // 2 steps x 4 completions at least (RLCS oversamples prompts when groups have no spread); --quick: no pre-pass
  assert.ok(rl.rollouts >= 8 && rl.rollouts % 2 === 0, `rollouts ${rl.rollouts}`);
  assert.equal(rl.prepass_rollouts, 0);
  assert.deepEqual(Object.keys(rl.accuracy).sort(), ['count', 'digits']);
  for (const f of ['count', 'digits']) {
    const a = rl.accuracy[f];
    for (const k of ['sft', 'rl', 'chance']) assertFiniteIn(a[k], `${f} ${k}`, 0, 1);
    assert.ok(Math.abs(a.gain - (a.rl - a.sft)) < 1e-12);
    assert.equal(a.n + rl.validation_accuracy[f].n, 4, 'the four held-out prompts split into validation and test halves');
  }
  assert.ok(existsSync(join(out, 'final', 'config.json')) && existsSync(join(out, 'rl', 'final', 'preprocessor_config.json')));
  assert.equal(summary.final_model, join(out, 'rl', 'final'));
});

test('experiment run vision-rlcs --quick: SFT, RLCS and uniform at equal rollouts, verdicts from intervals', async () => {
  const base = fakeBase();
  const out = tempDir('vision-rlcs-');
  const result = await runExperiment(visionRlcs, { out, base, seeds: null, quick: true, quiet: true, command: 'glmkit experiment run vision-rlcs --quick' });
  assert.deepEqual(Object.keys(result.arms).sort(), ['rlcs-s0', 'sft', 'uniform-s0']);
  const rlcs = result.arms['rlcs-s0'] as Record<string, number>, uniform = result.arms['uniform-s0'] as Record<string, number>;
  assert.ok(uniform.rollouts >= rlcs.rollouts + rlcs.prepass_rollouts, `uniform ${uniform.rollouts} >= rlcs ${rlcs.rollouts} + ${rlcs.prepass_rollouts}`);
  const deciding = result.comparisons.filter((c) => c.decides);
  assert.deepEqual(deciding.map((c) => c.metric), ['test accuracy, count', 'test accuracy, digits', 'area under test accuracy vs rollouts (equal budget)']);
  for (const c of result.comparisons) {
    assert.ok(Number.isFinite(c.diff) && c.ci95[0] <= c.diff + 1e-12 && c.diff <= c.ci95[1] + 1e-12, JSON.stringify(c));
    assert.ok(['reproduced', 'not reproduced', 'inconclusive'].includes(c.verdict));
  }
  assert.ok(['reproduced', 'not reproduced', 'inconclusive'].includes(result.verdict));
  assert.match(result.notes[0], /^Claim 1 \(RL improves every family over SFT\): /);
  assert.match(result.notes[1], /^Claim 2 \(RLCS more sample-efficient than uniform\): /);
  for (const f of ['accuracy-vs-rollouts.svg', 'validation-vs-rollouts.svg', 'families.svg', 'efficiency.svg']) assert.match(readFileSync(join(out, f), 'utf8'), /^<svg xmlns/);
  const rows = readFileSync(join(out, 'rlcs-s0', 'scores.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 4); // 2 test prompts per family
  assert.deepEqual([...new Set(rows.map((r) => r.family))].sort(), ['count', 'digits']);
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /vision-rlcs/);
});
