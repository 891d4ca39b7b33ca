/**
 * The pipeline's RL stage: GRPO with the RLCS curriculum from the SFT model, on world RL prompts of
 * mixed difficulty (arithmetic levels 1-7, world questions levels 1-3, a few python-tool problems).
 * Accuracy is measured greedily, before and after, on the distinct held-out (test-split) world
 * questions of `HARD_LEVELS` (look-ups and two-hop questions). Why that set: the tiny SFT model is
 * ~95-100% on arithmetic levels 1-3, ~0-5% on 4-7 within the 160-token reasoning budget, and about
 * 50-70% there (docs/experiments/rl.md).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, writeJsonl, type RlRecord } from '../data/world/index.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../trainers/base/config.js';
import { grpoSchema, type GrpoConfig } from '../trainers/grpo/grpo-config.js';
import { toRlPrompt, type RlPrompt } from '../trainers/grpo/grpo-data.js';
import { GrpoTrainer, greedyAccuracy } from '../trainers/grpo/grpo-trainer.js';
import type { StageContext } from './stage.js';

/**
 * The held-out "hard" prompts: arithmetic level 5 (3-digit x 1-digit products), test split. The tiny
 * SFT model solves levels 1-4 almost always and levels 6-7 almost never; level 5 sits in between
 * (~7% greedy, pass@8 well above 0), where RL with verifiable rewards has signal to learn from.
 * Training prompts mix levels 1-7 and RLCS decides where to spend rollouts (docs/experiments/rl.md).
 */
export const HARD_LEVELS = [5];
export const HARD_TASK = 'arithmetic';

/** See StageContext. */
export type GrpoStageContext = StageContext;

/** GRPO settings of the stage (full and --quick). */
export function grpoStageConfig(ctx: GrpoStageContext, paths: { train: string; eval: string; out: string }): GrpoConfig {
  const full = { max_steps: 70, per_device_train_batch_size: 32, num_generations: 8, prepass_k: 4, eval_max_examples: 240, max_completion_length: 200 };
  const quick = { max_steps: 2, per_device_train_batch_size: 4, num_generations: 2, prepass_k: 2, eval_max_examples: 4, max_completion_length: 16 };
  return resolveConfig(grpoSchema, {
    object: {
      model: ctx.sftDir, data: paths.train, eval_data: paths.eval, out: paths.out, seed: ctx.seed, quiet: ctx.quiet, resume: false,
      curriculum: 'rlcs', learning_rate: 3e-5, logging_steps: 1, save_steps: 0, save_total_limit: 1,
      ...(ctx.quick ? quick : full),
    },
    objectSource: 'pipeline grpo stage',
  });
}

/** Writes the stage's prompt files (once) and returns their paths. */
export async function writeGrpoStageData(ctx: Pick<GrpoStageContext, 'dataDir' | 'seed' | 'quick'>): Promise<{ train: string; eval: string }> {
  const train = join(ctx.dataDir, 'rl_train.jsonl'), evalFile = join(ctx.dataDir, `rl_eval_${HARD_TASK}_l${HARD_LEVELS.join('')}.jsonl`);
  const nTrain = ctx.quick ? 12 : 480, nEval = ctx.quick ? 4 : 240;
  if (!existsSync(train)) {
    mkdirSync(ctx.dataDir, { recursive: true });
    const levels = [1, 2, 3, 4, 5, 6, 7];
    const records: object[] = (generateWorldTask('rl', { n: 3 * nTrain, seed: ctx.seed + 300, split: 'train', difficulty: levels }) as RlRecord[]).filter((r) => r.task === 'arithmetic').slice(0, nTrain);
    await writeJsonl(train, records);
  }
  if (!existsSync(evalFile)) {
    const seen = new Set<string>();
    const recs = (generateWorldTask('rl', { n: 8 * nEval, seed: ctx.seed + 400, split: 'test', difficulty: HARD_LEVELS }) as RlRecord[])
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
  // The stage restarts from scratch when interrupted (the curriculum state is not checkpointed).
  rmSync(join(ctx.out, 'grpo'), { recursive: true, force: true });
  const cfg = grpoStageConfig(ctx, { ...files, out: join(ctx.out, 'grpo') });
  const tok = loadTokenizer(ctx.sftDir);
  const model = loadCausalLM(ctx.sftDir);
  const prompts = readPrompts(files.train), hard = readPrompts(files.eval);
  const trainer = new GrpoTrainer(cfg, model, tok, prompts, hard);
  const before = greedyAccuracy(model, tok, hard, trainer.rolloutOptions(1, 0));
  ctx.log(`pipeline: grpo: held-out ${HARD_TASK} (level ${HARD_LEVELS.join(', ')}): accuracy before RL ${(100 * before).toFixed(1)}% of ${hard.length}`);
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
