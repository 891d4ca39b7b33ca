/**
 * The alignment stages of `glmkit pipeline` (docs/methods.md §4-5), after SFT:
 *   world preference pairs -> reward model -> PPO, DPO and EXO from the same SFT model
 *   -> each evaluated on held-out prompts with the world's gold reward and the KL to the SFT policy.
 * Resumable: every finished sub-stage is recorded in OUT/alignment/state.json. Returns the summary
 * keys (reward_model, sft.gold_reward, ppo / dpo / exo {gold_reward, kl}), the aligned model with the
 * highest held-out gold reward (best_method, best_model) and whether it beats SFT (best_beats_sft).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, goldReward, writeJsonl, type PreferenceRecord } from '../data/world/index.js';
import { loadPreferenceData, worldCorrectness, type TokenizedPair } from '../data/preference.js';
import { loadCausalLM, loadModel } from '../models/glm/checkpoint.js';
import { GlmForSequenceClassification, type GlmForCausalLM } from '../models/glm/model.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { resolveConfig } from '../trainers/base/config.js';
import type { FrozenFeatureCache } from '../trainers/reward/frozen-cache.js';
import { RewardTrainer, frozenCacheFor, pairMetrics, rewardModelFromCausal, rewardSchema, scoreResponses, scoreSequences } from '../trainers/reward/reward-trainer.js';
import { DpoTrainer, dpoSchema } from '../trainers/dpo/dpo-trainer.js';
import { ExoTrainer, candidatePairs, exoSchema, sampleCandidates, type CandidateGroup } from '../trainers/exo/exo-trainer.js';
import { PpoTrainer, ppoSchema, preparePpoPrompts } from '../trainers/ppo/ppo-trainer.js';
import { ValueModel } from '../trainers/ppo/value-model.js';
import { loadSftExamples } from '../trainers/sft/sft-data.js';
import { evaluateAlignment, type AlignmentEvalResult } from '../eval/alignment-eval.js';
import { pairedBootstrap } from '../experiment/stats.js';
import { CheckpointError } from '../errors.js';
import { readJsonl } from '../data/jsonl.js';
import { writeTextAtomic } from '../io/atomic.js';
import { stageClock, type StageContext } from './stage.js';
import { readStateFile } from './state.js';

/**
 * See StageContext; `lengthGroups`: the length groups of the reward model and DPO (the pipeline's
 * --length-groups; default 1); `rewardFrozenHalf`: train the reward model with the frozen-half
 * curriculum of `rewardCurriculum` (experiment bases; the pipeline keeps the full one).
 */
export type AlignmentContext = StageContext & { lengthGroups?: number; rewardFrozenHalf?: boolean };

/** The three pair files the reward model learns from: world pairs, contrastive pairs, and a mix. */
export type RewardData = 'world' | 'contrastive' | 'mixed';

/** One phase of the reward model's curriculum: its own warm-up and cosine schedule over `steps`. */
export interface RewardPhase {
  data: RewardData;
  steps: number;
  learningRate: number;
  /** bucket-based length balancing (contrastive pairs are worded alike: nothing to balance) */
  lengthBalance: boolean;
  /** the reward trainer's freeze_layers: embeddings and the lowest N decoder layers stay as in the SFT model */
  freezeLayers: number;
}

/** MB of frozen-layer outputs the reward stage keeps per pair file (`frozen_cache_mb`; the tiny preset's contrastive pairs take ~710). */
export const REWARD_FROZEN_CACHE_MB = 2048;

/**
 * The reward model's curriculum, correctness first: contrastive pairs (right vs wrong worded alike)
 * teach it to check the answer against the reasoning, the mixed pairs (half contrastive, half world)
 * bring style back in, and a short low-lr pass on the world pairs restores more of it. Trained on world
 * pairs alone it stays near chance where correctness decides (docs/experiments/alignment.md).
 */
export function rewardCurriculum(quick: boolean, numHiddenLayers = 4, frozenHalf = false): RewardPhase[] {
  const k = quick ? 1 / 500 : 1;
  const steps = (n: number) => Math.max(1, Math.round(n * k));
  // frozenHalf: 1000 + 300 + 300 + 150 steps with the lower half of the layers frozen (and cached) costs
  // about a third of the CPU; it scored 0.875 on validation pairs but 0.8475 on test pairs, under the
  // pipeline's 0.85 target (the default below: 0.8975 on the same pairs), so the pipeline keeps the full
  // curriculum and only experiment bases built without --base use this one (docs/performance.md "The
  // main job", docs/experiments/README.md).
  const freezeLayers = frozenHalf ? Math.floor(numHiddenLayers / 2) : 0;
  return [
    { data: 'contrastive', steps: steps(frozenHalf ? 1000 : 1500), learningRate: 3e-4, lengthBalance: false, freezeLayers },
    { data: 'mixed', steps: steps(300), learningRate: 3e-4, lengthBalance: true, freezeLayers },
    { data: 'mixed', steps: steps(300), learningRate: 3e-4, lengthBalance: true, freezeLayers },
    { data: 'world', steps: steps(150), learningRate: 1e-4, lengthBalance: true, freezeLayers },
  ];
}

/** Sizes of the alignment stages (full and --quick). */
export function alignmentSizes(quick: boolean) {
  return quick
    ? { trainPairs: 48, contrastivePairs: 48, mixedPairs: 48, testPairs: 16, evalPrompts: 6, evalSamples: 1, ppoSteps: 2, ppoBatch: 4, ppoPrompts: 8, dpoSteps: 2, exoSteps: 2, exoPrompts: 6, maxNew: 12, maxLen: 384, batch: 4 }
    : { trainPairs: 3000, contrastivePairs: 6000, mixedPairs: 6000, testPairs: 400, evalPrompts: 150, evalSamples: 4, ppoSteps: 60, ppoBatch: 32, ppoPrompts: 300, dpoSteps: 120, exoSteps: 120, exoPrompts: 240, maxNew: 224, maxLen: 384, batch: 16 };
}

/** Unique prompts of preference records, in order. */
export function uniquePrompts(records: readonly { prompt: ChatMessage[] }[]): ChatMessage[][] {
  const seen = new Set<string>();
  const out: ChatMessage[][] = [];
  for (const r of records) {
    const k = JSON.stringify(r.prompt);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(r.prompt);
    }
  }
  return out;
}

function readRecords<T>(file: string): T[] {
  return readJsonl(file).map((r) => r.value as T);
}

/** RM held-out metrics on pairs. */
export function evaluateRewardModel(rm: GlmForSequenceClassification, tok: Tokenizer, pairs: TokenizedPair[], bucketWidth = 16, opts: { worldCorrectness?: boolean } = {}): Record<string, number> {
  const pad = tok.requireId('<|endoftext|>');
  const rw = scoreSequences(rm, pairs.map((p) => p.chosen), pad), rl = scoreSequences(rm, pairs.map((p) => p.rejected), pad);
  const m = pairMetrics(pairs, rw, rl, bucketWidth);
  if (opts.worldCorrectness) {
    // World pairs split by what decides them: equal rubric correctness (style decides), or different
    // correctness with the wrong response's reasoning the same as the right one's (a slip) or not (a misread).
    const acc: Record<string, [number, number]> = { style: [0, 0], correctness: [0, 0], slip: [0, 0], misread: [0, 0] };
    pairs.forEach((p, i) => {
      const [chosen, rejected] = [p.pair.chosen as ChatMessage[], p.pair.rejected as ChatMessage[]];
      const c = worldCorrectness(p.pair.prompt as ChatMessage[], chosen), r = worldCorrectness(p.pair.prompt as ChatMessage[], rejected);
      const kinds = c === r ? ['style'] : ['correctness', chosen.at(-1)?.reasoning_content === rejected.at(-1)?.reasoning_content ? 'slip' : 'misread'];
      for (const k of kinds) {
        acc[k][0] += rw[i] > rl[i] ? 1 : 0;
        acc[k][1]++;
      }
    });
    for (const [k, [ok, n]] of Object.entries(acc)) {
      m[`accuracy_${k}_pairs`] = ok / Math.max(1, n);
      m[`count_${k}_pairs`] = n;
    }
  }
  return m;
}

/** `until: 'reward'` stops after the reward model (what experiments that bring their own policies need). */
export async function runAlignmentStages(ctx: AlignmentContext, opts: { until?: 'reward' } = {}): Promise<Record<string, unknown>> {
  const S = alignmentSizes(ctx.quick);
  const dir = (name: string) => join(ctx.out, name);
  const stateFile = join(ctx.out, 'alignment', 'state.json');
  mkdirSync(join(ctx.out, 'alignment'), { recursive: true });
  const state: { done: string[]; summary: Record<string, unknown> } = existsSync(stateFile)
    ? readStateFile(stateFile, `remove ${join(ctx.out, 'alignment')} to redo the alignment stages, or rerun the pipeline with --force-stage align`)
    : { done: [], summary: {} };
  const save = () => writeTextAtomic(stateFile, JSON.stringify(state, null, 2) + '\n');
  // Every stage works in thinking mode: responses are reasoning + answer, so the reward model can check
  // the answer against the reasoning (docs/experiments/alignment.md).
  const common = { seed: ctx.seed, quiet: ctx.quiet, logging_steps: 1, save_steps: 0, max_seq_length: S.maxLen, mixed_precision: ctx.mixedPrecision ?? 'no' };
  // preference_test.jsonl (seed + 301) is the validation set: the recipe's settings were chosen on it and
  // it chooses final/; preference_heldout.jsonl (seed + 311) is the test set the reported figures come from.
  const prefTrain = join(ctx.dataDir, 'preference.jsonl'), prefTest = join(ctx.dataDir, 'preference_test.jsonl'), prefHeld = join(ctx.dataDir, 'preference_heldout.jsonl');
  const rewardFiles: Record<RewardData, string> = { world: prefTrain, contrastive: join(ctx.dataDir, 'preference_contrastive.jsonl'), mixed: join(ctx.dataDir, 'preference_mixed.jsonl') };
  const stage = async (name: string, fn: () => Promise<void> | void) => {
    if (state.done.includes(name)) return ctx.log(`pipeline: ${name} already done`);
    ctx.log(`pipeline: ${name} ...`);
    const clock = stageClock();
    // A stage that was interrupted starts over: clear what it left (its trainer does not resume).
    rmSync(dir(name), { recursive: true, force: true });
    await fn();
    const cost = clock();
    state.summary.seconds = { ...(state.summary.seconds as object), [name]: cost.seconds };
    state.summary.cpu_seconds = { ...(state.summary.cpu_seconds as object), [name]: cost.cpu_seconds };
    state.summary.load_average = { ...(state.summary.load_average as object), [name]: cost.load_average };
    state.done.push(name);
    save();
  };

  await stage('preference-data', async () => {
    mkdirSync(ctx.dataDir, { recursive: true });
    // world pairs (what PPO and EXO draw their prompts from), plus the reward model's contrastive and mixed
    // pairs; the held-out pairs are world pairs only (the distribution the reward model is judged on)
    await writeJsonl(prefTrain, generateWorldTask('preference', { n: S.trainPairs, seed: ctx.seed + 300, split: 'train' }));
    await writeJsonl(rewardFiles.contrastive, generateWorldTask('preference', { n: S.contrastivePairs, seed: ctx.seed + 302, split: 'train', contrastive: 1 }));
    await writeJsonl(rewardFiles.mixed, generateWorldTask('preference', { n: S.mixedPairs, seed: ctx.seed + 303, split: 'train', contrastive: 0.5 }));
    await writeJsonl(prefTest, generateWorldTask('preference', { n: S.testPairs, seed: ctx.seed + 301, split: 'test' }));
    await writeJsonl(prefHeld, generateWorldTask('preference', { n: S.testPairs, seed: ctx.seed + 311, split: 'test' }));
  });
  const tok = loadTokenizer(ctx.sftDir);
  const trainRecords = readRecords<PreferenceRecord>(prefTrain);
  const validationPrompts = uniquePrompts(readRecords<PreferenceRecord>(prefTest)).slice(0, Math.ceil(S.evalPrompts / 2));
  const testPrompts = uniquePrompts(readRecords<PreferenceRecord>(prefHeld)).slice(0, S.evalPrompts);
  const trainPrompts = uniquePrompts(trainRecords);

  await stage('reward', async () => {
    const rm = rewardModelFromCausal(loadCausalLM(ctx.sftDir), ctx.seed);
    const phases = rewardCurriculum(ctx.quick, rm.config.numHiddenLayers, ctx.rewardFrozenHalf ?? false);
    // each phase continues the same model; the last one writes reward/final
    const configs = phases.map((ph, i) => {
      const out = i === phases.length - 1 ? dir('reward') : join(dir('reward'), `phase-${i + 1}`);
      return resolveConfig(rewardSchema, { object: { ...common, model: ctx.sftDir, data: rewardFiles[ph.data], out, max_steps: ph.steps, per_device_train_batch_size: S.batch, learning_rate: ph.learningRate, length_balance: ph.lengthBalance, length_groups: ctx.lengthGroups ?? 1, freeze_layers: ph.freezeLayers, frozen_cache_mb: REWARD_FROZEN_CACHE_MB }, objectSource: 'pipeline' });
    });
    // phases on the same file, balancing and frozen layers share one load and one frozen-feature cache,
    // dropped after the last phase that uses them
    const keyOf = (i: number) => `${configs[i].data}:${configs[i].length_balance}:${configs[i].freeze_layers}`;
    const loaded = new Map<string, { pairs: TokenizedPair[]; cache?: FrozenFeatureCache }>();
    const trained: { data: RewardData; steps: number; pairs: number; freeze_layers: number; seconds: number; cpu_seconds: number }[] = [];
    for (const [i, ph] of phases.entries()) {
      const cfg = configs[i];
      const key = keyOf(i);
      if (!loaded.has(key)) {
        const d = loadPreferenceData(cfg.data, tok, { maxLen: cfg.max_seq_length, balanceLength: cfg.length_balance, bucketWidth: cfg.length_bucket_width, seed: cfg.seed });
        ctx.log(`pipeline: reward model data ${ph.data}: ${d.pairs.length} pairs (${JSON.stringify(d.stats)})`);
        loaded.set(key, { pairs: d.pairs, cache: frozenCacheFor(cfg, rm) ?? undefined });
      }
      const { pairs, cache } = loaded.get(key)!;
      ctx.log(`pipeline: reward model phase ${i + 1}/${phases.length}: ${ph.steps} steps on ${pairs.length} ${ph.data} pairs at lr ${ph.learningRate}${ph.freezeLayers > 0 ? `, embeddings and ${ph.freezeLayers} lowest layers frozen` : ''}`);
      const clock = stageClock();
      await new RewardTrainer(cfg, rm, tok, pairs, null, { frozenCache: cache }).train();
      if (i < phases.length - 1) rmSync(cfg.out, { recursive: true, force: true });
      if (!phases.some((_, j) => j > i && keyOf(j) === key)) loaded.delete(key);
      const { seconds, cpu_seconds } = clock();
      trained.push({ data: ph.data, steps: ph.steps, pairs: pairs.length, freeze_layers: ph.freezeLayers, seconds, cpu_seconds });
    }
    const width = configs.at(-1)!.length_bucket_width;
    const validation = evaluateRewardModel(rm, tok, loadPreferenceData(prefTest, tok, { maxLen: S.maxLen }).pairs, width);
    const test = loadPreferenceData(prefHeld, tok, { maxLen: S.maxLen });
    const m = evaluateRewardModel(rm, tok, test.pairs, width, { worldCorrectness: true });
    state.summary.reward_model = { ...m, validation_accuracy: validation.accuracy, curriculum: trained, test_pairs: test.pairs.length, curriculum_chosen_on: 'validation pairs (data/preference_test.jsonl)' };
    ctx.log(`pipeline: reward model accuracy on test pairs ${(100 * m.accuracy).toFixed(1)}% (validation ${(100 * validation.accuracy).toFixed(1)}%; margin ${m.margin.toFixed(2)}; style-decided pairs ${(100 * m.accuracy_style_pairs).toFixed(1)}%, correctness-decided ${(100 * m.accuracy_correctness_pairs).toFixed(1)}%: slips ${(100 * m.accuracy_slip_pairs).toFixed(1)}%, misreads ${(100 * m.accuracy_misread_pairs).toFixed(1)}%)`);
  });
  const rmDir = join(dir('reward'), 'final');
  if (opts.until === 'reward') return { reward_model: state.summary.reward_model };
  const loadRm = (): GlmForSequenceClassification => {
    const m = loadModel(rmDir);
    if (!(m instanceof GlmForSequenceClassification)) throw new CheckpointError(`${rmDir}: expected a reward model (sequence classification)`);
    return m;
  };

  await stage('ppo', async () => {
    // lr 5e-5, KL coefficient 0.1, 60 updates, whitened advantages: with the curriculum reward model, which
    // also reads the reasoning, PPO at lr 1e-4 and KL 0.05 drifted the reasoning (KL 2.7-4.6 nats, gold
    // -0.02 to +0.03 over SFT); docs/experiments/alignment.md
    const cfg = resolveConfig(ppoSchema, {
      // PPO stays float32 (mixed_precision 'no'): its importance ratios divide the trainer's log-probs by
      // the float32 sampler's, which bf16 compute would move by up to ~0.1 on some tokens
      object: { ...common, mixed_precision: 'no', model: ctx.sftDir, data: prefTrain, reward_model: rmDir, sft_data: join(ctx.dataDir, 'sft.jsonl'), out: dir('ppo'), max_steps: S.ppoSteps, per_device_train_batch_size: S.ppoBatch, response_length: S.maxNew, enable_thinking: true, ptx_batch_size: S.batch / 2, learning_rate: 5e-5, kl_coef: 0.1, whiten_advantages: true },
      objectSource: 'pipeline',
    });
    const rm = loadRm();
    const sft = loadCausalLM(ctx.sftDir);
    const prep = preparePpoPrompts(sft, rm, tok, trainPrompts.slice(0, S.ppoPrompts), cfg);
    ctx.log(`pipeline: ppo prompts ${JSON.stringify(prep.stats)}`);
    const sftEx = existsSync(cfg.sft_data!) ? loadSftExamples(cfg.sft_data!, tok, cfg.max_seq_length).examples : null;
    if (!sftEx) {
      ctx.log(`pipeline: ppo without PPO-ptx (no SFT chats at ${cfg.sft_data})`);
      cfg.ptx_coef = 0;
    }
    await new PpoTrainer(cfg, loadCausalLM(ctx.sftDir), sft, new ValueModel(loadRm()), rm, tok, prep.prompts, sftEx).train();
  });

  // DPO and EXO learn from the same on-policy data, as in the EXO paper's comparison: K SFT samples per
  // prompt scored by the reward model (EXO: all K with their rewards; DPO: every two of a group).
  // DPO on the world's off-policy pairs degrades the reasoning in thinking mode
  // (docs/experiments/alignment.md); `glmkit dpo --data pairs.jsonl` still trains on any pair file.
  let candidates: CandidateGroup[] | null = null;
  const exoCfg = () => resolveConfig(exoSchema, { object: { ...common, model: ctx.sftDir, data: prefTrain, reward_model: rmDir, out: dir('exo'), max_steps: S.exoSteps, per_device_train_batch_size: S.batch / 2, max_new_tokens: S.maxNew, enable_thinking: true }, objectSource: 'pipeline' });
  const sampled = (): CandidateGroup[] => {
    const cfg = exoCfg();
    candidates ??= sampleCandidates(loadCausalLM(ctx.sftDir), loadRm(), tok, trainPrompts.slice(0, S.exoPrompts), { K: cfg.num_candidates, temperature: cfg.temperature, maxNewTokens: cfg.max_new_tokens, betaR: cfg.beta_r, seed: cfg.seed, maxLen: cfg.max_seq_length, thinking: true });
    return candidates;
  };

  await stage('dpo', async () => {
    const cfg = resolveConfig(dpoSchema, { object: { ...common, model: ctx.sftDir, data: prefTrain, out: dir('dpo'), max_steps: S.dpoSteps, per_device_train_batch_size: S.batch, learning_rate: 2e-5, beta: 2, length_groups: ctx.lengthGroups ?? 1 }, objectSource: 'pipeline' });
    // EXO's budget (120 steps at 2e-5); beta 2: at 0.1-0.5 DPO pushes the margins of these long
    // thinking-mode responses far enough to break the reasoning (docs/experiments/alignment.md)
    const pairs = candidatePairs(sampled(), 0, 'all');
    ctx.log(`pipeline: dpo on ${pairs.length} on-policy pairs (every two of the K SFT samples of a prompt, ordered by reward-model score)`);
    await new DpoTrainer(cfg, loadCausalLM(ctx.sftDir), loadCausalLM(ctx.sftDir), tok, pairs, null).train();
  });

  await stage('exo', async () => {
    await new ExoTrainer(exoCfg(), loadCausalLM(ctx.sftDir), loadCausalLM(ctx.sftDir), tok, sampled()).train();
  });

  await stage('alignment-eval', () => {
    // The validation prompts choose the model for final/; the test prompts (a seed no choice saw) give
    // the reported figures, each gain with a paired-bootstrap 95% CI over test prompts.
    const ref = loadCausalLM(ctx.sftDir);
    const gold = (p: ChatMessage[], r: string) => goldReward(p, r);
    const rm = loadRm();
    const proxy = (p: ChatMessage[][], r: ChatMessage[]) => scoreResponses(rm, tok, p, r);
    const opts = { numSamples: S.evalSamples, maxNewTokens: S.maxNew, thinking: true, seed: ctx.seed, proxy };
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const evalBoth = (m: GlmForCausalLM) => ({ v: evaluateAlignment(m, ref, tok, validationPrompts, gold, opts), t: evaluateAlignment(m, ref, tok, testPrompts, gold, opts) });
    const figures = (r: { v: AlignmentEvalResult; t: AlignmentEvalResult }) => ({
      gold_reward: r.t.gold_reward,
      kl: r.t.kl,
      rm_score: r.t.proxy_reward,
      length: r.t.length,
      validation_gold_reward: mean(r.v.per_prompt.gold),
      samples: r.t.samples.slice(0, 3),
    });
    const sft = evalBoth(ref);
    state.summary.sft = figures(sft);
    state.summary.eval_prompts = { validation: validationPrompts.length, test: testPrompts.length, samples_per_prompt: S.evalSamples };
    ctx.log(`pipeline: sft gold reward ${sft.t.gold_reward.toFixed(3)} (${testPrompts.length} test prompts)`);
    for (const method of ['ppo', 'dpo', 'exo']) {
      const r = evalBoth(loadCausalLM(join(dir(method), 'final')));
      const f = figures(r);
      const gain = testPrompts.length >= 2 ? pairedBootstrap(r.t.per_prompt.gold, sft.t.per_prompt.gold, { seed: 0 }) : null;
      state.summary[method] = { ...f, gain: gain?.estimate ?? NaN, gain_ci95: gain?.ci ?? null, truncated: r.t.truncated };
      ctx.log(`pipeline: ${method} gold reward ${f.gold_reward.toFixed(3)}, gain over SFT ${gain ? `${gain.estimate.toFixed(3)} [${gain.ci[0].toFixed(3)}, ${gain.ci[1].toFixed(3)}]` : 'n/a'} (test prompts), KL to SFT ${f.kl.toFixed(2)} nats, reward-model score ${f.rm_score.toFixed(3)}`);
    }
  });

  const s = state.summary;
  const val = (m: string) => (s[m] as { validation_gold_reward: number }).validation_gold_reward;
  // chosen on the validation half only; the figures above are the test half's
  const best = (['ppo', 'dpo', 'exo'] as const).reduce((a, b) => (val(b) > val(a) ? b : a));
  return {
    reward_model: s.reward_model,
    sft: s.sft,
    ppo: s.ppo,
    dpo: s.dpo,
    exo: s.exo,
    eval_prompts: s.eval_prompts,
    best_method: best,
    best_model: join(dir(best), 'final'),
    best_beats_sft: val(best) > val('sft'),
    final_model_selected_on: 'validation',
    alignment_seconds: s.seconds,
    alignment_cpu_seconds: s.cpu_seconds,
    alignment_load_average: s.load_average,
  };
}
