/**
 * The pipeline's RL stage: GRPO with the RLCS curriculum from the SFT model, on world RL prompts of
 * mixed difficulty (arithmetic levels 1-7, world questions levels 1-3, a few python-tool problems).
 * Accuracy is measured greedily, before and after, on the distinct held-out (test-split) world
 * questions of `HARD_LEVELS` (look-ups and two-hop questions). Why that set: the tiny SFT model is
 * ~95-100% on arithmetic levels 1-3, ~0-5% on 4-7 within the 160-token reasoning budget, and about
 * 50-70% there (docs/experiments/rl.md).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, writeJsonl, type RlRecord } from '../data/world/index.js';
import { WorldRng } from '../data/world/rng.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../trainers/base/config.js';
import { grpoSchema, type GrpoConfig } from '../trainers/grpo/grpo-config.js';
import { toRlPrompt, worldToolPrompts, type RlPrompt } from '../trainers/grpo/grpo-data.js';
import { GrpoTrainer, greedyAccuracy } from '../trainers/grpo/grpo-trainer.js';

/** World-question levels of the held-out "hard" prompts (distinct test-split questions). */
export const HARD_LEVELS = [2, 3];
export const HARD_TASK = 'world';

export interface GrpoStageContext {
  out: string;
  dataDir: string;
  sftDir: string;
  seed: number;
  quick: boolean;
  quiet: boolean;
  log: (s: string) => void;
}

/** GRPO settings of the stage (full and --quick). */
export function grpoStageConfig(ctx: GrpoStageContext, paths: { train: string; eval: string; out: string }): GrpoConfig {
  const full = { max_steps: 30, per_device_train_batch_size: 32, num_generations: 8, prepass_k: 4, eval_max_examples: 96, max_completion_length: 160 };
  const quick = { max_steps: 2, per_device_train_batch_size: 4, num_generations: 2, prepass_k: 2, eval_max_examples: 4, max_completion_length: 16 };
  return resolveConfig(grpoSchema, {
    object: {
      model: ctx.sftDir, data: paths.train, eval_data: paths.eval, out: paths.out, seed: ctx.seed, quiet: ctx.quiet, resume: false,
      curriculum: 'rlcs', learning_rate: 2e-5, logging_steps: 1, save_steps: 0, save_total_limit: 1,
      ...(ctx.quick ? quick : full),
    },
    objectSource: 'pipeline grpo stage',
  });
}

/** Writes the stage's prompt files (once) and returns their paths. */
export async function writeGrpoStageData(ctx: Pick<GrpoStageContext, 'dataDir' | 'seed' | 'quick'>): Promise<{ train: string; eval: string }> {
  const train = join(ctx.dataDir, 'rl_train.jsonl'), evalFile = join(ctx.dataDir, `rl_eval_${HARD_TASK}_l${HARD_LEVELS.join('')}.jsonl`);
  const nTrain = ctx.quick ? 12 : 320, nEval = ctx.quick ? 4 : 96;
  if (!existsSync(train)) {
    mkdirSync(ctx.dataDir, { recursive: true });
    const levels = [1, 2, 3, 4, 5, 6, 7];
    const records: object[] = generateWorldTask('rl', { n: nTrain, seed: ctx.seed + 300, split: 'train', difficulty: levels }) as RlRecord[];
    records.push(...worldToolPrompts(new WorldRng(ctx.seed + 301), Math.max(1, Math.round(nTrain / 16))));
    await writeJsonl(train, records);
  }
  if (!existsSync(evalFile)) {
    // the world is small: its test split holds ~70 distinct level-2 and 6 level-3 questions; keep each once
    const seen = new Set<string>();
    const recs = (generateWorldTask('rl', { n: 4000, seed: ctx.seed + 400, split: 'test', difficulty: HARD_LEVELS }) as RlRecord[])
      .filter((r) => r.task === HARD_TASK && !seen.has(r.prompt[0].content ?? '') && seen.add(r.prompt[0].content ?? ''))
      .slice(0, nEval);
    await writeJsonl(evalFile, recs);
  }
  return { train, eval: evalFile };
}

export function readPrompts(file: string): RlPrompt[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l, i) => toRlPrompt(JSON.parse(l) as Record<string, unknown>, { file, line: i + 1 }));
}

/** Runs GRPO + RLCS from `ctx.sftDir`; the model lands in OUT/grpo/final. Returns the `grpo` summary. */
export async function runGrpoStage(ctx: GrpoStageContext): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const files = await writeGrpoStageData(ctx);
  const cfg = grpoStageConfig(ctx, { ...files, out: join(ctx.out, 'grpo') });
  const tok = loadTokenizer(ctx.sftDir);
  const model = loadCausalLM(ctx.sftDir);
  const prompts = readPrompts(files.train), hard = readPrompts(files.eval);
  const trainer = new GrpoTrainer(cfg, model, tok, prompts, hard);
  const before = greedyAccuracy(model, tok, hard, trainer.rolloutOptions(1, 0));
  ctx.log(`pipeline: grpo: held-out world questions (levels ${HARD_LEVELS.join(', ')}): accuracy before RL ${(100 * before).toFixed(1)}% of ${hard.length}`);
  const r = await trainer.train();
  const after = Number(r.metrics.at(-1)?.eval_accuracy);
  ctx.log(`pipeline: grpo: after ${r.steps} steps and ${trainer.rollouts} rollouts (+${trainer.prepassRollouts} pre-pass): ${(100 * after).toFixed(1)}%`);
  const cur = trainer.curriculum.summary();
  return {
    accuracy_before: before,
    accuracy_after: after,
    hard_set: `distinct ${HARD_TASK} questions of levels ${HARD_LEVELS.join(', ')}, test split`,
    eval_prompts: hard.length,
    rollouts: trainer.rollouts,
    prepass_rollouts: trainer.prepassRollouts,
    steps: r.steps,
    curriculum: { kind: cfg.curriculum, tiers: cur.tiers, expansion: cur.expansion, invalid_rate: cur.invalid_rate },
    final: join(r.out, 'final'),
    seconds: (Date.now() - t0) / 1000,
  };
}
