/**
 * The RL stage of `pipeline --preset tiny-vl`: GRPO with the RLCS curriculum across the visual
 * families and levels, from the image-SFT model, on RL prompts of the visual world (train split),
 * rewarded by the box verifier. Greedy accuracy per family is measured before (= after SFT) and after
 * RL on held-out test-split prompts, the same number per family (docs/vision.md "RL with images").
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { VISION_FAMILIES, writeVisionTask, majorityBaseline, type VisionFamily } from '../data/vision/index.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../trainers/base/config.js';
import { grpoSchema, type GrpoConfig } from '../trainers/grpo/grpo-config.js';
import { loadRlPrompts, type RlPrompt } from '../trainers/grpo/grpo-data.js';
import { GrpoTrainer, greedyScoresAsync } from '../trainers/grpo/grpo-trainer.js';
import { loadGrpoPolicy } from '../trainers/grpo/vision-policy.js';
import { pairedBootstrap } from '../experiment/stats.js';
import type { StageContext } from './stage.js';
import type { MultimodalMessage } from '../tokenizer/chat-types.js';

/**
 * Seeds of the prompt sets: training prompts seed + 500 (train split), validation seed + 600 (train
 * split, prompts also in the training set removed), test seed + 700 + family index (test split).
 * The image-SFT data uses other seeds, and the test split's scenes never appear in training data.
 */
export const VISION_RL_SEEDS = { train: 500, validation: 600, test: 700 } as const;

export type VisionGrpoStageContext = StageContext & { overrides?: Partial<GrpoConfig>; families?: readonly VisionFamily[] };

export interface VisionRlSizes {
  train: number;
  validationPerFamily: number;
  testPerFamily: number;
}

/** Prompt-set sizes of the stage (full and --quick). */
export function visionRlSizes(quick: boolean): VisionRlSizes {
  return quick ? { train: 16, validationPerFamily: 1, testPerFamily: 2 } : { train: 480, validationPerFamily: 8, testPerFamily: 24 };
}

/** GRPO settings of the stage (full and --quick). */
export function visionGrpoStageConfig(ctx: VisionGrpoStageContext, paths: { train: string; out: string }): GrpoConfig {
  const full = { max_steps: 20, per_device_train_batch_size: 16, num_generations: 4, prepass_k: 2, max_completion_length: 96, temperature: 1.0, learning_rate: 5e-5 };
  const quick = { max_steps: 2, per_device_train_batch_size: 4, num_generations: 2, prepass_k: 0, max_completion_length: 8, learning_rate: 5e-5 };
  return resolveConfig(grpoSchema, {
    object: {
      model: ctx.sftDir, data: paths.train, out: paths.out, seed: ctx.seed, quiet: ctx.quiet, resume: false,
      curriculum: 'rlcs', logging_steps: 1, save_steps: 0, save_total_limit: 1, eval_steps: 0,
      ...(ctx.quick ? quick : full),
      ...ctx.overrides,
    },
    objectSource: 'pipeline vision grpo stage',
  });
}

/** The stage's prompt files under DIR/vision-rl (written once per size): training, per-family validation and per-family test prompts. */
export function writeVisionRlData(dataDir: string, seed: number, sizes: VisionRlSizes, families: readonly VisionFamily[] = VISION_FAMILIES): { train: string; validation: string[]; test: string[] } {
  const dir = join(dataDir, 'vision-rl');
  mkdirSync(dir, { recursive: true });
  const write = (file: string, task: string, opts: Parameters<typeof writeVisionTask>[1]) => {
    if (!existsSync(file)) writeVisionTask(task, opts, file, { overwrite: true });
    return file;
  };
  const train = write(join(dir, `train-${sizes.train}.jsonl`), 'rl', { n: sizes.train, seed: seed + VISION_RL_SEEDS.train, split: 'train', families: [...families] });
  const validation = families.map((f) => write(join(dir, `validation-${f}-${sizes.validationPerFamily}.jsonl`), 'rl', { n: sizes.validationPerFamily, seed: seed + VISION_RL_SEEDS.validation, split: 'train', families: [f] }));
  const test = families.map((f, i) => write(join(dir, `test-${f}-${sizes.testPerFamily}.jsonl`), 'rl', { n: sizes.testPerFamily, seed: seed + VISION_RL_SEEDS.test + i, split: 'test', families: [f] }));
  return { train, validation, test };
}

/** Validation prompts without those whose question and answer also occur among the training prompts. */
export function withoutTrainingPrompts(validation: readonly RlPrompt[], train: readonly RlPrompt[]): RlPrompt[] {
  const text = (m: MultimodalMessage) => (typeof m.content === 'string' || m.content === null ? m.content : m.content.filter((c) => c.type === 'text'));
  const key = (p: RlPrompt) => JSON.stringify([(p.prompt as unknown as MultimodalMessage[]).map(text), p.answer, p.difficulty]);
  const seen = new Set(train.map(key));
  return validation.filter((p) => !seen.has(key(p)));
}

/** Accuracy per family of prompts carrying `family` (families in first-seen order). */
export function accuracyByFamily(prompts: readonly RlPrompt[], scores: readonly number[]): Record<string, number> {
  const acc = new Map<string, [number, number]>();
  prompts.forEach((p, i) => {
    const f = String((p as { family?: unknown }).family ?? p.task ?? 'unknown');
    const a = acc.get(f) ?? [0, 0];
    a[0] += scores[i];
    a[1]++;
    acc.set(f, a);
  });
  return Object.fromEntries([...acc].map(([f, [c, n]]) => [f, c / n]));
}

/** Runs GRPO + RLCS on image prompts from `ctx.sftDir`; the model lands in OUT/rl/final. Returns the `rl` summary. */
export async function runVisionGrpoStage(ctx: VisionGrpoStageContext): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const families = ctx.families ?? VISION_FAMILIES;
  const files = writeVisionRlData(ctx.dataDir, ctx.seed, visionRlSizes(ctx.quick), families);
  // The stage restarts from scratch when interrupted (the curriculum state is not checkpointed).
  const out = join(ctx.out, 'rl');
  rmSync(out, { recursive: true, force: true });
  const cfg = visionGrpoStageConfig(ctx, { train: files.train, out });
  const tok = loadTokenizer(ctx.sftDir);
  const policy = loadGrpoPolicy(ctx.sftDir, tok);
  const prompts = loadRlPrompts(files.train), test = loadRlPrompts(files.test);
  const trainer = new GrpoTrainer(cfg, policy, tok, prompts, null);
  const greedy = trainer.rolloutOptions(1, 0);
  const before = await greedyScoresAsync(policy, tok, test, greedy);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const mean = (s: readonly number[]) => s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  ctx.log(`pipeline: rl: held-out accuracy after SFT ${pct(mean(before))} of ${test.length} ${JSON.stringify(accuracyByFamily(test, before))}`);
  await trainer.train();
  const after = await greedyScoresAsync(policy, tok, test, greedy);
  const gain = test.length >= 2 ? pairedBootstrap(after, before, { seed: 0 }) : null;
  ctx.log(`pipeline: rl: after ${trainer.step} steps and ${trainer.rollouts} rollouts (+${trainer.prepassRollouts} pre-pass): ${pct(mean(after))} ${JSON.stringify(accuracyByFamily(test, after))}`);
  const cur = trainer.curriculum.summary();
  const chance = majorityBaseline(test.map((p) => ({ family: String((p as { family?: unknown }).family), answer: p.answer })));
  return {
    accuracy_sft: mean(before),
    accuracy_rl: mean(after),
    gain: gain?.estimate ?? NaN,
    gain_ci95: gain?.ci ?? null,
    accuracy_by_family: { sft: accuracyByFamily(test, before), rl: accuracyByFamily(test, after), chance: Object.fromEntries(Object.entries(chance).map(([f, b]) => [f, b.accuracy])) },
    test_set: `visual-world RL prompts, test split, ${visionRlSizes(ctx.quick).testPerFamily} per family, seeds seed + ${VISION_RL_SEEDS.test} + family index`,
    eval_prompts: test.length,
    rollouts: trainer.rollouts,
    prepass_rollouts: trainer.prepassRollouts,
    steps: trainer.step,
    curriculum: { kind: cfg.curriculum, tiers: cur.tiers, expansion: cur.expansion, invalid_rate: cur.invalid_rate },
    final: join(out, 'final'),
    seconds: (Date.now() - t0) / 1000,
  };
}
