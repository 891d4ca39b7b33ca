/**
 * rm-length-bias (ChatGLM-RLHF): length-balanced reward-model training reduces the reward model's
 * length bias. Two reward models per seed from the same SFT model and world pairs, with and without
 * bucket-based length balancing. The bias is measured on responses of equal gold quality: K SFT
 * samples per held-out prompt; within a prompt, every two samples with the same gold reward and
 * different lengths form a pair, and the prompt's score is the mean over its pairs of
 * sign(RM difference x length difference) (+1: the RM always prefers the longer one). The bias is
 * signed toward the length the training pairs favour (the world's annotator dislikes verbose answers,
 * so its chosen responses are more often the shorter ones; ChatGLM-RLHF's human raters favoured longer
 * ones). Claim: bias(balanced) < bias(unbalanced), paired bootstrap over test prompts. No setting is
 * chosen by looking at results, so there is no validation split.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, goldReward, writeJsonl, type PreferenceRecord } from '../../data/world/index.js';
import { loadPreferenceData } from '../../data/preference.js';
import { rollout, rolloutMessage } from '../../generation/rollout.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { evaluateRewardModel, uniquePrompts } from '../../pipeline/alignment-stage.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { RewardTrainer, rewardModelFromCausal, rewardSchema, scoreResponses } from '../../trainers/reward/reward-trainer.js';
import { Rng } from '../../util/rng.js';
import { bootstrapMean, pairedBootstrap, verdictOf } from '../stats.js';
import { barChart } from '../../report/svg.js';
import type { ArmResult, Comparison, Experiment, ExperimentContext, ScoreRow } from '../types.js';

interface Settings extends Record<string, unknown> {
  train_pairs: number;
  heldout_pairs: number;
  steps: number;
  batch: number;
  learning_rate: number;
  test_prompts: number;
  samples_per_prompt: number;
  max_new_tokens: number;
  max_seq_length: number;
  prompt_seed: number;
  resamples: number;
  seeds: number[];
}

/**
 * Per prompt: mean of sign((rm_i - rm_j) * (len_i - len_j)) over sample pairs with equal gold and
 * different lengths; NaN for a prompt without such a pair.
 */
export function lengthConcordance(samples: readonly { prompt: number; gold: number; length: number; rm: number }[], prompts: number): number[] {
  const by: (typeof samples)[number][][] = Array.from({ length: prompts }, () => []);
  for (const s of samples) by[s.prompt].push(s);
  return by.map((group) => {
    let sum = 0, n = 0;
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const a = group[i], b = group[j];
        if (Math.abs(a.gold - b.gold) > 1e-9 || a.length === b.length) continue;
        sum += Math.sign((a.rm - b.rm) * (a.length - b.length));
        n++;
      }
    }
    return n > 0 ? sum / n : NaN;
  });
}

export const rmLengthBias: Experiment = {
  name: 'rm-length-bias',
  paper: 'ChatGLM-RLHF: Practices of Aligning Large Language Models with Human Feedback',
  claim: 'Length-balanced reward-model training reduces the reward model\'s length bias: on responses of equal gold quality it prefers the length its training pairs favour less often.',
  // one seed on 160 prompts (2026-12-06, 4.4 minutes with --base) gave an interval of +-0.17, wider than
  // either model's bias; three seeds on 320 prompts took 13.7 (docs/experiments/results/README.md)
  minutes: { alone: 21, withBase: 14 },
  needs: 'sft',
  defaultSeeds: (quick) => (quick ? [0] : [0, 1, 2]),
  settings(quick) {
    return quick
      ? { train_pairs: 48, heldout_pairs: 16, steps: 2, batch: 4, learning_rate: 3e-4, test_prompts: 6, samples_per_prompt: 4, max_new_tokens: 12, max_seq_length: 384, prompt_seed: 720, resamples: 2000 }
      : { train_pairs: 3000, heldout_pairs: 400, steps: 300, batch: 16, learning_rate: 3e-4, test_prompts: 320, samples_per_prompt: 8, max_new_tokens: 224, max_seq_length: 384, prompt_seed: 720, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const tok = loadTokenizer(base.sftDir);
    // world pairs as the pipeline's alignment stage draws them (its seeds), written under DIR/data
    const prefTrain = join(ctx.out, 'data', 'preference.jsonl'), prefHeld = join(ctx.out, 'data', 'preference_test.jsonl');
    mkdirSync(join(ctx.out, 'data'), { recursive: true });
    await writeJsonl(prefTrain, generateWorldTask('preference', { n: S.train_pairs, seed: 300, split: 'train' }));
    await writeJsonl(prefHeld, generateWorldTask('preference', { n: S.heldout_pairs, seed: 301, split: 'test' }));
    const prompts = uniquePrompts(generateWorldTask('preference', { n: 4 * S.test_prompts, seed: S.prompt_seed, split: 'test' }) as PreferenceRecord[]).slice(0, S.test_prompts);
    // the SFT samples every reward model scores (thinking mode, temperature 1)
    const samples = await ctx.arm('samples', { base: base.dir, test_prompts: prompts.length, samples_per_prompt: S.samples_per_prompt, max_new_tokens: S.max_new_tokens, prompt_seed: S.prompt_seed }, async () => {
      const rs = rollout(loadCausalLM(base.sftDir), tok, prompts, { maxNewTokens: S.max_new_tokens, temperature: 1, numSamples: S.samples_per_prompt, batchSize: 32, thinking: true, rng: new Rng('rm-length-bias:samples') });
      const scores: ScoreRow[] = rs.map((r) => ({ prompt: r.promptIndex, gold: goldReward(prompts[r.promptIndex], r.parsed.content), length: r.completionIds.length, message: JSON.stringify(rolloutMessage(r)) }));
      return { metrics: { samples: rs.length }, scores };
    });
    const messages = samples.scores.map((s) => JSON.parse(s.message as string) as ChatMessage);
    const samplePrompts = samples.scores.map((s) => prompts[s.prompt as number]);
    const direction = (() => {
      const d = loadPreferenceData(prefTrain, tok, { maxLen: S.max_seq_length });
      const longer = d.pairs.filter((p) => p.chosen.length > p.rejected.length).length, shorter = d.pairs.filter((p) => p.chosen.length < p.rejected.length).length;
      return { sign: longer >= shorter ? 1 : -1, share_chosen_longer: longer / Math.max(1, longer + shorter) };
    })();
    const arms: Record<string, ArmResult<Record<string, number>>> = {};
    for (const seed of S.seeds) {
      for (const balanced of [true, false]) {
        const name = `${balanced ? 'balanced' : 'unbalanced'}-s${seed}`;
        arms[name] = await ctx.arm(name, { base: base.dir, length_balance: balanced, seed, steps: S.steps, batch: S.batch, learning_rate: S.learning_rate, samples: samples.scores.length }, async (dir) => {
          const cfg = resolveConfig(rewardSchema, { object: { model: base.sftDir, data: prefTrain, out: join(dir, 'train'), seed, max_steps: S.steps, per_device_train_batch_size: S.batch, learning_rate: S.learning_rate, length_balance: balanced, max_seq_length: S.max_seq_length, save_steps: 0, logging_steps: 1, quiet: true }, objectSource: 'rm-length-bias' });
          const data = loadPreferenceData(prefTrain, tok, { maxLen: cfg.max_seq_length, balanceLength: balanced, bucketWidth: cfg.length_bucket_width, seed });
          const rm = rewardModelFromCausal(loadCausalLM(base.sftDir), seed);
          await new RewardTrainer(cfg, rm, tok, data.pairs, null).train();
          const rmScores = scoreResponses(rm, tok, samplePrompts, messages);
          const rows = samples.scores.map((s, i) => ({ prompt: s.prompt as number, gold: s.gold as number, length: s.length as number, rm: rmScores[i] }));
          const conc = lengthConcordance(rows, prompts.length);
          const held = loadPreferenceData(prefHeld, tok, { maxLen: S.max_seq_length });
          const acc = evaluateRewardModel(rm, tok, held.pairs).accuracy;
          const valid = conc.filter(Number.isFinite);
          return { metrics: { length_bias: direction.sign * valid.reduce((a, b) => a + b, 0) / valid.length, heldout_pair_accuracy: acc, prompts_with_pairs: valid.length, balanced_pairs: data.stats.kept }, scores: rows.map((r, i) => ({ ...r, concordance_of_prompt: conc[r.prompt] ?? NaN, sample: i })) };
        });
        ctx.log(`rm-length-bias: ${name}: length bias ${arms[name].metrics.length_bias.toFixed(3)}, held-out pair accuracy ${arms[name].metrics.heldout_pair_accuracy.toFixed(3)}`);
      }
    }
    // per prompt (prompts with at least one equal-gold pair), bias averaged over seeds
    const perPrompt = (kind: string) => {
      const conc = S.seeds.map((s) => lengthConcordance(arms[`${kind}-s${s}`].scores as { prompt: number; gold: number; length: number; rm: number }[], prompts.length));
      return prompts.map((_, p) => direction.sign * conc.reduce((a, c) => a + c[p], 0) / S.seeds.length);
    };
    const bal = perPrompt('balanced'), unb = perPrompt('unbalanced');
    const keep = bal.map((v, i) => Number.isFinite(v) && Number.isFinite(unb[i]));
    const a = bal.filter((_, i) => keep[i]), b = unb.filter((_, i) => keep[i]);
    const comparisons: Comparison[] = [];
    if (a.length >= 2) {
      const r = pairedBootstrap(a, b, { resamples: S.resamples, seed: 0 });
      comparisons.push({ metric: 'length bias on equal-gold pairs', a: 'balanced', b: 'unbalanced', diff: r.estimate, ci95: r.ci, n: r.n, claim: 'less', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(r.ci, 'less'), decides: true });
    }
    const ba = a.length >= 2 ? bootstrapMean(a, { resamples: S.resamples }) : null, bu = b.length >= 2 ? bootstrapMean(b, { resamples: S.resamples }) : null;
    return {
      settings: S,
      arms: Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, v.metrics])),
      comparisons,
      plots: ba && bu ? [{ file: 'length-bias.svg', caption: 'Length bias of each reward model on equal-gold response pairs (95% bootstrap CIs over prompts)', svg: barChart({ title: 'Reward-model length bias on equal-gold pairs', yLabel: `bias toward ${direction.sign > 0 ? 'longer' : 'shorter'} answers (-1..1)`, bars: [{ label: 'length-balanced', value: ba.estimate, ci: ba.ci }, { label: 'unbalanced', value: bu.estimate, ci: bu.ci }] }) }] : [],
      notes: [
        `In the training pairs the chosen response is the longer one in ${(100 * direction.share_chosen_longer).toFixed(0)}% of pairs of unequal length, so the bias is measured toward ${direction.sign > 0 ? 'longer' : 'shorter'} answers.`,
        `${samples.scores.length} SFT samples on ${prompts.length} test prompts; ${a.length} prompts have at least one pair of samples with equal gold reward and different lengths.${ba && bu ? ` Bias: balanced ${ba.estimate.toFixed(3)}, unbalanced ${bu.estimate.toFixed(3)} (0 = no length preference).` : ' Fewer than 2 such prompts: no interval, so no verdict (every sample had the same length; a --quick run\'s untrained model fills its token budget).'}`,
      ],
    };
  },
};
