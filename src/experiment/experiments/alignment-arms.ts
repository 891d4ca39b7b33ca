/**
 * What the alignment experiments (exo-vs-dpo, ppo-vs-dpo) share: the base SFT and reward models,
 * training prompts, held-out prompts split into validation and test halves, the evaluation of an arm
 * on both (per-prompt gold reward, KL to SFT, length), selection on validation, paired comparisons
 * on test, and the reward-vs-KL plot.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, ConfigError } from '../../errors.js';
import { generateWorldTask, goldReward, type PreferenceRecord } from '../../data/world/index.js';
import { readJsonl } from '../../data/jsonl.js';
import { evaluateAlignment } from '../../eval/alignment-eval.js';
import { loadCausalLM, loadModel } from '../../models/glm/checkpoint.js';
import { GlmForSequenceClassification, type GlmForCausalLM } from '../../models/glm/model.js';
import { uniquePrompts } from '../../pipeline/alignment-stage.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { sampleCandidates, type CandidateGroup } from '../../trainers/exo/exo-trainer.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { PpoTrainer, ppoSchema, preparePpoPrompts } from '../../trainers/ppo/ppo-trainer.js';
import { ValueModel } from '../../trainers/ppo/value-model.js';
import { loadSftExamples } from '../../trainers/sft/sft-data.js';
import { validationTestSplit } from '../../eval/splits.js';
import { bootstrapMean, pairedBootstrap, verdictOf } from '../stats.js';
import { xyChart } from '../../report/svg.js';
import type { ArmResult, BaseArtifacts, Comparison, ExperimentContext, ScoreRow } from '../types.js';

export interface AlignmentSettings extends Record<string, unknown> {
  train_prompts: number;
  validation_prompts: number;
  test_prompts: number;
  samples_per_prompt: number;
  num_candidates: number;
  max_new_tokens: number;
  max_seq_length: number;
  prompt_seed: number;
  resamples: number;
  seeds: number[];
}

export interface AlignmentMetrics extends Record<string, unknown> {
  validation_gold: number;
  validation_kl: number;
  test_gold: number;
  test_kl: number;
  test_length: number;
  test_truncated: number;
}

export type AlignmentArm = ArmResult<AlignmentMetrics>;

export interface AlignmentSetup {
  base: BaseArtifacts;
  tok: Tokenizer;
  seed: number;
  /** the SFT model: the reference of every KL and the start of every arm */
  ref: GlmForCausalLM;
  prefTrain: string;
  trainPrompts: ChatMessage[][];
  validation: ChatMessage[][];
  test: ChatMessage[][];
  loadRm(): GlmForSequenceClassification;
  /** K SFT samples per training prompt scored by the reward model (computed once, on first use) */
  candidates(): CandidateGroup[];
  /** the arm's per-prompt scores on validation and test, and their means */
  evaluate(policy: GlmForCausalLM): AlignmentArm;
  /** what every arm's config starts with (so a changed evaluation reruns every arm) */
  armConfig: Record<string, unknown>;
}

/** A reward model folder (sequence classification), or an error that says what was found. */
export function loadRewardModel(dir: string): GlmForSequenceClassification {
  const m = loadModel(dir);
  if (!(m instanceof GlmForSequenceClassification)) throw new CheckpointError(`${dir}: expected a reward model (sequence classification), found a causal LM; pass the reward/final folder of a pipeline run`);
  return m;
}

export async function alignmentSetup(ctx: ExperimentContext, S: AlignmentSettings): Promise<AlignmentSetup> {
  // every arm trains and samples with one seed; more would be recorded in the settings but not run
  if (S.seeds.length > 1) throw new ConfigError(`this alignment experiment trains each arm with one seed; got --seeds ${S.seeds.join(',')}: run it once per seed (--seeds N, each with its own --out)`);
  const base = await ctx.base();
  const tok = loadTokenizer(base.sftDir);
  const seed = S.seeds[0] ?? 0;
  const prefTrain = join(base.dataDir, 'preference.jsonl');
  const trainPrompts = uniquePrompts(readJsonl(prefTrain).map((r) => r.value as unknown as PreferenceRecord)).slice(0, S.train_prompts);
  // held-out prompts of a seed no pipeline stage used, halved into validation and test
  const heldOut = uniquePrompts(generateWorldTask('preference', { n: 4 * (S.validation_prompts + S.test_prompts), seed: S.prompt_seed, split: 'test' }) as PreferenceRecord[]);
  const halves = validationTestSplit(heldOut);
  const validation = halves.validation.slice(0, S.validation_prompts), test = halves.test.slice(0, S.test_prompts);
  if (validation.length < S.validation_prompts || test.length < S.test_prompts) ctx.log(`experiment: only ${validation.length} validation and ${test.length} test prompts were drawn`);
  const loadRm = () => loadRewardModel(base.rewardDir);
  const ref = loadCausalLM(base.sftDir);
  const gold = (p: ChatMessage[], r: string) => goldReward(p, r);
  let groups: CandidateGroup[] | null = null;
  const evaluate = (policy: GlmForCausalLM): AlignmentArm => {
    const opts = { numSamples: S.samples_per_prompt, maxNewTokens: S.max_new_tokens, thinking: true, seed };
    const v = evaluateAlignment(policy, ref, tok, validation, gold, opts), t = evaluateAlignment(policy, ref, tok, test, gold, opts);
    const rows = (split: string, r: typeof v): ScoreRow[] => r.per_prompt.gold.map((g, i) => ({ split, prompt: i, gold: g, kl: r.per_prompt.kl[i], length: r.per_prompt.length[i] }));
    const metrics: AlignmentMetrics = { validation_gold: v.gold_reward, validation_kl: v.kl, test_gold: t.gold_reward, test_kl: t.kl, test_length: t.length, test_truncated: t.truncated };
    return { metrics, scores: [...rows('validation', v), ...rows('test', t)] };
  };
  return {
    base, tok, seed, ref, prefTrain, trainPrompts, validation, test, loadRm, evaluate,
    candidates: () => (groups ??= sampleCandidates(loadCausalLM(base.sftDir), loadRm(), tok, trainPrompts, { K: S.num_candidates, temperature: 0.8, maxNewTokens: S.max_new_tokens, betaR: 1, seed, maxLen: S.max_seq_length, thinking: true })),
    armConfig: { base: base.dir, seed, samples_per_prompt: S.samples_per_prompt, max_new_tokens: S.max_new_tokens, validation_prompts: validation.length, test_prompts: test.length, prompt_seed: S.prompt_seed },
  };
}

export interface PpoArmOptions {
  /** the policy's SFT model: its start and its KL reference */
  sftDir: string;
  rewardDir: string;
  /** world preference pairs (the trainer's data file) and the SFT chats of PPO-ptx */
  prefTrain: string;
  sftData: string;
  tok: Tokenizer;
  prompts: ChatMessage[][];
  out: string;
  seed: number;
  steps: number;
  batch: number;
  ptxBatch: number;
  learningRate: number;
  klCoef: number;
  maxNewTokens: number;
  maxSeqLength: number;
  /** names the experiment in config errors */
  source: string;
}

/**
 * PPO from an SFT model with a reward model (the pipeline's settings otherwise: thinking mode, whitened
 * advantages, PPO-ptx on the SFT chats when there are any, the value model started from the reward
 * model). Returns the trained policy and the SFT reference it was held to.
 */
export async function trainPpoArm(o: PpoArmOptions): Promise<{ policy: GlmForCausalLM; ref: GlmForCausalLM }> {
  const cfg = resolveConfig(ppoSchema, {
    object: { model: o.sftDir, data: o.prefTrain, seed: o.seed, quiet: true, logging_steps: 1, save_steps: 0, max_seq_length: o.maxSeqLength, reward_model: o.rewardDir, sft_data: o.sftData, out: o.out, max_steps: o.steps, per_device_train_batch_size: o.batch, response_length: o.maxNewTokens, enable_thinking: true, ptx_batch_size: o.ptxBatch, learning_rate: o.learningRate, kl_coef: o.klCoef, whiten_advantages: true },
    objectSource: o.source,
  });
  const loadRm = () => loadRewardModel(o.rewardDir);
  const ref = loadCausalLM(o.sftDir), rm = loadRm();
  const prep = preparePpoPrompts(ref, rm, o.tok, o.prompts, cfg);
  const sftEx = existsSync(o.sftData) ? loadSftExamples(o.sftData, o.tok, cfg.max_seq_length).examples : null;
  if (!sftEx) cfg.ptx_coef = 0;
  const policy = loadCausalLM(o.sftDir);
  await new PpoTrainer(cfg, policy, ref, new ValueModel(loadRm()), rm, o.tok, prep.prompts, sftEx).train();
  return { policy, ref };
}

/** An arm's per-prompt test scores in prompt order. */
export function testScores(arm: AlignmentArm, key: 'gold' | 'kl' | 'length'): number[] {
  return arm.scores.filter((r) => r.split === 'test').sort((a, b) => (a.prompt as number) - (b.prompt as number)).map((r) => r[key] as number);
}

/** The arm with the highest validation gold reward among `names` (optionally only those passing `keep`). */
export function bestOnValidation(arms: Record<string, AlignmentArm>, names: readonly string[]): string {
  return names.reduce((a, b) => (arms[b].metrics.validation_gold > arms[a].metrics.validation_gold ? b : a));
}

const METRIC_NAMES = { gold: 'test gold reward', kl: 'test KL to SFT (nats)', length: 'test response tokens' } as const;

/** Paired bootstrap over test prompts of arm a minus arm b. */
export function compareArms(arms: Record<string, AlignmentArm>, metric: 'gold' | 'kl' | 'length', a: string, b: string, claim: 'greater' | 'less', decides: boolean, resamples: number): Comparison {
  const r = pairedBootstrap(testScores(arms[a], metric), testScores(arms[b], metric), { resamples, seed: 0 });
  return { metric: METRIC_NAMES[metric], a, b, diff: r.estimate, ci95: r.ci, n: r.n, claim, margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(r.ci, claim), decides };
}

/** Gold reward against KL on the test prompts, with bootstrap intervals, one series per method. */
export function rewardKlPlot(arms: Record<string, AlignmentArm>, series: { name: string; arms: { arm: string; label: string }[] }[], resamples: number): string {
  const point = (name: string, label: string) => {
    const g = bootstrapMean(testScores(arms[name], 'gold'), { resamples, seed: 0 }), k = bootstrapMean(testScores(arms[name], 'kl'), { resamples, seed: 0 });
    return { x: k.estimate, y: g.estimate, yci: g.ci, xci: k.ci, label };
  };
  return xyChart({
    title: 'Gold reward vs KL to SFT (test prompts, 95% CIs)',
    xLabel: 'KL(policy || SFT), nats per response',
    yLabel: 'gold reward',
    series: series.map((s) => ({ name: s.name, line: s.arms.length > 1, points: s.arms.map((a) => point(a.arm, a.label)) })),
  });
}
