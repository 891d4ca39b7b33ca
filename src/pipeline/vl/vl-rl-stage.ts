/**
 * The RL stage of `glmkit pipeline --preset tiny-vl` (after eval): GRPO with the RLCS curriculum
 * across the visual families and levels, from the image-SFT model, on visual-world RL prompts of the
 * train split with the pipeline's image size and levels, rewarded by the box verifier. The SFT model
 * and the RL model are scored greedily by one evaluator on the eval stage's held-out prompts (test
 * half; validation half beside it), so summary.json's `rl.accuracy` holds, per family, accuracy
 * after SFT and after RL, the gain with its paired-bootstrap interval and the chance level.
 * OUT/final becomes the RL model.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { field, type Values } from '../../trainers/base/config.js';
import { loadRlPrompts, type RlPrompt } from '../../trainers/grpo/grpo-data.js';
import { GrpoTrainer, greedyScoresAsync } from '../../trainers/grpo/grpo-trainer.js';
import type { GrpoPolicy } from '../../trainers/grpo/policy.js';
import type { RolloutOptions } from '../../trainers/grpo/rollout.js';
import { loadGrpoPolicy } from '../../trainers/grpo/vision-policy.js';
import { majorityBaseline, type VisionFamily } from '../../data/vision/index.js';
import { validationTestSplit } from '../../eval/splits.js';
import { pairedBootstrap } from '../../experiment/stats.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { VL_STAGES, withVlStage, type VlStage } from './vl-pipeline.js';
import { vlPipelineSchema } from './vl-recipe.js';
import { evalFile, vlFamilies, vlLevels, type VlStageContext } from './vl-stages.js';
import { visionGrpoConfig, writeVisionRlData } from './vision-grpo.js';

/** The pipeline's settings with the RL stage's (rl_*). */
export const vlRlPipelineSchema = {
  ...vlPipelineSchema,
  rl_steps: field('int', 48, 'GRPO steps of the RL stage (RLCS across families and levels)', { min: 1 }),
  rl_prompts: field('int', 480, 'visual-world RL prompts (train split) the curriculum draws from', { min: 2 }),
  rl_batch: field('int', 16, 'completions per GRPO step (prompts per step = this / rl_generations)', { min: 2 }),
  rl_generations: field('int', 4, 'G: completions sampled per prompt', { min: 2 }),
  rl_lr: field('number', 5e-5, 'GRPO learning rate', { min: 0 }),
  rl_prepass_k: field('int', 2, 'RLCS offline pass@k pre-pass: samples per training prompt before RL (0 = none)', { min: 0 }),
  rl_temperature: field('number', 1.0, 'rollout temperature', { min: 0.01 }),
  rl_max_new_tokens: field('int', 96, 'generated tokens per rollout (the reasoning budget)', { min: 8 }),
};

export type VlRlPipelineConfig = Values<typeof vlRlPipelineSchema>;

const RL_DEFAULTS = Object.fromEntries(Object.entries(vlRlPipelineSchema).map(([k, f]) => [k, f.default])) as VlRlPipelineConfig;

/** The RL stage's sizes under --quick (a smoke run). */
const QUICK_RL = { rl_steps: 2, rl_prompts: 8, rl_batch: 4, rl_generations: 2, rl_prepass_k: 0, rl_max_new_tokens: 16 };

/** Runs GRPO + RLCS from OUT/sft/final into OUT/rl, scores OUT/rl/final per family, and makes it OUT/final. */
export async function rlStage(ctx: VlStageContext): Promise<void> {
  const t0 = Date.now();
  // the rl_* settings come with the config when the command used vlRlPipelineSchema; defaults otherwise
  const cfg: VlRlPipelineConfig = { ...RL_DEFAULTS, ...(ctx.cfg as Partial<VlRlPipelineConfig>), ...(ctx.cfg.quick ? QUICK_RL : {}) };
  const src = join(ctx.paths.sft, 'final'), out = join(ctx.out, 'rl');
  const images = { families: vlFamilies(cfg), size: cfg.image_size, difficulty: vlLevels(cfg) };
  const files = writeVisionRlData(ctx.paths.data, cfg.seed, { train: cfg.rl_prompts, validationPerFamily: 0, testPerFamily: 0 }, images);
  // the stage restarts from scratch when interrupted (the curriculum state is not checkpointed)
  rmSync(out, { recursive: true, force: true });
  const grpo = visionGrpoConfig(
    {
      sftDir: src, seed: cfg.seed, quick: false, quiet: cfg.quiet,
      overrides: { max_steps: cfg.rl_steps, per_device_train_batch_size: cfg.rl_batch, num_generations: cfg.rl_generations, learning_rate: cfg.rl_lr, prepass_k: cfg.rl_prepass_k, temperature: cfg.rl_temperature, max_completion_length: cfg.rl_max_new_tokens },
    },
    { train: files.train, out },
  );
  const tok = loadTokenizer(src);
  const policy = loadGrpoPolicy(src, tok);
  const trainer = new GrpoTrainer(grpo, policy, tok, loadRlPrompts(files.train), null);
  // held-out accuracy of the SFT model and of the RL model by one evaluator on the same prompts
  const sets = heldOutSets(ctx, images.families);
  const greedy = { ...trainer.rolloutOptions(1, 0), maxNewTokens: cfg.eval_max_new_tokens, forceAnswer: false };
  const before = await scoreSets(policy, tok, sets, greedy);
  const r = await trainer.train();
  const after = await scoreSets(policy, tok, sets, greedy);
  const cur = trainer.curriculum.summary();
  const accuracy: Record<string, unknown> = {}, validation: Record<string, unknown> = {};
  for (const [i, f] of images.families.entries()) {
    const b = before.test[f], a = after.test[f];
    const gain = a.length >= 2 ? pairedBootstrap(a, b, { seed: i }) : null;
    const chance = majorityBaseline(sets[f].test.map((p) => ({ family: f, answer: p.answer })))[f]?.accuracy ?? NaN;
    accuracy[f] = { sft: mean(b), rl: mean(a), gain: mean(a) - mean(b), gain_ci95: gain?.ci ?? null, chance, n: a.length };
    validation[f] = { sft: mean(before.validation[f]), rl: mean(after.validation[f]), n: after.validation[f].length };
    ctx.log(`pipeline: rl ${f}: test accuracy ${pct(mean(b))} after SFT -> ${pct(mean(a))} after RL of ${a.length} (chance ${pct(chance)})`);
  }
  ctx.log(`pipeline: rl: ${r.steps} steps, ${trainer.rollouts} rollouts (+${trainer.prepassRollouts} pre-pass)`);
  ctx.summary.rl = {
    steps: r.steps, rollouts: trainer.rollouts, prepass_rollouts: trainer.prepassRollouts, prompts: trainer.prompts.length,
    accuracy, validation_accuracy: validation,
    held_out: 'the eval stage\'s held-out prompts per family (test split), test half; both models scored greedily here (thinking mode, eval_max_new_tokens)',
    curriculum: { kind: grpo.curriculum, tiers: cur.tiers, expansion: cur.expansion, invalid_rate: cur.invalid_rate },
    seconds: (Date.now() - t0) / 1000,
  };
  rmSync(join(ctx.out, 'final'), { recursive: true, force: true });
  cpSync(join(out, 'final'), join(ctx.out, 'final'), { recursive: true });
  ctx.summary.final_model = join(out, 'final');
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The held-out prompts of each family (the data stage's eval files), halved as the eval stage halves them. */
function heldOutSets(ctx: VlStageContext, families: readonly VisionFamily[]): Record<string, { validation: RlPrompt[]; test: RlPrompt[] }> {
  return Object.fromEntries(families.map((f) => [f, validationTestSplit(loadRlPrompts(evalFile(ctx.paths, f)), (p) => JSON.stringify(p.prompt))]));
}

/** Greedy per-prompt scores of every family's validation and test halves. */
async function scoreSets(policy: GrpoPolicy, tok: Tokenizer, sets: Record<string, { validation: RlPrompt[]; test: RlPrompt[] }>, greedy: RolloutOptions) {
  const out = { validation: {} as Record<string, number[]>, test: {} as Record<string, number[]> };
  for (const [f, s] of Object.entries(sets)) {
    out.validation[f] = await greedyScoresAsync(policy, tok, s.validation, greedy);
    out.test[f] = await greedyScoresAsync(policy, tok, s.test, greedy);
  }
  return out;
}

/** The tiny-vl pipeline's stages with RL after the SFT model's evaluation. */
export const VL_STAGES_WITH_RL: readonly VlStage[] = withVlStage(VL_STAGES, { name: 'rl', dirs: ['rl'], prefix: 'rl_', run: rlStage }, { after: 'eval' });
