/**
 * rlcs-vs-uniform (GLM-4.1V-Thinking): at equal rollout budget, GRPO with the RLCS curriculum reaches
 * a higher accuracy than GRPO with uniform prompt sampling. RLCS spends part of its budget on a
 * pass@k pre-pass; uniform sampling gets those rollouts as extra steps, so both arms sample the same
 * number of completions. Accuracy-vs-rollouts curves on validation prompts; the claim is tested on
 * test prompts (paired bootstrap over prompts of final greedy correctness). Hard prompts are the
 * pipeline's kind (arithmetic levels 3-5, test split) drawn with seeds no pipeline stage uses.
 */
import { join } from 'node:path';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { grpoStageConfig } from '../../pipeline/grpo-stage.js';
import { GrpoTrainer, greedyScores } from '../../trainers/grpo/grpo-trainer.js';
import { correctOverSeeds, grpoPromptSets } from './grpo-arms.js';
import { pairedBootstrap, verdictOf } from '../stats.js';
import { barChart, xyChart } from '../../report/svg.js';
import type { ArmResult, Comparison, Experiment, ExperimentContext } from '../types.js';

interface Settings extends Record<string, unknown> {
  rlcs_steps: number;
  train_prompts: number;
  validation_prompts: number;
  test_prompts: number;
  eval_every: number;
  data_seed: number;
  resamples: number;
  seeds: number[];
}

interface ArmMetrics extends Record<string, unknown> {
  steps: number;
  rollouts: number;
  prepass_rollouts: number;
  validation_accuracy: number;
  test_accuracy: number;
  /** [rollouts incl. pre-pass, validation accuracy] after each evaluation */
  curve: [number, number][];
}

export const rlcsVsUniform: Experiment = {
  name: 'rlcs-vs-uniform',
  paper: 'GLM-4.1V-Thinking: Towards Versatile Multimodal Reasoning with Scalable Reinforcement Learning',
  claim: 'At equal rollout budget, GRPO with the RLCS curriculum reaches a higher accuracy on hard prompts than GRPO with uniform prompt sampling.',
  // one seed: 5.6 minutes with --base (2026-12-06, idle 2 cores); its verdict moved between two bases
  // (+0.10 and -0.03), so the default runs three seeds: 18.2 minutes (docs/experiments/results/README.md)
  minutes: { alone: 26, withBase: 19 },
  needs: 'sft',
  defaultSeeds: (quick) => (quick ? [0] : [0, 1, 2]),
  settings(quick) {
    return quick
      ? { rlcs_steps: 2, train_prompts: 12, validation_prompts: 4, test_prompts: 6, eval_every: 1, data_seed: 1000, resamples: 2000 }
      : { rlcs_steps: 50, train_prompts: 480, validation_prompts: 120, test_prompts: 120, eval_every: 10, data_seed: 1000, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const tok = loadTokenizer(base.sftDir);
    const { files, train: prompts, validation, test } = await grpoPromptSets(ctx.out, S.data_seed, { train: S.train_prompts, validation: S.validation_prompts, test: S.test_prompts });
    const stage = (seed: number, out: string, overrides: Parameters<typeof grpoStageConfig>[0]['overrides'] = {}) =>
      grpoStageConfig({ out, dataDir: '', sftDir: base.sftDir, seed, quick: ctx.quick, quiet: true, log: ctx.log, overrides }, { ...files, out });
    const perStep = stage(0, ctx.out).per_device_train_batch_size;
    const arms: Record<string, ArmResult<ArmMetrics>> = {};
    for (const seed of S.seeds) {
      let budget = 0; // RLCS's completions (pre-pass included): what uniform sampling gets
      for (const curriculum of ['rlcs', 'uniform'] as const) {
        const name = `${curriculum}-s${seed}`;
        const steps = curriculum === 'rlcs' ? S.rlcs_steps : Math.ceil(budget / perStep);
        arms[name] = await ctx.arm(name, { base: base.dir, curriculum, seed, steps, eval_every: S.eval_every, data_seed: S.data_seed, validation: validation.length, test: test.length }, async (dir) => {
          const cfg = stage(seed, join(dir, 'train'), { curriculum, max_steps: steps, eval_steps: S.eval_every, eval_max_examples: validation.length });
          const model = loadCausalLM(base.sftDir);
          const trainer = new GrpoTrainer(cfg, model, tok, prompts, validation);
          const greedy = trainer.rolloutOptions(1, 0);
          const startVal = greedyScores(model, tok, validation, greedy);
          const r = await trainer.train();
          const curve: [number, number][] = [[0, startVal.reduce((a, b) => a + b, 0) / validation.length]];
          for (const m of r.metrics) if (typeof m.eval_accuracy === 'number') curve.push([(m.rollouts as number) + trainer.prepassRollouts, m.eval_accuracy]);
          const testScores = greedyScores(model, tok, test, greedy);
          const metrics: ArmMetrics = { steps: r.steps, rollouts: trainer.rollouts, prepass_rollouts: trainer.prepassRollouts, validation_accuracy: curve.at(-1)![1], test_accuracy: testScores.reduce((a, b) => a + b, 0) / test.length, curve };
          return { metrics, scores: testScores.map((s, i) => ({ split: 'test', prompt: i, correct: s })) };
        });
        const m = arms[name].metrics;
        if (curriculum === 'rlcs') budget = m.rollouts + m.prepass_rollouts;
        ctx.log(`rlcs-vs-uniform: ${name}: ${m.rollouts + m.prepass_rollouts} rollouts (${m.prepass_rollouts} pre-pass), validation accuracy ${m.validation_accuracy.toFixed(3)}, test accuracy ${m.test_accuracy.toFixed(3)}`);
      }
    }
    // per test prompt, correctness averaged over seeds; paired bootstrap over prompts
    const perPrompt = (c: string) => correctOverSeeds(arms, c, S.seeds, test);
    const r = pairedBootstrap(perPrompt('rlcs'), perPrompt('uniform'), { resamples: S.resamples, seed: 0 });
    const comparisons: Comparison[] = [{ metric: 'test accuracy at equal rollouts', a: 'rlcs', b: 'uniform', diff: r.estimate, ci95: r.ci, n: r.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(r.ci, 'greater'), decides: true }];
    const series = S.seeds.flatMap((s) => (['rlcs', 'uniform'] as const).map((c) => ({ name: `${c} seed ${s}`, line: true, points: arms[`${c}-s${s}`].metrics.curve.map(([x, y]) => ({ x, y })) })));
    const mean = (c: string, k: 'test_accuracy' | 'validation_accuracy') => S.seeds.reduce((a, s) => a + arms[`${c}-s${s}`].metrics[k], 0) / S.seeds.length;
    return {
      settings: S,
      arms: Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, { steps: v.metrics.steps, rollouts: v.metrics.rollouts, prepass_rollouts: v.metrics.prepass_rollouts, validation_accuracy: v.metrics.validation_accuracy, test_accuracy: v.metrics.test_accuracy }])),
      comparisons,
      plots: [
        { file: 'accuracy-vs-rollouts.svg', caption: 'Greedy accuracy on the validation prompts against completions sampled (RLCS counts its pre-pass)', svg: xyChart({ title: 'Accuracy vs rollouts (validation prompts)', xLabel: 'completions sampled', yLabel: 'greedy accuracy', series }) },
        { file: 'difference.svg', caption: 'RLCS minus uniform test accuracy at equal rollouts, paired bootstrap 95% CI', svg: barChart({ title: 'RLCS − uniform test accuracy (95% CI)', yLabel: 'difference in accuracy', bars: [{ label: 'rlcs − uniform', value: r.estimate, ci: r.ci }] }) },
      ],
      notes: [
        `Both arms sample the same number of completions per seed: RLCS ${S.rlcs_steps} steps plus its pass@k pre-pass; uniform sampling as many steps as that budget buys.`,
        `Mean over seeds ${S.seeds.join(', ')}: test accuracy RLCS ${mean('rlcs', 'test_accuracy').toFixed(3)}, uniform ${mean('uniform', 'test_accuracy').toFixed(3)} on ${test.length} test prompts (validation: ${mean('rlcs', 'validation_accuracy').toFixed(3)} vs ${mean('uniform', 'validation_accuracy').toFixed(3)} on ${validation.length}).`,
      ],
    };
  },
};
