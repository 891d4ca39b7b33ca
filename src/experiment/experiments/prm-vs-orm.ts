/**
 * prm-vs-orm ("Does RLHF Scale?"): process supervision against outcome supervision for best-of-N, and
 * how both scale with the volume and the diversity of reward-model training data.
 *
 * Data: the world's step-labelled arithmetic traces (data/world/steps.ts; right traces and traces with
 * one fault carried forward, labelled by the step checker), in four task families (add, sub, mul,
 * chain). Both kinds of reward model start from the pipeline's reward model (reward/final) and are
 * trained on the same examples with the same budget and settings (`trainStepRewardModel`): the PRM on
 * every step's label, the ORM on the last step's label only ("is the whole response right"); both read
 * the same tokens (the steps laid out as the thinking-mode assistant turn the policy generates) and are
 * scored at a step end (PRM: min of the step probabilities; ORM: the last step's, at the end of text,
 * where the pairwise reward model was trained to read). Volumes are nested (the first n examples of
 * one draw); family subsets are {add}, {add, mul}, all four.
 *
 * Evaluation: the SFT policy samples K responses (thinking mode, temperature 1) per held-out problem
 * (test split, all families), once; every reward model reranks the same samples. Best-of-N for N | K
 * uses the K samples as K / N disjoint groups (reward-scorer.ts `bestOfN`), so every N is measured on
 * the same responses. Best-of-N gain = best-of-N - best-of-1, and best-of-1 (the mean correctness of the
 * samples) is the same for every reward model, so a difference in best-of-N is a difference in gain.
 * Reward-model accuracy: the aggregated score above 0.5 against "every step right" on held-out step
 * data (test split, all families, half corrupted).
 *
 * Claims (paired bootstrap over problems, best-of-K): PRM > ORM with all data; more data helps each
 * kind; more families help each kind; and the PRM gains more from more data than the ORM does. The
 * training settings (start model, step layout, learning rate, class balancing) were chosen on a
 * validation draw of the train split (scripts/prm-validation.ts, docs/experiments/prm.md), never on
 * the test problems or test step data used here.
 */
import { join } from 'node:path';
import { generateWorldTask, labelSampledResponse, STEP_FAMILIES, type StepFamily, type StepwiseRecord, verifyArithmetic, writeJsonl } from '../../data/world/index.js';
import { readStepwise, type StepLayout } from '../../data/stepwise.js';
import { rollout, rolloutMessage } from '../../generation/rollout.js';
import { loadCausalLM, loadModel } from '../../models/glm/checkpoint.js';
import { GlmForSequenceClassification } from '../../models/glm/model.js';
import { ConfigError } from '../../errors.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { tempDir } from '../../util/temp-dir.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { rewardSchema } from '../../trainers/reward/reward-trainer.js';
import { markStepRewardModel, scoreSteps, stepRewardModelFromCausal } from '../../trainers/reward/prm.js';
import { stepValidationMetrics } from '../../trainers/reward/prm-metrics.js';
import { ProcessRewardTrainer, responseAgreement, tokenizeStepwise, type TokenizedStepExample } from '../../trainers/reward/prm-trainer.js';
import { bestOfN, rewardScorer } from '../../trainers/reward/reward-scorer.js';
import { Rng } from '../../util/rng.js';
import { barChart, xyChart } from '../../report/svg.js';
import { bootstrapMean, pairedBootstrap, verdictOf } from '../stats.js';
import type { ArmResult, Comparison, Experiment, ExperimentContext, ScoreRow } from '../types.js';

interface Settings extends Record<string, unknown> {
  volumes: number[];
  family_counts: number[];
  heldout_examples: number;
  test_problems: number;
  samples_per_problem: number;
  max_new_tokens: number;
  steps: number;
  batch: number;
  learning_rate: number;
  warmup_steps: number;
  /** start both kinds from the pipeline's reward model (reward/final) or from the SFT model */
  init: 'reward' | 'sft';
  step_layout: StepLayout;
  step_balance: boolean;
  max_seq_length: number;
  resamples: number;
  seeds: number[];
}

type Kind = 'prm' | 'orm';
const KINDS: readonly Kind[] = ['prm', 'orm'];

/** The first `k` families in the order that adds the most different operation each time. */
export function familySubset(k: number): StepFamily[] {
  return (['add', 'mul', 'sub', 'chain'] as const).slice(0, k);
}

export interface StepRewardTraining {
  kind: Kind;
  tok: Tokenizer;
  train: TokenizedStepExample[];
  seed: number;
  steps: number;
  batch: number;
  learningRate: number;
  warmup: number;
  /** weight right and wrong labelled steps of each batch to equal totals */
  balance: boolean;
  /** start from the SFT model (fresh head) or from the pipeline's pairwise reward model */
  init: 'sft' | 'reward';
  layout: StepLayout;
  sftDir: string;
  rewardDir: string;
  threads?: number;
  /** recorded in the trainer's training_config.json */
  data?: string;
  maxSeqLength?: number;
  /** the trainer's output folder (metrics, final model); a temporary folder when absent */
  out?: string;
}

/**
 * One reward model of the experiment: the PRM (every step labelled, min aggregation) or the ORM (the
 * last step labelled "every step right", last-step score), trained the same way otherwise.
 */
export async function trainStepRewardModel(o: StepRewardTraining): Promise<{ rm: GlmForSequenceClassification; log: number[] }> {
  const { rm, supervision, aggregation } = initStepRewardModel(o);
  const out = o.out ?? tempDir('glmkit-prm-');
  const cfg = resolveConfig(rewardSchema, { object: { model: o.init === 'reward' ? o.rewardDir : o.sftDir, ...(o.data ? { data: o.data } : {}), max_seq_length: o.maxSeqLength ?? 384, out, seed: o.seed, max_steps: o.steps, per_device_train_batch_size: o.batch, learning_rate: o.learningRate, warmup_steps: o.warmup, process: true, supervision, reward_aggregation: aggregation, step_layout: o.layout, step_balance: o.balance, save_steps: 0, logging_steps: 1, quiet: true, threads: o.threads ?? 0 }, objectSource: 'prm-vs-orm' });
  const r = await new ProcessRewardTrainer(cfg, rm, o.tok, o.train, null).train();
  return { rm, log: r.metrics.filter((m) => typeof m.loss === 'number').map((m) => m.loss as number) };
}

/** The untrained reward model of `o.kind`: the SFT backbone with a fresh head, or the pipeline's reward model. */
export function initStepRewardModel(o: Pick<StepRewardTraining, 'kind' | 'init' | 'layout' | 'sftDir' | 'rewardDir' | 'seed'>): { rm: GlmForSequenceClassification; supervision: 'process' | 'outcome'; aggregation: 'min' | 'last' } {
  const supervision = o.kind === 'prm' ? 'process' : 'outcome';
  const aggregation = o.kind === 'prm' ? 'min' : 'last';
  const info = { type: supervision, aggregation, step_separator: '\n', step_layout: o.layout } as const;
  if (o.init === 'sft') return { rm: stepRewardModelFromCausal(loadCausalLM(o.sftDir), info, o.seed), supervision, aggregation };
  const rm = loadModel(o.rewardDir);
  if (!(rm instanceof GlmForSequenceClassification)) throw new ConfigError(`prm-vs-orm: ${o.rewardDir} holds a causal LM; expected the pipeline's reward model (reward/final)`);
  markStepRewardModel(rm, info);
  return { rm, supervision, aggregation };
}

/** N = 1, 2, 4, ... up to K (K itself included). */
export function bestOfNs(k: number): number[] {
  const out: number[] = [];
  for (let n = 1; n < k; n *= 2) out.push(n);
  out.push(k);
  return out;
}

export const prmVsOrm: Experiment = {
  name: 'prm-vs-orm',
  paper: 'Does RLHF Scale? Exploring the Impacts From Data, Model, and Method',
  claim: 'A process reward model picks better best-of-N answers than an outcome reward model, more and more diverse training data makes both better, and the process reward model gains more from more data.',
  // measured 2026-12-06 from a fresh clone on an idle 2-core machine (docs/experiments/results/README.md): 22.7 minutes, of which the base ~14
  minutes: { alone: 23, withBase: 10 },
  needs: 'reward',
  settings(quick) {
    return quick
      ? { volumes: [8, 16], family_counts: [1, 4], heldout_examples: 16, test_problems: 4, samples_per_problem: 4, max_new_tokens: 12, steps: 3, batch: 4, learning_rate: 1e-4, warmup_steps: 1, init: 'reward', step_layout: 'chat', step_balance: false, max_seq_length: 384, resamples: 2000 }
      : { volumes: [160, 640, 1280], family_counts: [1, 2, 4], heldout_examples: 320, test_problems: 64, samples_per_problem: 32, max_new_tokens: 224, steps: 160, batch: 16, learning_rate: 1e-4, warmup_steps: 10, init: 'reward', step_layout: 'chat', step_balance: false, max_seq_length: 384, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const tok = loadTokenizer(base.sftDir);
    const padId = tok.requireId(EOS_TOKEN);
    const K = S.samples_per_problem, Ns = bestOfNs(K);
    const vMax = Math.max(...S.volumes), vMin = Math.min(...S.volumes), fAll = Math.max(...S.family_counts), fMin = Math.min(...S.family_counts);
    // held-out problems: test split, families in turn; the step data for reward-model accuracy
    const problems = generateWorldTask('steps', { n: S.test_problems, seed: 902, split: 'test', wrongShare: 0 });
    const heldFile = join(ctx.out, 'data', 'steps_test.jsonl');
    await writeJsonl(heldFile, generateWorldTask('steps', { n: S.heldout_examples, seed: 901, split: 'test' }));
    const held = tokenizeStepwise(tok, readStepwise(heldFile), S.max_seq_length, '\n', S.step_layout).examples;
    const prompts: ChatMessage[][] = problems.map((p) => [{ role: 'user', content: p.prompt }]);
    // the K policy samples per problem every reward model reranks, labelled by the step checker
    const samples = await ctx.arm('samples', { base: base.dir, problems: problems.length, samples_per_problem: K, max_new_tokens: S.max_new_tokens }, async () => {
      const rs = rollout(loadCausalLM(base.sftDir), tok, prompts, { maxNewTokens: S.max_new_tokens, temperature: 1, numSamples: K, batchSize: 32, thinking: true, rng: new Rng('prm-vs-orm:samples') });
      const scores: ScoreRow[] = rs.map((r) => {
        const m = rolloutMessage(r);
        const rec = labelSampledResponse(problems[r.promptIndex].prompt, { content: m.content ?? '', reasoning_content: m.reasoning_content ?? '' }) as StepwiseRecord;
        return { problem: r.promptIndex, correct: rec.labels.at(-1) ? 1 : 0, answer_right: verifyArithmetic(m.content ?? '', rec.answer) ? 1 : 0, message: JSON.stringify(m) };
      });
      return { metrics: { samples: rs.length, step_correct: scores.reduce((a, s) => a + (s.correct as number), 0) / scores.length, answer_right: scores.reduce((a, s) => a + (s.answer_right as number), 0) / scores.length }, scores };
    });
    const messages = samples.scores.map((s) => JSON.parse(s.message as string) as ChatMessage);
    // correctness of a sample = its answer is right (what best-of-N is judged by)
    const correct = samples.scores.map((s) => s.answer_right as number);
    const sampleProblems = samples.scores.map((s) => prompts[s.problem as number]);
    const conditions: { volume: number; families: number }[] = [];
    for (const v of S.volumes) conditions.push({ volume: v, families: fAll });
    for (const f of S.family_counts) if (f !== fAll) conditions.push({ volume: vMax, families: f });
    const arms: Record<string, ArmResult<Record<string, number>>> = {};
    const armName = (kind: Kind, c: { volume: number; families: number }, seed: number) => `${kind}-v${c.volume}-f${c.families}-s${seed}`;
    for (const seed of S.seeds) {
      for (const c of conditions) {
        const fams = familySubset(c.families);
        const trainFile = join(ctx.out, 'data', `steps_train_f${c.families}.jsonl`);
        await writeJsonl(trainFile, generateWorldTask('steps', { n: vMax, seed: 900, split: 'train', families: fams }));
        for (const kind of KINDS) {
          const name = armName(kind, c, seed);
          arms[name] = await ctx.arm(name, { base: base.dir, kind, ...c, seed, steps: S.steps, batch: S.batch, learning_rate: S.learning_rate, warmup: S.warmup_steps, init: S.init, layout: S.step_layout, balance: S.step_balance, samples: samples.scores.length, heldout: S.heldout_examples }, async (dir) => {
            const aggregation = kind === 'prm' ? 'min' : 'last';
            const train = tokenizeStepwise(tok, readStepwise(trainFile).slice(0, c.volume), S.max_seq_length, '\n', S.step_layout).examples;
            const { rm } = await trainStepRewardModel({ kind, tok, train, seed, steps: S.steps, batch: S.batch, learningRate: S.learning_rate, warmup: S.warmup_steps, balance: S.step_balance, init: S.init, layout: S.step_layout, sftDir: base.sftDir, rewardDir: base.rewardDir, data: trainFile, maxSeqLength: S.max_seq_length, out: join(dir, 'train') });
            const scores = rewardScorer(rm, tok).score(sampleProblems, messages);
            const rows: ScoreRow[] = problems.map((_, p) => {
              const row: ScoreRow = { kind: 'problem', problem: p };
              for (const n of Ns) row[`bon_${n}`] = bestOfN(scores.slice(p * K, (p + 1) * K), correct.slice(p * K, (p + 1) * K), n);
              return row;
            });
            const heldScores = scoreSteps(rm, held, padId);
            const agree = responseAgreement(heldScores, held, aggregation);
            agree.forEach((ok, i) => rows.push({ kind: 'heldout', example: i, accuracy: ok }));
            const metrics: Record<string, number> = { rm_accuracy: agree.reduce((a, b) => a + b, 0) / agree.length, examples: train.length, ...stepValidationMetrics(heldScores, held, train, aggregation) };
            for (const n of Ns) metrics[`best_of_${n}`] = rows.filter((r) => r.kind === 'problem').reduce((a, r) => a + (r[`bon_${n}`] as number), 0) / problems.length;
            return { metrics, scores: rows };
          });
          ctx.log(`prm-vs-orm: ${name}: best-of-${K} ${arms[name].metrics[`best_of_${K}`].toFixed(3)}, RM accuracy ${arms[name].metrics.rm_accuracy.toFixed(3)}`);
        }
      }
    }
    // per-problem best-of-N (and per-example RM accuracy), averaged over seeds
    const perProblem = (kind: Kind, c: { volume: number; families: number }, n: number) =>
      problems.map((_, p) => S.seeds.reduce((a, s) => a + (arms[armName(kind, c, s)].scores.find((r) => r.kind === 'problem' && r.problem === p)![`bon_${n}`] as number), 0) / S.seeds.length);
    const perHeld = (kind: Kind, c: { volume: number; families: number }) =>
      held.map((_, i) => S.seeds.reduce((a, s) => a + (arms[armName(kind, c, s)].scores.find((r) => r.kind === 'heldout' && r.example === i)!.accuracy as number), 0) / S.seeds.length);
    const full = { volume: vMax, families: fAll }, small = { volume: vMin, families: fAll }, narrow = { volume: vMax, families: fMin };
    const comparisons: Comparison[] = [];
    const compare = (metric: string, a: string, b: string, xa: number[], xb: number[], decides: boolean, method: Comparison['method'] = 'paired bootstrap over prompts') => {
      if (xa.length < 2) return;
      const r = pairedBootstrap(xa, xb, { resamples: S.resamples, seed: 0 });
      comparisons.push({ metric, a, b, diff: r.estimate, ci95: r.ci, n: r.n, claim: 'greater', margin: 0, method, verdict: verdictOf(r.ci, 'greater'), decides });
    };
    const bon = `best-of-${K} accuracy`;
    compare(bon, `PRM (${vMax} examples, ${fAll} families)`, 'ORM (same data)', perProblem('prm', full, K), perProblem('orm', full, K), true);
    for (const kind of KINDS) {
      const K_ = kind.toUpperCase();
      if (vMax !== vMin) compare(bon, `${K_} ${vMax} examples`, `${K_} ${vMin} examples`, perProblem(kind, full, K), perProblem(kind, small, K), true);
      if (fAll !== fMin) compare(bon, `${K_} ${fAll} families`, `${K_} ${fMin} famil${fMin === 1 ? 'y' : 'ies'}`, perProblem(kind, full, K), perProblem(kind, narrow, K), true);
      if (vMax !== vMin) compare('RM accuracy on held-out step data', `${K_} ${vMax} examples`, `${K_} ${vMin} examples`, perHeld(kind, full), perHeld(kind, small), false);
      if (fAll !== fMin) compare('RM accuracy on held-out step data', `${K_} ${fAll} families`, `${K_} ${fMin} famil${fMin === 1 ? 'y' : 'ies'}`, perHeld(kind, full), perHeld(kind, narrow), false);
    }
    if (vMax !== vMin) {
      const gain = (kind: Kind) => perProblem(kind, full, K).map((x, p) => x - perProblem(kind, small, K)[p]);
      compare(`${bon} gain from ${vMin} to ${vMax} examples`, 'PRM', 'ORM', gain('prm'), gain('orm'), true);
    }
    compare('RM accuracy on held-out step data', 'PRM (all data)', 'ORM (all data)', perHeld('prm', full), perHeld('orm', full), false);
    // plots: best-of-N curves (all data), and best-of-K against volume and against families
    const mean = (xs: number[]) => (xs.length >= 2 ? bootstrapMean(xs, { resamples: S.resamples }) : { estimate: xs[0] ?? NaN, ci: [NaN, NaN] as [number, number] });
    const oracle = Ns.map((n) => problems.map((_, p) => {
      const c = correct.slice(p * K, (p + 1) * K), g = Math.floor(K / n);
      let s = 0;
      for (let i = 0; i < g; i++) s += c.slice(i * n, (i + 1) * n).some(Boolean) ? 1 : 0;
      return s / g;
    }));
    const curve = (name: string, ys: number[][], xs: number[]) => ({ name, line: true, points: ys.map((y, i) => { const m = mean(y); return { x: xs[i], y: m.estimate, yci: m.ci }; }) });
    const plots = [
      { file: 'best-of-n.svg', caption: `Best-of-N accuracy on ${problems.length} held-out problems with all training data (95% bootstrap CIs over problems); oracle = any of the N right`, svg: xyChart({ title: 'Best-of-N: PRM vs ORM', xLabel: 'N (samples per problem)', yLabel: 'accuracy', series: [curve('PRM (min)', Ns.map((n) => perProblem('prm', full, n)), Ns), curve('ORM', Ns.map((n) => perProblem('orm', full, n)), Ns), curve('oracle', oracle, Ns)] }) },
      { file: 'volume.svg', caption: `Best-of-${K} accuracy against the number of training examples (all families)`, svg: xyChart({ title: 'Reward-model data volume', xLabel: 'training examples', yLabel: `best-of-${K} accuracy`, series: KINDS.map((k) => curve(k.toUpperCase(), S.volumes.map((v) => perProblem(k, { volume: v, families: fAll }, K)), S.volumes)) }) },
      { file: 'diversity.svg', caption: `Best-of-${K} accuracy against the number of task families in the training data (${vMax} examples)`, svg: barChart({ title: 'Reward-model data diversity', yLabel: `best-of-${K} accuracy`, bars: KINDS.flatMap((k) => S.family_counts.map((f) => { const m = mean(perProblem(k, { volume: vMax, families: f }, K)); return { label: `${k.toUpperCase()} ${f} fam.`, value: m.estimate, ci: m.ci }; })) }) },
    ];
    const sm = samples.metrics as Record<string, number>;
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const fullArm = (kind: Kind) => arms[armName(kind, full, S.seeds[0])].metrics;
    const rightShare = held.filter((e) => e.labels.every(Boolean)).length / held.length;
    return {
      settings: S,
      arms: Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, v.metrics])),
      comparisons,
      plots,
      notes: [
        `${samples.scores.length} policy samples (${K} per problem) on ${problems.length} held-out problems; ${(100 * sm.answer_right).toFixed(1)}% have the right boxed answer, ${(100 * sm.step_correct).toFixed(1)}% have every step right. Best-of-1 = ${(100 * mean(oracle[0]).estimate).toFixed(1)}% for every reward model, so best-of-N differences are differences in best-of-N gain.`,
        `Training data: ${S.volumes.join(', ')} examples (nested) over ${fAll} families (${familySubset(fAll).join(', ')}), and ${vMax} examples over ${S.family_counts.join(', ')} families; ${S.steps} steps of ${S.batch} examples for every reward model, so volumes above ${S.steps * S.batch} are not all seen.`,
        `Families: ${STEP_FAMILIES.join(', ')}; the held-out problems cycle through all of them.`,
        `Reward-model accuracy on ${held.length} held-out step-labelled traces (all data): PRM ${(100 * mean(perHeld('prm', full)).estimate).toFixed(1)}%, ORM ${(100 * mean(perHeld('orm', full)).estimate).toFixed(1)}%; a constant answer scores ${(100 * Math.max(rightShare, 1 - rightShare)).toFixed(1)}% (${(100 * rightShare).toFixed(1)}% of them are right throughout). A reward model near that level has not learned to check steps, and its best-of-N picks are no better than chance.`,
        `Step labels of the same traces (all data): PRM step accuracy ${pct(fullArm('prm').step_accuracy)} against ${pct(fullArm('prm').step_accuracy_constant)} for the constant majority label, step AUC ${fullArm('prm').step_auc.toFixed(3)} against ${fullArm('prm').step_auc_position.toFixed(3)} for a predictor that reads only the step's position; response AUC PRM ${fullArm('prm').response_auc.toFixed(3)}, ORM ${fullArm('orm').response_auc.toFixed(3)} (seed ${S.seeds[0]}).`,
        `Both kinds start from ${S.init === 'reward' ? "the pipeline's reward model (reward/final)" : 'the SFT model with a fresh head'}, steps in the ${S.step_layout} layout, learning rate ${S.learning_rate}, ${S.step_balance ? 'class-balanced' : 'unweighted'} step BCE: the settings chosen on a validation draw of the train split (docs/experiments/prm.md).`,
      ],
    };
  },
};

