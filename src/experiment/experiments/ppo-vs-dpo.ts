/**
 * ppo-vs-dpo (ChatGLM-RLHF): PPO with the reference-baseline reward beats DPO on gold reward.
 * PPO (reward r(x, y) - r(x, y_ref), the SFT policy's greedy response as y_ref, KL penalty, PPO-ptx)
 * against DPO on the reward-model-ordered SFT samples, from the same SFT and reward models. Each runs
 * at two settings (PPO: KL coefficient; DPO: beta); the better of each on the validation prompts is
 * compared on the test prompts (paired bootstrap over prompts), with KL and response lengths reported.
 */
import { join } from 'node:path';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { DpoTrainer, dpoSchema } from '../../trainers/dpo/dpo-trainer.js';
import { candidatePairs } from '../../trainers/exo/exo-trainer.js';
import { barChart } from '../../report/svg.js';
import type { Experiment, ExperimentContext } from '../types.js';
import { alignmentSetup, bestOnValidation, compareArms, rewardKlPlot, trainPpoArm, type AlignmentArm, type AlignmentSettings } from './alignment-arms.js';

interface Settings extends AlignmentSettings {
  ppo_kl_coefs: number[];
  ppo_steps: number;
  ppo_batch: number;
  ppo_learning_rate: number;
  dpo_betas: number[];
  dpo_steps: number;
  batch: number;
  dpo_learning_rate: number;
}

export const ppoVsDpo: Experiment = {
  name: 'ppo-vs-dpo',
  paper: 'ChatGLM-RLHF: Practices of Aligning Large Language Models with Human Feedback',
  claim: 'PPO with the reference-baseline reward reaches a higher gold reward than DPO from the same SFT and reward models.',
  // measured 2026-12-06 on an idle 2-core machine (docs/experiments/results/README.md): 8.1 minutes with --base, after a base of ~13.5
  minutes: { alone: 22, withBase: 9 },
  needs: 'reward',
  settings(quick) {
    return quick
      ? { ppo_kl_coefs: [0.1], ppo_steps: 2, ppo_batch: 4, ppo_learning_rate: 5e-5, dpo_betas: [2], dpo_steps: 2, batch: 4, dpo_learning_rate: 2e-5, train_prompts: 8, validation_prompts: 3, test_prompts: 4, samples_per_prompt: 1, num_candidates: 4, max_new_tokens: 12, max_seq_length: 384, prompt_seed: 710, resamples: 2000 }
      : { ppo_kl_coefs: [0.05, 0.1], ppo_steps: 60, ppo_batch: 32, ppo_learning_rate: 5e-5, dpo_betas: [0.5, 2], dpo_steps: 120, batch: 16, dpo_learning_rate: 2e-5, train_prompts: 240, validation_prompts: 80, test_prompts: 160, samples_per_prompt: 4, num_candidates: 4, max_new_tokens: 224, max_seq_length: 384, prompt_seed: 710, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const A = await alignmentSetup(ctx, S);
    const arms: Record<string, AlignmentArm> = {};
    arms.sft = await ctx.arm('sft', A.armConfig, async () => A.evaluate(A.ref));
    const common = { model: A.base.sftDir, data: A.prefTrain, seed: A.seed, quiet: true, logging_steps: 1, save_steps: 0, max_seq_length: S.max_seq_length };
    const sftData = join(A.base.dataDir, 'sft.jsonl');
    for (const kl of S.ppo_kl_coefs) {
      const name = `ppo-kl${kl}`;
      arms[name] = await ctx.arm(name, { ...A.armConfig, method: 'ppo', kl_coef: kl, steps: S.ppo_steps, batch: S.ppo_batch, learning_rate: S.ppo_learning_rate, train_prompts: A.trainPrompts.length }, async (dir) => {
        const { policy } = await trainPpoArm({ sftDir: A.base.sftDir, rewardDir: A.base.rewardDir, prefTrain: A.prefTrain, sftData, tok: A.tok, prompts: A.trainPrompts, out: join(dir, 'train'), seed: A.seed, steps: S.ppo_steps, batch: S.ppo_batch, ptxBatch: Math.max(1, S.batch / 2), learningRate: S.ppo_learning_rate, klCoef: kl, maxNewTokens: S.max_new_tokens, maxSeqLength: S.max_seq_length, source: 'ppo-vs-dpo' });
        return A.evaluate(policy);
      });
    }
    for (const beta of S.dpo_betas) {
      const name = `dpo-beta${beta}`;
      arms[name] = await ctx.arm(name, { ...A.armConfig, method: 'dpo', beta, steps: S.dpo_steps, batch: S.batch, learning_rate: S.dpo_learning_rate, train_prompts: A.trainPrompts.length, num_candidates: S.num_candidates }, async (dir) => {
        const cfg = resolveConfig(dpoSchema, { object: { ...common, out: join(dir, 'train'), max_steps: S.dpo_steps, per_device_train_batch_size: S.batch, learning_rate: S.dpo_learning_rate, beta }, objectSource: 'ppo-vs-dpo' });
        const policy = loadCausalLM(A.base.sftDir);
        await new DpoTrainer(cfg, policy, loadCausalLM(A.base.sftDir), A.tok, candidatePairs(A.candidates(), 0, 'all'), null).train();
        return A.evaluate(policy);
      });
    }
    for (const [name, a] of Object.entries(arms)) ctx.log(`ppo-vs-dpo: ${name}: validation gold ${a.metrics.validation_gold.toFixed(3)}; test gold ${a.metrics.test_gold.toFixed(3)} KL ${a.metrics.test_kl.toFixed(2)} length ${a.metrics.test_length.toFixed(1)}`);
    const ppo = bestOnValidation(arms, S.ppo_kl_coefs.map((k) => `ppo-kl${k}`));
    const dpo = bestOnValidation(arms, S.dpo_betas.map((b) => `dpo-beta${b}`));
    const comparisons = [
      compareArms(arms, 'gold', ppo, dpo, 'greater', true, S.resamples),
      compareArms(arms, 'kl', ppo, dpo, 'less', false, S.resamples),
      compareArms(arms, 'length', ppo, dpo, 'less', false, S.resamples),
      compareArms(arms, 'gold', ppo, 'sft', 'greater', false, S.resamples),
      compareArms(arms, 'gold', dpo, 'sft', 'greater', false, S.resamples),
    ];
    const m = (n: string) => arms[n].metrics;
    return {
      settings: S,
      arms: Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, { ...v.metrics, selected: k === ppo || k === dpo ? 'yes' : '' }])),
      comparisons,
      plots: [
        { file: 'reward-kl.svg', caption: 'Gold reward against KL to SFT of every arm, on the test prompts', svg: rewardKlPlot(arms, [{ name: 'SFT', arms: [{ arm: 'sft', label: 'SFT' }] }, { name: 'PPO', arms: S.ppo_kl_coefs.map((k) => ({ arm: `ppo-kl${k}`, label: `KL coef ${k}` })) }, { name: 'DPO', arms: S.dpo_betas.map((b) => ({ arm: `dpo-beta${b}`, label: `β=${b}` })) }], S.resamples) },
        { file: 'differences.svg', caption: 'Test-prompt differences with paired-bootstrap 95% intervals', svg: barChart({ title: 'Gold-reward differences (95% CIs)', yLabel: 'difference in gold reward', bars: comparisons.filter((c) => c.metric.includes('gold')).map((c) => ({ label: `${c.a} − ${c.b}`, value: c.diff, ci: c.ci95 })) }) },
        { file: 'lengths.svg', caption: 'Mean response length of each arm on the test prompts', svg: barChart({ title: 'Response length on the test prompts', yLabel: 'response tokens', bars: Object.keys(arms).map((k) => ({ label: k, value: m(k).test_length })) }) },
      ],
      notes: [
        `Selected on ${S.validation_prompts} validation prompts: ${ppo} (gold ${m(ppo).validation_gold.toFixed(3)}) and ${dpo} (gold ${m(dpo).validation_gold.toFixed(3)}).`,
        `On the ${comparisons[0].n} test prompts (${S.samples_per_prompt} samples each, thinking mode, temperature 1): ${ppo} gold ${m(ppo).test_gold.toFixed(3)}, KL ${m(ppo).test_kl.toFixed(2)}, ${m(ppo).test_length.toFixed(1)} tokens; ${dpo} gold ${m(dpo).test_gold.toFixed(3)}, KL ${m(dpo).test_kl.toFixed(2)}, ${m(dpo).test_length.toFixed(1)} tokens; SFT ${m('sft').test_gold.toFixed(3)}, ${m('sft').test_length.toFixed(1)} tokens.`,
      ],
    };
  },
};
