/**
 * rlhf-model-size (Does RLHF Scale?): a larger reward model helps the policy more than a larger
 * policy helps itself. A 2 x 2 of policy size x reward-model size, one size step apart: `micro`
 * (hidden 64, configs/micro.json) and `tiny` (hidden 128, the base recipe's preset). Both sizes go
 * through the same recipe with the same data and tokenizer: pre-training, SFT, and a reward model
 * with the curriculum of the base's reward model (frozen-half when the experiment built its base).
 * Each of the four pairs runs PPO (the pipeline's settings) from the policy's SFT model; the RL gain
 * of a pair is its gold reward minus its own SFT model's, per test prompt. Main effects over the 2 x 2:
 *   RM size:     1/2 [(gain(micro, tiny) - gain(micro, micro)) + (gain(tiny, tiny) - gain(tiny, micro))]
 *   policy size: 1/2 [(gain(tiny, micro) - gain(micro, micro)) + (gain(tiny, tiny) - gain(micro, tiny))]
 * (policy first). Claim: RM-size effect - policy-size effect > 0, paired bootstrap over test prompts.
 * The paper's sizes (billions of parameters) and the issue's {tiny, small} do not fit 30 minutes on
 * 2 cores (small is ~40x tiny's FLOPs); micro vs tiny tests the same relative claim one step down.
 * No setting is chosen by looking at results, so there is no validation split.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../../errors.js';
import { generateWorldTask, goldReward, type PreferenceRecord } from '../../data/world/index.js';
import { readJsonl } from '../../data/jsonl.js';
import { evaluateAlignment } from '../../eval/alignment-eval.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { runAlignmentStages, uniquePrompts } from '../../pipeline/alignment-stage.js';
import { runPipeline } from '../../pipeline/pipeline.js';
import { pipelineSchema } from '../../pipeline/recipe.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { bootstrapMean, pairedBootstrap, verdictOf } from '../stats.js';
import { barChart } from '../../report/svg.js';
import type { ArmResult, Comparison, Experiment, ExperimentContext, ScoreRow } from '../types.js';
import { trainPpoArm } from './alignment-arms.js';

interface Settings extends Record<string, unknown> {
  small_preset: string;
  ppo_steps: number;
  ppo_batch: number;
  ppo_learning_rate: number;
  kl_coef: number;
  train_prompts: number;
  test_prompts: number;
  samples_per_prompt: number;
  max_new_tokens: number;
  max_seq_length: number;
  prompt_seed: number;
  resamples: number;
  seeds: number[];
}

export type Size = 'small' | 'large';
const SIZES: readonly Size[] = ['small', 'large'];

interface SizeModels {
  preset: string;
  sftDir: string;
  rewardDir: string;
}

/** A pipeline's recorded reward model: whether its curriculum froze lower layers, and its test-pair accuracy. */
function baseReward(baseDir: string): { frozenHalf: boolean; accuracy: number } {
  const file = join(baseDir, 'alignment', 'state.json');
  if (!existsSync(file)) return { frozenHalf: true, accuracy: NaN };
  const s = JSON.parse(readFileSync(file, 'utf8')) as { summary?: { reward_model?: { accuracy?: number; curriculum?: { freeze_layers: number }[] } } };
  const rm = s.summary?.reward_model;
  return { frozenHalf: (rm?.curriculum ?? []).some((p) => p.freeze_layers > 0), accuracy: rm?.accuracy ?? NaN };
}

/** Per-prompt a - b of two equal-length score lists. */
const minus = (a: readonly number[], b: readonly number[]) => a.map((x, i) => x - b[i]);
const half = (a: readonly number[], b: readonly number[]) => a.map((x, i) => (x + b[i]) / 2);

/**
 * Per-prompt main effects of the 2 x 2 on the RL gain, `gain(policy, rm)`: a larger reward model
 * averaged over both policies, and a larger policy averaged over both reward models.
 */
export function sizeMainEffects(gain: (policy: Size, rm: Size) => number[]): { rm: number[]; policy: number[] } {
  return {
    rm: half(minus(gain('small', 'large'), gain('small', 'small')), minus(gain('large', 'large'), gain('large', 'small'))),
    policy: half(minus(gain('large', 'small'), gain('small', 'small')), minus(gain('large', 'large'), gain('small', 'large'))),
  };
}

export const rlhfModelSize: Experiment = {
  name: 'rlhf-model-size',
  paper: 'Does RLHF Scale? Exploring the Impacts From Data, Model, and Method',
  claim: 'A larger reward model raises the policy\'s RL gain more than a larger policy raises its own (PPO over a 2 x 2 of policy and reward-model size, micro and tiny).',
  // measured 2026-12-06 on an idle 2-core machine (docs/experiments/results/README.md): 14.6 minutes with --base
  // (the micro models 6.7 of them), after a base of ~13.5
  minutes: { alone: 29, withBase: 15 },
  needs: 'reward',
  settings(quick) {
    return quick
      ? { small_preset: 'micro', ppo_steps: 2, ppo_batch: 4, ppo_learning_rate: 5e-5, kl_coef: 0.1, train_prompts: 8, test_prompts: 4, samples_per_prompt: 1, max_new_tokens: 12, max_seq_length: 384, prompt_seed: 730, resamples: 2000 }
      : { small_preset: 'micro', ppo_steps: 60, ppo_batch: 32, ppo_learning_rate: 5e-5, kl_coef: 0.1, train_prompts: 240, test_prompts: 160, samples_per_prompt: 4, max_new_tokens: 224, max_seq_length: 384, prompt_seed: 730, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const seed = S.seeds[0] ?? 0;
    const baseRm = baseReward(base.dir), frozenHalf = baseRm.frozenHalf;
    // the small size through the same recipe: pipeline up to evaluation, then the reward model
    const smallArm = await ctx.arm('small-models', { preset: S.small_preset, quick: ctx.quick, reward_frozen_half: frozenHalf }, async (dir) => {
      const cfg = resolveConfig(pipelineSchema, { object: { out: dir, preset: S.small_preset, seed: 0, quick: ctx.quick, until: 'eval', quiet: true }, objectSource: 'rlhf-model-size' });
      await runPipeline(cfg, ctx.log);
      const r = await runAlignmentStages({ out: dir, dataDir: join(dir, 'data'), sftDir: join(dir, 'sft', 'final'), seed: 0, quick: ctx.quick, quiet: true, log: ctx.log, lengthGroups: cfg.length_groups, rewardFrozenHalf: frozenHalf }, { until: 'reward' });
      const rm = r.reward_model as Record<string, number>;
      return { metrics: { reward_accuracy: rm.accuracy, reward_validation_accuracy: rm.validation_accuracy }, scores: [] };
    });
    const smallDir = join(ctx.out, 'small-models');
    const models: Record<Size, SizeModels> = {
      small: { preset: S.small_preset, sftDir: join(smallDir, 'sft', 'final'), rewardDir: join(smallDir, 'reward', 'final') },
      large: { preset: 'base', sftDir: base.sftDir, rewardDir: base.rewardDir },
    };
    // one tokenizer for all four models, or PPO would score token ids of another vocabulary
    const tokText = (d: string) => readFileSync(join(d, 'tokenizer.json'), 'utf8');
    if (tokText(models.small.sftDir) !== tokText(models.large.sftDir)) throw new CheckpointError(`rlhf-model-size: the ${S.small_preset} models' tokenizer (${models.small.sftDir}) differs from the base's (${base.sftDir}); the base must come from \`glmkit pipeline\` with seed 0 on the built-in world`);
    const tok = loadTokenizer(base.sftDir);
    const prefTrain = join(base.dataDir, 'preference.jsonl');
    const trainPrompts = uniquePrompts(readJsonl(prefTrain).map((r) => r.value as unknown as PreferenceRecord)).slice(0, S.train_prompts);
    const test = uniquePrompts(generateWorldTask('preference', { n: 4 * S.test_prompts, seed: S.prompt_seed, split: 'test' }) as PreferenceRecord[]).slice(0, S.test_prompts);
    const sftData = join(base.dataDir, 'sft.jsonl');
    const evalConfig = { base: base.dir, seed, test_prompts: test.length, samples_per_prompt: S.samples_per_prompt, max_new_tokens: S.max_new_tokens, prompt_seed: S.prompt_seed };
    const evaluate = (policy: ReturnType<typeof loadCausalLM>, ref: ReturnType<typeof loadCausalLM>): ArmResult<Record<string, number>> => {
      const r = evaluateAlignment(policy, ref, tok, test, (p, resp) => goldReward(p, resp), { numSamples: S.samples_per_prompt, maxNewTokens: S.max_new_tokens, thinking: true, seed });
      const scores: ScoreRow[] = r.per_prompt.gold.map((g, i) => ({ prompt: i, gold: g, kl: r.per_prompt.kl[i], length: r.per_prompt.length[i] }));
      return { metrics: { test_gold: r.gold_reward, test_kl: r.kl, test_length: r.length }, scores };
    };
    const arms: Record<string, ArmResult<Record<string, number>>> = {};
    for (const p of SIZES) arms[`sft-${p}`] = await ctx.arm(`sft-${p}`, { ...evalConfig, policy: models[p].preset }, async () => evaluate(loadCausalLM(models[p].sftDir), loadCausalLM(models[p].sftDir)));
    for (const p of SIZES) {
      for (const r of SIZES) {
        const name = `ppo-policy-${p}-rm-${r}`;
        arms[name] = await ctx.arm(name, { ...evalConfig, policy: models[p].preset, reward_model: models[r].preset, reward_frozen_half: frozenHalf, steps: S.ppo_steps, batch: S.ppo_batch, learning_rate: S.ppo_learning_rate, kl_coef: S.kl_coef, train_prompts: trainPrompts.length }, async (dir) => {
          const { policy, ref } = await trainPpoArm({ sftDir: models[p].sftDir, rewardDir: models[r].rewardDir, prefTrain, sftData, tok, prompts: trainPrompts, out: join(dir, 'train'), seed, steps: S.ppo_steps, batch: S.ppo_batch, ptxBatch: Math.max(1, S.ppo_batch / 4), learningRate: S.ppo_learning_rate, klCoef: S.kl_coef, maxNewTokens: S.max_new_tokens, maxSeqLength: S.max_seq_length, source: 'rlhf-model-size' });
          return evaluate(policy, ref);
        });
        const m = arms[name].metrics;
        ctx.log(`rlhf-model-size: ${name}: test gold ${m.test_gold.toFixed(3)} (SFT ${arms[`sft-${p}`].metrics.test_gold.toFixed(3)}), KL ${m.test_kl.toFixed(2)}`);
      }
    }
    return summarise(S, arms, { ...smallArm.metrics, tiny_reward_accuracy: baseRm.accuracy }, frozenHalf);
  },
};

function summarise(S: Settings, arms: Record<string, ArmResult<Record<string, number>>>, small: Record<string, number>, frozenHalf: boolean) {
  const gold = (arm: string) => arms[arm].scores.slice().sort((a, b) => (a.prompt as number) - (b.prompt as number)).map((r) => r.gold as number);
  const gain = (p: Size, r: Size) => minus(gold(`ppo-policy-${p}-rm-${r}`), gold(`sft-${p}`));
  const { rm: rmEffect, policy: policyEffect } = sizeMainEffects(gain);
  const zeros = rmEffect.map(() => 0);
  const cmp = (metric: string, a: string, b: string, xs: number[], ys: number[], claim: 'greater' | 'less', decides: boolean): Comparison => {
    const r = pairedBootstrap(xs, ys, { resamples: S.resamples, seed: 0 });
    return { metric, a, b, diff: r.estimate, ci95: r.ci, n: r.n, claim, margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(r.ci, claim), decides };
  };
  const comparisons: Comparison[] = [
    cmp('effect on the RL gain in test gold reward', 'reward-model size', 'policy size', rmEffect, policyEffect, 'greater', true),
    cmp('RL gain in test gold reward', `reward model ${S.small_preset} -> tiny (main effect)`, 'none', rmEffect, zeros, 'greater', false),
    cmp('RL gain in test gold reward', `policy ${S.small_preset} -> tiny (main effect)`, 'none', policyEffect, zeros, 'less', false),
  ];
  const label = (s: Size) => (s === 'small' ? S.small_preset : 'tiny');
  const gainBars = SIZES.flatMap((p) => SIZES.map((r) => {
    const b = bootstrapMean(gain(p, r), { resamples: S.resamples, seed: 0 });
    return { label: `policy ${label(p)}, RM ${label(r)}`, value: b.estimate, ci: b.ci };
  }));
  const m = (a: string) => arms[a].metrics;
  return {
    settings: S,
    arms: { 'reward-models': { [`${S.small_preset}_test_accuracy`]: small.reward_accuracy, [`${S.small_preset}_validation_accuracy`]: small.reward_validation_accuracy, tiny_test_accuracy: small.tiny_reward_accuracy }, ...Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, v.metrics])) },
    comparisons,
    plots: [
      { file: 'rl-gains.svg', caption: 'RL gain (PPO gold reward minus the policy\'s own SFT model) of each policy and reward-model size, test prompts, 95% bootstrap CIs', svg: barChart({ title: 'RL gain by policy and reward-model size', yLabel: 'gold reward gain over SFT', bars: gainBars }) },
      { file: 'effects.svg', caption: 'Main effects of a larger reward model and a larger policy on the RL gain, and their difference (95% CIs)', svg: barChart({ title: 'Size effects on the RL gain (95% CIs)', yLabel: 'difference in RL gain', bars: comparisons.map((c) => ({ label: c.b === 'none' ? c.a : `${c.a} − ${c.b}`, value: c.diff, ci: c.ci95 })) }) },
    ],
    notes: [
      `SFT gold reward on the ${comparisons[0].n} test prompts: ${S.small_preset} ${m('sft-small').test_gold.toFixed(3)}, tiny ${m('sft-large').test_gold.toFixed(3)}. Reward models on the base's test pairs: ${S.small_preset} ${(100 * small.reward_accuracy).toFixed(1)}% (validation ${(100 * small.reward_validation_accuracy).toFixed(1)}%), tiny ${(100 * small.tiny_reward_accuracy).toFixed(1)}%; curriculum ${frozenHalf ? 'frozen-half' : 'full'} for both.`,
      `PPO gold reward (policy, RM): ${SIZES.flatMap((p) => SIZES.map((r) => `(${label(p)}, ${label(r)}) ${m(`ppo-policy-${p}-rm-${r}`).test_gold.toFixed(3)} at KL ${m(`ppo-policy-${p}-rm-${r}`).test_kl.toFixed(2)}`)).join('; ')}.`,
      'Not the paper\'s scale: one size step (micro -> tiny, 4x the parameters of the decoder layers) instead of billions of parameters.',
    ],
  };
}
