/**
 * GRPO on image prompts of the visual world, as the tiny-vl pipeline's RL stage (vl/vl-rl-stage.ts)
 * and the vision-rlcs experiment run it: the prompt sets (training prompts from the train split;
 * per-family validation prompts from the train split minus the training prompts; per-family test
 * prompts from the test split), the GRPO settings (RLCS across families and levels, the box verifier
 * as reward) and accuracy per family (docs/vision.md "RL with images").
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { VISION_FAMILIES, writeVisionTask, type VisionFamily } from '../../data/vision/index.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { grpoSchema, type GrpoConfig } from '../../trainers/grpo/grpo-config.js';
import type { RlPrompt } from '../../trainers/grpo/grpo-data.js';
import type { MultimodalMessage } from '../../tokenizer/chat-types.js';

/**
 * Seeds of the prompt sets: training prompts seed + 500 (train split), validation seed + 600 (train
 * split, prompts also in the training set removed), test seed + 700 + family index (test split).
 * The pipeline's SFT and held-out data use seeds seed .. seed + 3; the test split's scenes never
 * appear in training data.
 */
export const VISION_RL_SEEDS = { train: 500, validation: 600, test: 700 } as const;

/** Where the GRPO run starts and how it runs. */
export interface VisionGrpoContext {
  sftDir: string;
  seed: number;
  quick: boolean;
  quiet: boolean;
  overrides?: Partial<GrpoConfig>;
}

/** The images of the prompt sets: they should match the SFT data's (the pipeline's image_size and levels). */
export interface VisionImageOptions {
  families: readonly VisionFamily[];
  size: number;
  difficulty: number[];
}

export interface VisionRlSizes {
  train: number;
  validationPerFamily: number;
  testPerFamily: number;
}

/** GRPO settings on image prompts (full and --quick), before `ctx.overrides`. */
export function visionGrpoConfig(ctx: VisionGrpoContext, paths: { train: string; out: string }): GrpoConfig {
  const full = { max_steps: 32, per_device_train_batch_size: 16, num_generations: 4, prepass_k: 2, max_completion_length: 96, temperature: 1.0, learning_rate: 5e-5 };
  const quick = { max_steps: 2, per_device_train_batch_size: 4, num_generations: 2, prepass_k: 0, max_completion_length: 8, learning_rate: 5e-5 };
  return resolveConfig(grpoSchema, {
    object: {
      model: ctx.sftDir, data: paths.train, out: paths.out, seed: ctx.seed, quiet: ctx.quiet, resume: false,
      curriculum: 'rlcs', logging_steps: 1, save_steps: 0, save_total_limit: 1, eval_steps: 0,
      ...(ctx.quick ? quick : full),
      ...ctx.overrides,
    },
    objectSource: 'vision grpo',
  });
}

/**
 * The prompt files under DIR/vision-rl (each written once; its size in its name): training prompts
 * and, where the sizes ask for them, per-family validation and test prompts.
 */
export function writeVisionRlData(dataDir: string, seed: number, sizes: VisionRlSizes, images: VisionImageOptions): { train: string; validation: string[]; test: string[] } {
  const dir = join(dataDir, 'vision-rl');
  mkdirSync(dir, { recursive: true });
  const common = { size: images.size, difficulty: images.difficulty };
  const tag = `${images.size}px-l${images.difficulty.join('')}`;
  const write = (file: string, opts: Parameters<typeof writeVisionTask>[1]) => {
    if (!existsSync(file)) writeVisionTask('rl', { ...common, ...opts }, file, { overwrite: true });
    return file;
  };
  const train = write(join(dir, `train-${tag}-${images.families.join('-')}-${sizes.train}.jsonl`), { n: sizes.train, seed: seed + VISION_RL_SEEDS.train, split: 'train', families: [...images.families] });
  const validation = sizes.validationPerFamily > 0 ? images.families.map((f) => write(join(dir, `validation-${tag}-${f}-${sizes.validationPerFamily}.jsonl`), { n: sizes.validationPerFamily, seed: seed + VISION_RL_SEEDS.validation, split: 'train', families: [f] })) : [];
  const test = sizes.testPerFamily > 0 ? images.families.map((f) => write(join(dir, `test-${tag}-${f}-${sizes.testPerFamily}.jsonl`), { n: sizes.testPerFamily, seed: seed + VISION_RL_SEEDS.test + VISION_FAMILIES.indexOf(f), split: 'test', families: [f] })) : [];
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
