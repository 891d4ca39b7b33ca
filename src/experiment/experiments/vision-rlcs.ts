/**
 * vision-rlcs (GLM-4.1V-Thinking): RL with verifiable rewards on image prompts improves every visual
 * family over the SFT model, and the RLCS curriculum makes RL more sample-efficient than uniform
 * prompt sampling at equal rollouts. Arms from one image-SFT model (--base: a `pipeline --preset
 * tiny-vl` output): the SFT model itself, GRPO with RLCS, and GRPO with uniform sampling given as
 * many completions as RLCS sampled (its pass@k pre-pass included). Every `eval_every` steps each RL
 * arm is scored greedily on the validation and test prompts, giving accuracy-vs-rollouts curves;
 * sample efficiency is the area under a prompt's correctness-vs-rollouts curve over the shared budget
 * (normalised to [0, 1]). Figures on test prompts (test split), per-prompt paired bootstrap;
 * validation prompts (train-split scenes not among the training prompts) are where settings were
 * looked at.
 */
import { join } from 'node:path';
import { VISION_FAMILIES, type VisionFamily } from '../../data/vision/index.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { accuracyByFamily, visionGrpoConfig, withoutTrainingPrompts, writeVisionRlData } from '../../pipeline/vl/vision-grpo.js';
import { visionBaseImages } from '../vision-base.js';
import { loadRlPrompts, type RlPrompt } from '../../trainers/grpo/grpo-data.js';
import { GrpoTrainer, greedyScores, greedyScoresAsync } from '../../trainers/grpo/grpo-trainer.js';
import { loadGrpoPolicy } from '../../trainers/grpo/vision-policy.js';
import type { GrpoConfig } from '../../trainers/grpo/grpo-config.js';
import { combineVerdicts, pairedBootstrap, verdictOf } from '../stats.js';
import { barChart, xyChart } from '../../report/svg.js';
import type { ArmResult, Comparison, Experiment, ExperimentContext } from '../types.js';

interface Settings extends Record<string, unknown> {
  rlcs_steps: number;
  train_prompts: number;
  validation_per_family: number;
  test_per_family: number;
  eval_every: number;
  families: VisionFamily[];
  data_seed: number;
  resamples: number;
  seeds: number[];
  /** GRPO settings beyond the pipeline stage's */
  grpo: Partial<GrpoConfig>;
}

/** One evaluation of an RL arm: completions sampled so far (pre-pass included) and per-prompt correctness. */
interface CurvePoint {
  rollouts: number;
  validation: number[];
  test: number[];
}

interface ArmMetrics extends Record<string, unknown> {
  steps: number;
  rollouts: number;
  prepass_rollouts: number;
  validation_accuracy: number;
  test_accuracy: number;
  test_by_family: Record<string, number>;
  points: CurvePoint[];
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/**
 * Area under a correctness-vs-rollouts curve from 0 to `budget`, divided by `budget` (a value in
 * [0, 1]): trapezoids between evaluations, the curve cut (linearly interpolated) at the budget and
 * held at its last value beyond its last point.
 */
export function normalisedArea(xs: readonly number[], ys: readonly number[], budget: number): number {
  if (xs.length === 0 || !(budget > 0)) return NaN;
  let area = 0;
  for (let k = 0; k + 1 < xs.length && xs[k] < budget; k++) {
    const x1 = Math.min(xs[k + 1], budget);
    const y1 = xs[k + 1] > budget ? ys[k] + ((ys[k + 1] - ys[k]) * (budget - xs[k])) / (xs[k + 1] - xs[k]) : ys[k + 1];
    area += ((x1 - xs[k]) * (ys[k] + y1)) / 2;
  }
  const last = xs.length - 1;
  if (xs[last] < budget) area += (budget - xs[last]) * ys[last];
  return area / budget;
}

/** Per prompt, the normalised area under its correctness-vs-rollouts curve (with the SFT start at 0 rollouts). */
export function promptAreas(start: readonly number[], points: readonly CurvePoint[], budget: number): number[] {
  const xs = [0, ...points.map((p) => p.rollouts)];
  return start.map((s, i) => normalisedArea(xs, [s, ...points.map((p) => p.test[i])], budget));
}

/** A GRPO trainer that scores the validation and test prompts greedily at each evaluation. */
class CurveTrainer extends GrpoTrainer {
  readonly points: CurvePoint[] = [];
  constructor(
    cfg: GrpoConfig,
    policy: ConstructorParameters<typeof GrpoTrainer>[1],
    tok: ConstructorParameters<typeof GrpoTrainer>[2],
    prompts: RlPrompt[],
    private readonly sets: { validation: RlPrompt[]; test: RlPrompt[] },
  ) {
    super(cfg, policy, tok, prompts, null);
  }

  protected override evaluate(): Record<string, number> {
    const greedy = this.rolloutOptions(1, 0);
    const validation = greedyScores(this.policy, this.tokenizer!, this.sets.validation, greedy);
    const test = greedyScores(this.policy, this.tokenizer!, this.sets.test, greedy);
    this.points.push({ rollouts: this.rollouts + this.prepassRollouts, validation, test });
    return { eval_accuracy: mean(validation), test_accuracy: mean(test), rollouts: this.rollouts };
  }
}

export const visionRlcs: Experiment = {
  name: 'vision-rlcs',
  paper: 'GLM-4.1V-Thinking: Towards Versatile Multimodal Reasoning with Scalable Reinforcement Learning',
  claim: 'RL with verifiable rewards on image prompts improves held-out accuracy in every visual task family over the SFT model, and RLCS reaches higher accuracy per rollout than uniform prompt sampling.',
  // alone: the tiny-vl pipeline up to SFT (~20 minutes with 2,400 SFT steps, docs/vision.md "What made it read") plus the arms
  minutes: { alone: 50, withBase: 25 },
  needs: 'vision-sft',
  settings(quick) {
    return quick
      ? { rlcs_steps: 2, train_prompts: 8, validation_per_family: 1, test_per_family: 2, eval_every: 1, families: ['count', 'digits'], data_seed: 2000, resamples: 200, grpo: {} }
      : { rlcs_steps: 24, train_prompts: 480, validation_per_family: 8, test_per_family: 30, eval_every: 6, families: [...VISION_FAMILIES], data_seed: 2000, resamples: 2000, grpo: {} };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const tok = loadTokenizer(base.sftDir);
    const images = visionBaseImages(base.dir, S.families);
    const files = writeVisionRlData(join(ctx.out, 'data'), S.data_seed, { train: S.train_prompts, validationPerFamily: S.validation_per_family, testPerFamily: S.test_per_family }, images);
    const train = loadRlPrompts(files.train);
    const validation = withoutTrainingPrompts(loadRlPrompts(files.validation), train);
    const test = loadRlPrompts(files.test);
    const family = (p: RlPrompt) => String((p as { family?: unknown }).family);
    const stage = (seed: number, out: string, overrides: Partial<GrpoConfig>) =>
      visionGrpoConfig({ sftDir: base.sftDir, seed, quick: ctx.quick, quiet: true, overrides: { ...S.grpo, ...overrides } }, { train: files.train, out });
    const perStep = (() => {
      const c = stage(0, ctx.out, {});
      return c.per_device_train_batch_size * c.gradient_accumulation_steps;
    })();
    const sets = { data_seed: S.data_seed, train: train.length, validation: validation.length, test: test.length, images };
    const sft = await ctx.arm('sft', { base: base.dir, ...sets }, async () => {
      const policy = loadGrpoPolicy(base.sftDir, tok);
      const greedy = new GrpoTrainer(stage(0, join(ctx.out, 'sft'), {}), policy, tok, train, null).rolloutOptions(1, 0);
      const v = await greedyScoresAsync(policy, tok, validation, greedy);
      const t = await greedyScoresAsync(policy, tok, test, greedy);
      const metrics = { validation_accuracy: mean(v), test_accuracy: mean(t), test_by_family: accuracyByFamily(test, t) };
      return { metrics, scores: [...v.map((c, i) => ({ split: 'validation', prompt: i, family: family(validation[i]), correct: c })), ...t.map((c, i) => ({ split: 'test', prompt: i, family: family(test[i]), correct: c }))] };
    });
    const sftTest = sft.scores.filter((r) => r.split === 'test').map((r) => r.correct as number);
    const sftVal = sft.scores.filter((r) => r.split === 'validation').map((r) => r.correct as number);
    const arms: Record<string, ArmResult<ArmMetrics>> = {};
    for (const seed of S.seeds) {
      let budget = 0; // RLCS's completions (pre-pass included): what uniform sampling gets
      for (const curriculum of ['rlcs', 'uniform'] as const) {
        const name = `${curriculum}-s${seed}`;
        const steps = curriculum === 'rlcs' ? S.rlcs_steps : Math.max(1, Math.ceil(budget / perStep));
        arms[name] = await ctx.arm(name, { base: base.dir, curriculum, seed, steps, eval_every: S.eval_every, grpo: S.grpo, ...sets }, async (dir) => {
          const cfg = stage(seed, join(dir, 'train'), { curriculum, max_steps: steps, eval_steps: S.eval_every });
          const policy = loadGrpoPolicy(base.sftDir, tok);
          await policy.prepare([...validation, ...test]);
          const trainer = new CurveTrainer(cfg, policy, tok, train, { validation, test });
          const r = await trainer.train();
          const last = trainer.points.at(-1)!;
          const metrics: ArmMetrics = { steps: r.steps, rollouts: trainer.rollouts, prepass_rollouts: trainer.prepassRollouts, validation_accuracy: mean(last.validation), test_accuracy: mean(last.test), test_by_family: accuracyByFamily(test, last.test), points: trainer.points };
          return { metrics, scores: last.test.map((c, i) => ({ split: 'test', prompt: i, family: family(test[i]), correct: c })) };
        });
        const m = arms[name].metrics;
        if (curriculum === 'rlcs') budget = m.rollouts + m.prepass_rollouts;
        ctx.log(`vision-rlcs: ${name}: ${m.rollouts + m.prepass_rollouts} rollouts (${m.prepass_rollouts} pre-pass), validation ${m.validation_accuracy.toFixed(3)}, test ${m.test_accuracy.toFixed(3)} ${JSON.stringify(m.test_by_family)}`);
      }
    }
    // per test prompt, averaged over seeds
    const overSeeds = (f: (m: ArmMetrics, seed: number) => number[]) => (c: string) => test.map((_, i) => mean(S.seeds.map((s) => f(arms[`${c}-s${s}`].metrics, s)[i])));
    const finalOf = overSeeds((m) => m.points.at(-1)!.test);
    const budgetOf = (s: number) => arms[`rlcs-s${s}`].metrics.rollouts + arms[`rlcs-s${s}`].metrics.prepass_rollouts;
    const areaOf = overSeeds((m, s) => promptAreas(sftTest, m.points, budgetOf(s)));
    const boot = (a: number[], b: number[], seed: number) => pairedBootstrap(a, b, { resamples: S.resamples, seed });
    const comparisons: Comparison[] = [];
    const rlcsFinal = finalOf('rlcs'), uniformFinal = finalOf('uniform');
    images.families.forEach((f, k) => {
      const idx = test.map((p, i) => (family(p) === f ? i : -1)).filter((i) => i >= 0);
      const r = boot(idx.map((i) => rlcsFinal[i]), idx.map((i) => sftTest[i]), k);
      comparisons.push({ metric: `test accuracy, ${f}`, a: 'rlcs', b: 'sft', diff: r.estimate, ci95: r.ci, n: r.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(r.ci, 'greater'), decides: true });
    });
    const auc = boot(areaOf('rlcs'), areaOf('uniform'), 100);
    comparisons.push({ metric: 'area under test accuracy vs rollouts (equal budget)', a: 'rlcs', b: 'uniform', diff: auc.estimate, ci95: auc.ci, n: auc.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(auc.ci, 'greater'), decides: true });
    const fin = boot(rlcsFinal, uniformFinal, 101);
    comparisons.push({ metric: 'final test accuracy (equal budget)', a: 'rlcs', b: 'uniform', diff: fin.estimate, ci95: fin.ci, n: fin.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(fin.ci, 'greater'), decides: false });
    const uni = boot(uniformFinal, sftTest, 102);
    comparisons.push({ metric: 'test accuracy, all families', a: 'uniform', b: 'sft', diff: uni.estimate, ci95: uni.ci, n: uni.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(uni.ci, 'greater'), decides: false });
    const familyVerdict = combineVerdicts(comparisons.filter((c) => c.metric.startsWith('test accuracy, ') && c.b === 'sft' && c.a === 'rlcs').map((c) => c.verdict));
    const curve = (c: string, s: number, split: 'validation' | 'test') => [{ x: 0, y: mean(split === 'test' ? sftTest : sftVal) }, ...arms[`${c}-s${s}`].metrics.points.map((p) => ({ x: p.rollouts, y: mean(p[split]) }))];
    const series = (split: 'validation' | 'test') => S.seeds.flatMap((s) => (['rlcs', 'uniform'] as const).map((c) => ({ name: `${c} seed ${s}`, line: true, points: curve(c, s, split) })));
    const familyBars = comparisons.filter((c) => c.b === 'sft' && c.a === 'rlcs').map((c) => ({ label: c.metric.replace('test accuracy, ', ''), value: c.diff, ci: c.ci95 }));
    const meanArm = (c: string, k: 'test_accuracy' | 'validation_accuracy') => mean(S.seeds.map((s) => arms[`${c}-s${s}`].metrics[k]));
    return {
      settings: S,
      arms: {
        sft: sft.metrics,
        ...Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, { steps: v.metrics.steps, rollouts: v.metrics.rollouts, prepass_rollouts: v.metrics.prepass_rollouts, validation_accuracy: v.metrics.validation_accuracy, test_accuracy: v.metrics.test_accuracy, test_by_family: v.metrics.test_by_family, curve: v.metrics.points.map((p) => [p.rollouts, mean(p.validation), mean(p.test)]) }])),
      },
      comparisons,
      plots: [
        { file: 'accuracy-vs-rollouts.svg', caption: 'Greedy test accuracy against completions sampled (RLCS counts its pre-pass; 0 = the SFT model)', svg: xyChart({ title: 'Test accuracy vs rollouts', xLabel: 'completions sampled', yLabel: 'greedy accuracy', series: series('test') }) },
        { file: 'validation-vs-rollouts.svg', caption: 'The same on the validation prompts', svg: xyChart({ title: 'Validation accuracy vs rollouts', xLabel: 'completions sampled', yLabel: 'greedy accuracy', series: series('validation') }) },
        { file: 'families.svg', caption: 'RL (RLCS) minus SFT test accuracy per family, paired bootstrap 95% CI', svg: barChart({ title: 'RLCS − SFT test accuracy per family (95% CI)', yLabel: 'difference in accuracy', bars: familyBars }) },
        { file: 'efficiency.svg', caption: 'RLCS minus uniform: normalised area under the test accuracy-vs-rollouts curve, and final test accuracy, paired bootstrap 95% CI', svg: barChart({ title: 'RLCS − uniform at equal rollouts (95% CI)', yLabel: 'difference', bars: [{ label: 'area under curve', value: auc.estimate, ci: auc.ci }, { label: 'final accuracy', value: fin.estimate, ci: fin.ci }] }) },
      ],
      notes: [
        `Claim 1 (RL improves every family over SFT): ${familyVerdict} (${comparisons.filter((c) => c.b === 'sft' && c.a === 'rlcs').map((c) => `${c.metric.replace('test accuracy, ', '')} ${c.diff >= 0 ? '+' : ''}${c.diff.toFixed(3)} ${c.verdict}`).join('; ')}).`,
        `Claim 2 (RLCS more sample-efficient than uniform): ${auc.estimate >= 0 ? '+' : ''}${auc.estimate.toFixed(3)} [${auc.ci[0].toFixed(3)}, ${auc.ci[1].toFixed(3)}] area under the per-prompt test accuracy-vs-rollouts curve (normalised by the budget), ${verdictOf(auc.ci, 'greater')}.`,
        `Both RL arms sample the same number of completions per seed: RLCS ${S.rlcs_steps} steps plus its pass@k pre-pass; uniform sampling as many steps as that budget buys (${perStep} completions a step).`,
        `Test accuracy: SFT ${mean(sftTest).toFixed(3)}, RLCS ${meanArm('rlcs', 'test_accuracy').toFixed(3)}, uniform ${meanArm('uniform', 'test_accuracy').toFixed(3)} on ${test.length} test-split prompts (${S.test_per_family} per family of ${images.families.join(', ')}, ${images.size}px, levels ${images.difficulty.join(', ')}; mean over seeds ${S.seeds.join(', ')}); validation ${mean(sftVal).toFixed(3)}, ${meanArm('rlcs', 'validation_accuracy').toFixed(3)}, ${meanArm('uniform', 'validation_accuracy').toFixed(3)} on ${validation.length}.`,
      ],
    };
  },
};
