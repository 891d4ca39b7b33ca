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
import { generateWorldTask, goldReward, type PreferenceRecord } from '../../data/world/index.js';
import { readJsonl } from '../../data/jsonl.js';
import { evaluateAlignment } from '../../eval/alignment-eval.js';
import { loadCausalLM, loadModel } from '../../models/glm/checkpoint.js';
import { GlmForSequenceClassification } from '../../models/glm/model.js';
import { uniquePrompts } from '../../pipeline/alignment-stage.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { DpoTrainer, dpoSchema } from '../../trainers/dpo/dpo-trainer.js';
import { ExoTrainer, candidatePairs, exoSchema, sampleCandidates, type CandidateGroup } from '../../trainers/exo/exo-trainer.js';
import { CheckpointError } from '../../errors.js';
import { configHash } from '../../util/config-hash.js';
import { bootstrapMean, pairedBootstrap, verdictOf } from '../stats.js';
import { barChart, xyChart } from '../svg.js';
import type { ArmResult, Comparison, Experiment, ExperimentContext, ScoreRow } from '../types.js';

interface Settings extends Record<string, unknown> {
  betas: number[];
  train_prompts: number;
  validation_prompts: number;
  test_prompts: number;
  samples_per_prompt: number;
  num_candidates: number;
  steps: number;
  batch: number;
  learning_rate: number;
  max_new_tokens: number;
  max_seq_length: number;
  prompt_seed: number;
  resamples: number;
  seeds: number[];
}

/** Held-out world prompts, split in two halves by a hash of the prompt: validation and test never share one. */
export function validationTestPrompts(prompts: readonly ChatMessage[][]): { validation: ChatMessage[][]; test: ChatMessage[][] } {
  const validation: ChatMessage[][] = [], test: ChatMessage[][] = [];
  for (const p of prompts) (parseInt(configHash(p).slice(0, 8), 16) % 2 === 0 ? validation : test).push(p);
  return { validation, test };
}

interface ArmMetrics extends Record<string, unknown> {
  validation_gold: number;
  validation_kl: number;
  test_gold: number;
  test_kl: number;
  test_length: number;
}

export const exoVsDpo: Experiment = {
  name: 'exo-vs-dpo',
  paper: 'EXO: Towards Efficient Exact Optimization of Language Model Alignment',
  claim: 'At matched KL to the SFT model, EXO reaches a higher gold reward than DPO (both trained on the same reward-model-scored SFT samples).',
  minutes: { alone: 75, withBase: 30 },
  needs: { rewardModel: true },
  settings(quick) {
    return quick
      ? { betas: [2], train_prompts: 6, validation_prompts: 3, test_prompts: 4, samples_per_prompt: 1, num_candidates: 4, steps: 2, batch: 4, learning_rate: 2e-5, max_new_tokens: 12, max_seq_length: 384, prompt_seed: 700, resamples: 2000 }
      : { betas: [0.5, 2, 5], train_prompts: 240, validation_prompts: 80, test_prompts: 160, samples_per_prompt: 4, num_candidates: 4, steps: 120, batch: 16, learning_rate: 2e-5, max_new_tokens: 224, max_seq_length: 384, prompt_seed: 700, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const tok = loadTokenizer(base.sftDir);
    const seed = S.seeds[0] ?? 0;
    const trainPrompts = uniquePrompts(readJsonl(join(base.dataDir, 'preference.jsonl')).map((r) => r.value as unknown as PreferenceRecord)).slice(0, S.train_prompts);
    // held-out prompts of a seed no pipeline stage used, split into validation and test halves
    const heldOut = uniquePrompts(generateWorldTask('preference', { n: 4 * (S.validation_prompts + S.test_prompts), seed: S.prompt_seed, split: 'test' }) as PreferenceRecord[]);
    const halves = validationTestPrompts(heldOut);
    const validation = halves.validation.slice(0, S.validation_prompts), test = halves.test.slice(0, S.test_prompts);
    if (validation.length < S.validation_prompts || test.length < S.test_prompts) ctx.log(`exo-vs-dpo: only ${validation.length} validation and ${test.length} test prompts were drawn`);
    const loadRm = () => {
      const m = loadModel(base.rewardDir);
      if (!(m instanceof GlmForSequenceClassification)) throw new CheckpointError(`${base.rewardDir}: expected a reward model (sequence classification)`);
      return m;
    };
    const ref = loadCausalLM(base.sftDir);
    const gold = (p: ChatMessage[], r: string) => goldReward(p, r);
    const evalOn = (policy: ReturnType<typeof loadCausalLM>) => {
      const opts = { numSamples: S.samples_per_prompt, maxNewTokens: S.max_new_tokens, thinking: true, seed };
      const v = evaluateAlignment(policy, ref, tok, validation, gold, opts), t = evaluateAlignment(policy, ref, tok, test, gold, opts);
      const scores: ScoreRow[] = [
        ...v.per_prompt.gold.map((g, i) => ({ split: 'validation', prompt: i, gold: g, kl: v.per_prompt.kl[i], length: v.per_prompt.length[i] })),
        ...t.per_prompt.gold.map((g, i) => ({ split: 'test', prompt: i, gold: g, kl: t.per_prompt.kl[i], length: t.per_prompt.length[i] })),
      ];
      const metrics: ArmMetrics = { validation_gold: v.gold_reward, validation_kl: v.kl, test_gold: t.gold_reward, test_kl: t.kl, test_length: t.length, test_truncated: t.truncated };
      return { metrics, scores };
    };
    const common = { base: base.dir, seed, samples_per_prompt: S.samples_per_prompt, max_new_tokens: S.max_new_tokens, validation_prompts: validation.length, test_prompts: test.length, prompt_seed: S.prompt_seed };
    const arms: Record<string, ArmResult<ArmMetrics>> = {};
    arms.sft = await ctx.arm('sft', common, async () => evalOn(ref));
    let groups: CandidateGroup[] | null = null;
    const candidates = () => (groups ??= sampleCandidates(loadCausalLM(base.sftDir), loadRm(), tok, trainPrompts, { K: S.num_candidates, temperature: 0.8, maxNewTokens: S.max_new_tokens, betaR: 1, seed, maxLen: S.max_seq_length, thinking: true }));
    const trainCommon = { model: base.sftDir, data: join(base.dataDir, 'preference.jsonl'), seed, quiet: true, logging_steps: 1, save_steps: 0, max_seq_length: S.max_seq_length, max_steps: S.steps, learning_rate: S.learning_rate };
    for (const beta of S.betas) {
      for (const method of ['dpo', 'exo'] as const) {
        const name = `${method}-beta${beta}`;
        const config = { ...common, method, beta, train_prompts: trainPrompts.length, num_candidates: S.num_candidates, steps: S.steps, batch: S.batch, learning_rate: S.learning_rate };
        arms[name] = await ctx.arm(name, config, async (dir) => {
          const policy = loadCausalLM(base.sftDir);
          const out = join(dir, 'train');
          if (method === 'dpo') {
            const cfg = resolveConfig(dpoSchema, { object: { ...trainCommon, out, beta, per_device_train_batch_size: S.batch }, objectSource: 'exo-vs-dpo' });
            await new DpoTrainer(cfg, policy, loadCausalLM(base.sftDir), tok, candidatePairs(candidates(), 0, 'all'), null).train();
          } else {
            const cfg = resolveConfig(exoSchema, { object: { ...trainCommon, out, beta_pi: beta, reward_model: base.rewardDir, per_device_train_batch_size: Math.max(1, S.batch / 2), num_candidates: S.num_candidates, max_new_tokens: S.max_new_tokens, enable_thinking: true }, objectSource: 'exo-vs-dpo' });
            await new ExoTrainer(cfg, policy, loadCausalLM(base.sftDir), tok, candidates()).train();
          }
          return evalOn(policy);
        });
        const m = arms[name].metrics;
        ctx.log(`exo-vs-dpo: ${name}: validation gold ${m.validation_gold.toFixed(3)} KL ${m.validation_kl.toFixed(2)}; test gold ${m.test_gold.toFixed(3)} KL ${m.test_kl.toFixed(2)}`);
      }
    }
    return summarise(ctx, S, arms);
  },
};

function testScores(arm: ArmResult<ArmMetrics>, key: 'gold' | 'kl' | 'length'): number[] {
  return arm.scores.filter((r) => r.split === 'test').sort((a, b) => (a.prompt as number) - (b.prompt as number)).map((r) => r[key] as number);
}

/** Selection on validation, comparisons on test, plots. */
function summarise(ctx: ExperimentContext, S: Settings, arms: Record<string, ArmResult<ArmMetrics>>) {
  const names = (m: string) => S.betas.map((b) => `${m}-beta${b}`);
  const dpo = names('dpo').reduce((a, b) => (arms[b].metrics.validation_gold > arms[a].metrics.validation_gold ? b : a));
  const dpoKl = arms[dpo].metrics.validation_kl;
  const within = names('exo').filter((e) => arms[e].metrics.validation_kl <= dpoKl);
  const exo = within.length > 0
    ? within.reduce((a, b) => (arms[b].metrics.validation_gold > arms[a].metrics.validation_gold ? b : a))
    : names('exo').reduce((a, b) => (Math.abs(arms[b].metrics.validation_kl - dpoKl) < Math.abs(arms[a].metrics.validation_kl - dpoKl) ? b : a));
  const boot = { resamples: S.resamples, seed: 0 };
  const compare = (metric: 'gold' | 'kl', a: string, b: string, claim: 'greater' | 'less', decides: boolean): Comparison => {
    const r = pairedBootstrap(testScores(arms[a], metric), testScores(arms[b], metric), boot);
    return { metric: `test ${metric === 'gold' ? 'gold reward' : 'KL to SFT (nats)'}`, a, b, diff: r.estimate, ci95: r.ci, n: r.n, claim, margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(r.ci, claim), decides };
  };
  const comparisons = [
    compare('gold', exo, dpo, 'greater', true),
    compare('kl', exo, dpo, 'less', false),
    compare('gold', dpo, 'sft', 'greater', false),
    compare('gold', exo, 'sft', 'greater', false),
  ];
  const point = (name: string, label: string) => {
    const g = bootstrapMean(testScores(arms[name], 'gold'), boot), k = bootstrapMean(testScores(arms[name], 'kl'), boot);
    return { x: k.estimate, y: g.estimate, yci: g.ci, xci: k.ci, label };
  };
  const frontier = xyChart({
    title: 'Gold reward vs KL to SFT (test prompts, 95% CIs)',
    xLabel: 'KL(policy || SFT), nats per response',
    yLabel: 'gold reward',
    series: [
      { name: 'SFT', points: [point('sft', 'SFT')] },
      { name: 'DPO', line: true, points: S.betas.map((b) => point(`dpo-beta${b}`, `β=${b}`)) },
      { name: 'EXO', line: true, points: S.betas.map((b) => point(`exo-beta${b}`, `β=${b}`)) },
    ],
  });
  const bars = barChart({ title: 'Differences on the test prompts (95% CIs)', yLabel: 'difference in gold reward', bars: comparisons.filter((c) => c.metric.includes('gold')).map((c) => ({ label: `${c.a} − ${c.b}`, value: c.diff, ci: c.ci95 })) });
  const m = (n: string) => arms[n].metrics;
  const notes = [
    `Selected on ${S.validation_prompts} validation prompts: DPO's best beta is ${dpo} (gold ${m(dpo).validation_gold.toFixed(3)}, KL ${m(dpo).validation_kl.toFixed(2)}); the matched EXO arm is ${exo} (gold ${m(exo).validation_gold.toFixed(3)}, KL ${m(exo).validation_kl.toFixed(2)})${within.length ? ', the best EXO arm with no more KL' : ', nearest in KL (no EXO arm had less)'}.`,
    `On the ${comparisons[0].n} test prompts (${S.samples_per_prompt} samples each, thinking mode, temperature 1): ${exo} gold ${m(exo).test_gold.toFixed(3)} at KL ${m(exo).test_kl.toFixed(2)}; ${dpo} gold ${m(dpo).test_gold.toFixed(3)} at KL ${m(dpo).test_kl.toFixed(2)}; SFT ${m('sft').test_gold.toFixed(3)}.`,
    `The KL check (${comparisons[1].verdict}): ${comparisons[1].verdict === 'reproduced' ? 'EXO used less KL on the test prompts, so the comparison is at no more KL' : 'EXO did not use clearly less KL on the test prompts; read the gold difference with the frontier plot'}.`,
  ];
  ctx.log(`exo-vs-dpo: ${exo} - ${dpo} gold ${comparisons[0].diff.toFixed(3)} [${comparisons[0].ci95.map((v) => v.toFixed(3)).join(', ')}]`);
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

