/**
 * exo-vs-dpo (EXO paper): at matched KL to the SFT model, EXO reaches a higher gold reward than DPO.
 * Both learn from the same data, as in the paper's comparison: K SFT samples per training prompt
 * scored by the reward model (EXO: all K with their rewards; DPO: every two of a group, ordered by
 * score). Each method runs at several betas (its reward-vs-KL frontier). Selection on the
 * validation prompts: DPO's best beta by gold reward, and the EXO beta with the highest gold reward
 * among those whose KL is no larger than that DPO's (the nearest KL when none is). The claim is
 * tested on the test prompts, which no choice saw: paired bootstrap over prompts of EXO - DPO gold.
 */
import { join } from 'node:path';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { DpoTrainer, dpoSchema } from '../../trainers/dpo/dpo-trainer.js';
import { ExoTrainer, candidatePairs, exoSchema } from '../../trainers/exo/exo-trainer.js';
import { barChart } from '../../report/svg.js';
import type { Experiment, ExperimentContext } from '../types.js';
import { alignmentSetup, bestOnValidation, compareArms, rewardKlPlot, type AlignmentArm, type AlignmentSettings } from './alignment-arms.js';

interface Settings extends AlignmentSettings {
  betas: number[];
  steps: number;
  batch: number;
  learning_rate: number;
}

export const exoVsDpo: Experiment = {
  name: 'exo-vs-dpo',
  paper: 'EXO: Towards Efficient Exact Optimization of Language Model Alignment',
  claim: 'At matched KL to the SFT model, EXO reaches a higher gold reward than DPO (both trained on the same reward-model-scored SFT samples).',
  // measured 2026-12-06 from a fresh clone on an idle 2-core machine (docs/experiments/results/README.md): 23.4 minutes, of which the base ~13.5
  minutes: { alone: 24, withBase: 10 },
  needs: 'reward',
  settings(quick) {
    return quick
      ? { betas: [2], train_prompts: 6, validation_prompts: 3, test_prompts: 4, samples_per_prompt: 1, num_candidates: 4, steps: 2, batch: 4, learning_rate: 2e-5, max_new_tokens: 12, max_seq_length: 384, prompt_seed: 700, resamples: 2000 }
      : { betas: [0.5, 2, 5], train_prompts: 240, validation_prompts: 80, test_prompts: 160, samples_per_prompt: 4, num_candidates: 4, steps: 120, batch: 16, learning_rate: 2e-5, max_new_tokens: 224, max_seq_length: 384, prompt_seed: 700, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const A = await alignmentSetup(ctx, S);
    const arms: Record<string, AlignmentArm> = {};
    arms.sft = await ctx.arm('sft', A.armConfig, async () => A.evaluate(A.ref));
    const trainCommon = { model: A.base.sftDir, data: A.prefTrain, seed: A.seed, quiet: true, logging_steps: 1, save_steps: 0, max_seq_length: S.max_seq_length, max_steps: S.steps, learning_rate: S.learning_rate };
    for (const beta of S.betas) {
      for (const method of ['dpo', 'exo'] as const) {
        const name = `${method}-beta${beta}`;
        const config = { ...A.armConfig, method, beta, train_prompts: A.trainPrompts.length, num_candidates: S.num_candidates, steps: S.steps, batch: S.batch, learning_rate: S.learning_rate };
        arms[name] = await ctx.arm(name, config, async (dir) => {
          const policy = loadCausalLM(A.base.sftDir);
          const out = join(dir, 'train');
          if (method === 'dpo') {
            const cfg = resolveConfig(dpoSchema, { object: { ...trainCommon, out, beta, per_device_train_batch_size: S.batch }, objectSource: 'exo-vs-dpo' });
            await new DpoTrainer(cfg, policy, loadCausalLM(A.base.sftDir), A.tok, candidatePairs(A.candidates(), 0, 'all'), null).train();
          } else {
            const cfg = resolveConfig(exoSchema, { object: { ...trainCommon, out, beta_pi: beta, reward_model: A.base.rewardDir, per_device_train_batch_size: Math.max(1, S.batch / 2), num_candidates: S.num_candidates, max_new_tokens: S.max_new_tokens, enable_thinking: true }, objectSource: 'exo-vs-dpo' });
            await new ExoTrainer(cfg, policy, loadCausalLM(A.base.sftDir), A.tok, A.candidates()).train();
          }
          return A.evaluate(policy);
        });
        const m = arms[name].metrics;
        ctx.log(`exo-vs-dpo: ${name}: validation gold ${m.validation_gold.toFixed(3)} KL ${m.validation_kl.toFixed(2)}; test gold ${m.test_gold.toFixed(3)} KL ${m.test_kl.toFixed(2)}`);
      }
    }
    return summarise(S, arms);
  },
};

/** Selection on validation, comparisons on test, plots. */
function summarise(S: Settings, arms: Record<string, AlignmentArm>) {
  const names = (m: string) => S.betas.map((b) => `${m}-beta${b}`);
  const dpo = bestOnValidation(arms, names('dpo'));
  const dpoKl = arms[dpo].metrics.validation_kl;
  const within = names('exo').filter((e) => arms[e].metrics.validation_kl <= dpoKl);
  const exo = within.length > 0
    ? bestOnValidation(arms, within)
    : names('exo').reduce((a, b) => (Math.abs(arms[b].metrics.validation_kl - dpoKl) < Math.abs(arms[a].metrics.validation_kl - dpoKl) ? b : a));
  const comparisons = [
    compareArms(arms, 'gold', exo, dpo, 'greater', true, S.resamples),
    compareArms(arms, 'kl', exo, dpo, 'less', false, S.resamples),
    compareArms(arms, 'gold', dpo, 'sft', 'greater', false, S.resamples),
    compareArms(arms, 'gold', exo, 'sft', 'greater', false, S.resamples),
  ];
  const frontier = rewardKlPlot(arms, [
    { name: 'SFT', arms: [{ arm: 'sft', label: 'SFT' }] },
    { name: 'DPO', arms: S.betas.map((b) => ({ arm: `dpo-beta${b}`, label: `β=${b}` })) },
    { name: 'EXO', arms: S.betas.map((b) => ({ arm: `exo-beta${b}`, label: `β=${b}` })) },
  ], S.resamples);
  const bars = barChart({ title: 'Differences on the test prompts (95% CIs)', yLabel: 'difference in gold reward', bars: comparisons.filter((c) => c.metric.includes('gold')).map((c) => ({ label: `${c.a} − ${c.b}`, value: c.diff, ci: c.ci95 })) });
  const m = (n: string) => arms[n].metrics;
  const notes = [
    `Selected on ${S.validation_prompts} validation prompts: DPO's best beta is ${dpo} (gold ${m(dpo).validation_gold.toFixed(3)}, KL ${m(dpo).validation_kl.toFixed(2)}); the matched EXO arm is ${exo} (gold ${m(exo).validation_gold.toFixed(3)}, KL ${m(exo).validation_kl.toFixed(2)})${within.length ? ', the best EXO arm with no more KL' : ', nearest in KL (no EXO arm had less)'}.`,
    `On the ${comparisons[0].n} test prompts (${S.samples_per_prompt} samples each, thinking mode, temperature 1): ${exo} gold ${m(exo).test_gold.toFixed(3)} at KL ${m(exo).test_kl.toFixed(2)}; ${dpo} gold ${m(dpo).test_gold.toFixed(3)} at KL ${m(dpo).test_kl.toFixed(2)}; SFT ${m('sft').test_gold.toFixed(3)}.`,
    `The KL check (${comparisons[1].verdict}): ${comparisons[1].verdict === 'reproduced' ? 'EXO used less KL on the test prompts, so the comparison is at no more KL' : 'EXO did not use clearly less KL on the test prompts; read the gold difference with the frontier plot'}.`,
  ];
  return {
    settings: S,
    arms: Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, { ...v.metrics, selected: k === dpo || k === exo ? 'yes' : '' }])),
    comparisons,
    plots: [
      { file: 'frontier.svg', caption: 'Reward-vs-KL frontier of DPO and EXO over beta, on the test prompts', svg: frontier },
      { file: 'differences.svg', caption: 'Gold-reward differences with paired-bootstrap 95% intervals', svg: bars },
    ],
    notes,
  };
}
