/**
 * rlhf-scaling (Does RLHF Scale?): more responses sampled per prompt help the policy, with
 * diminishing returns. GRPO from the same SFT model with G = 2, 4, 8, 16 samples per prompt, the same
 * prompts per step and the same steps (so compute grows with G), uniform prompt sampling. Claims,
 * tested on held-out hard prompts (paired bootstrap over prompts of greedy correctness):
 *   1. more samples help: accuracy(G = 8) - accuracy(G = 2) > 0;
 *   2. diminishing returns: the gain of the last doubling is smaller than the gain of the first,
 *      [acc(16) - acc(8)] - [acc(4) - acc(2)] < 0.
 * G = 1 is left out: a group of one has no variance, so GRPO's group baseline gives no gradient.
 * The paper's second claim (a larger reward model helps more than a larger policy) is the
 * experiment rlhf-model-size.
 */
import { join } from 'node:path';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { grpoStageConfig } from '../../pipeline/grpo-stage.js';
import { GrpoTrainer, greedyScores } from '../../trainers/grpo/grpo-trainer.js';
import { bootstrapMean, mean, pairedBootstrap, verdictOf } from '../stats.js';
import { xyChart } from '../../report/svg.js';
import type { ArmResult, Comparison, Experiment, ExperimentContext } from '../types.js';
import { correctOverSeeds, grpoPromptSets } from './grpo-arms.js';

interface Settings extends Record<string, unknown> {
  group_sizes: number[];
  prompts_per_step: number;
  steps: number;
  train_prompts: number;
  test_prompts: number;
  data_seed: number;
  resamples: number;
  seeds: number[];
}

export const rlhfScaling: Experiment = {
  name: 'rlhf-scaling',
  paper: 'Does RLHF Scale? Exploring the Impacts From Data, Model, and Method',
  claim: 'Sampling more responses per prompt in RL improves the policy, with diminishing returns (GRPO, G = 2 to 16 at equal prompts and steps).',
  // one seed: 2.4 minutes with --base (2026-12-06, idle 2 cores); the default runs three
  minutes: { alone: 15, withBase: 8 },
  needs: 'sft',
  defaultSeeds: (quick) => (quick ? [0] : [0, 1, 2]),
  settings(quick) {
    return quick
      ? { group_sizes: [2, 4, 8, 16], prompts_per_step: 1, steps: 1, train_prompts: 8, test_prompts: 6, data_seed: 1100, resamples: 2000 }
      : { group_sizes: [2, 4, 8, 16], prompts_per_step: 4, steps: 50, train_prompts: 480, test_prompts: 120, data_seed: 1100, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const tok = loadTokenizer(base.sftDir);
    const { files, train: prompts, test } = await grpoPromptSets(ctx.out, S.data_seed, { train: S.train_prompts, validation: 0, test: S.test_prompts });
    const arms: Record<string, ArmResult<Record<string, number>>> = {};
    let sftScores: number[] | null = null;
    for (const seed of S.seeds) {
      for (const G of S.group_sizes) {
        const name = `g${G}-s${seed}`;
        arms[name] = await ctx.arm(name, { base: base.dir, G, seed, steps: S.steps, prompts_per_step: S.prompts_per_step, train_prompts: prompts.length, test_prompts: test.length, data_seed: S.data_seed }, async (dir) => {
          const cfg = grpoStageConfig({ out: dir, dataDir: '', sftDir: base.sftDir, seed, quick: ctx.quick, quiet: true, log: ctx.log, overrides: { curriculum: 'uniform', num_generations: G, per_device_train_batch_size: S.prompts_per_step * G, max_steps: S.steps, eval_steps: 0 } }, { ...files, out: join(dir, 'train') });
          const model = loadCausalLM(base.sftDir);
          const trainer = new GrpoTrainer(cfg, model, tok, prompts, null);
          const greedy = trainer.rolloutOptions(1, 0);
          sftScores ??= greedyScores(model, tok, test, greedy);
          await trainer.train();
          const scores = greedyScores(model, tok, test, greedy);
          return { metrics: { G, rollouts: trainer.rollouts, sft_accuracy: mean(sftScores), test_accuracy: mean(scores) }, scores: scores.map((c, i) => ({ split: 'test', prompt: i, correct: c })) };
        });
        ctx.log(`rlhf-scaling: ${name}: ${arms[name].metrics.rollouts} rollouts, test accuracy ${arms[name].metrics.test_accuracy.toFixed(3)}`);
      }
    }
    // per prompt, correctness averaged over seeds
    const acc = (G: number) => correctOverSeeds(arms, `g${G}`, S.seeds, test);
    const [g2, g4, g8, g16] = [2, 4, 8, 16].map(acc);
    const boot = { resamples: S.resamples, seed: 0 };
    const more = pairedBootstrap(g8, g2, boot);
    // [acc16 - acc8] - [acc4 - acc2] per prompt, against zero
    const curvature = pairedBootstrap(g16.map((v, i) => v - g8[i] + g2[i]), g4, boot);
    const comparisons: Comparison[] = [
      { metric: 'test accuracy', a: 'G=8', b: 'G=2', diff: more.estimate, ci95: more.ci, n: more.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(more.ci, 'greater'), decides: true },
      { metric: 'gain of the last doubling minus gain of the first', a: 'acc(16) - acc(8)', b: 'acc(4) - acc(2)', diff: curvature.estimate, ci95: curvature.ci, n: curvature.n, claim: 'less', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(curvature.ci, 'less'), decides: true },
    ];
    const sft = arms[`g${S.group_sizes[0]}-s${S.seeds[0]}`].metrics.sft_accuracy;
    const points = S.group_sizes.map((G) => {
      const r = bootstrapMean(acc(G), boot);
      return { x: Math.log2(G), y: r.estimate, yci: r.ci, label: `G=${G}` };
    });
    return {
      settings: S,
      arms: Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, v.metrics])),
      comparisons,
      plots: [{ file: 'accuracy-vs-samples.svg', caption: 'Held-out accuracy after GRPO against samples per prompt (log2), 95% bootstrap CIs; SFT marked', svg: xyChart({ title: 'Accuracy vs samples per prompt (test prompts)', xLabel: 'log2 samples per prompt (G)', yLabel: 'greedy accuracy', series: [{ name: 'GRPO', line: true, points }, { name: 'SFT', points: [{ x: Math.log2(S.group_sizes[0]), y: sft, label: 'SFT' }] }] }) }],
      notes: [
        `${S.steps} steps of ${S.prompts_per_step} prompts per arm (uniform sampling), so G = 16 samples 8x the completions of G = 2. Test accuracy (mean over seeds ${S.seeds.join(', ')}): ${S.group_sizes.map((G) => `G=${G} ${mean(acc(G)).toFixed(3)}`).join(', ')}; SFT ${sft.toFixed(3)}; ${test.length} test prompts.`,
        'The paper\'s reward-model-size vs policy-size comparison is the experiment rlhf-model-size.',
      ],
    };
  },
};
