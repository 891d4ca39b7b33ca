/**
 * The RL stage of `glmkit pipeline --preset tiny-vl` (after eval): GRPO with the RLCS curriculum
 * across the visual families and levels, from the image-SFT model, on visual-world RL prompts of the
 * train split with the pipeline's image size and levels, rewarded by the box verifier. The RL model
 * is then scored on the same held-out prompts as the SFT model (evalStageOf), so summary.json holds
 * accuracy per family after SFT (`sft.accuracy`) and after RL (`rl.accuracy`), and
 * `rl.accuracy_by_family` puts the two side by side. OUT/final becomes the RL model.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { field, type Values } from '../../trainers/base/config.js';
import { loadRlPrompts } from '../../trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../../trainers/grpo/grpo-trainer.js';
import { loadGrpoPolicy } from '../../trainers/grpo/vision-policy.js';
import { evalStageOf, VL_STAGES, withVlStage, type VlStage } from './vl-pipeline.js';
import { vlPipelineSchema } from './vl-recipe.js';
import { vlFamilies, vlLevels, type VlStageContext } from './vl-stages.js';
import { visionGrpoConfig, writeVisionRlData } from './vision-grpo.js';

/** The pipeline's settings with the RL stage's (rl_*). */
export const vlRlPipelineSchema = {
  ...vlPipelineSchema,
  rl_steps: field('int', 24, 'GRPO steps of the RL stage (RLCS across families and levels)', { min: 1 }),
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
  const trainer = new GrpoTrainer(grpo, loadGrpoPolicy(src, tok), tok, loadRlPrompts(files.train), null);
  const r = await trainer.train();
  const cur = trainer.curriculum.summary();
  ctx.log(`pipeline: rl: ${r.steps} steps, ${trainer.rollouts} rollouts (+${trainer.prepassRollouts} pre-pass), final reward ${Number(r.metrics.filter((m) => typeof m.reward === 'number').at(-1)?.reward ?? NaN).toFixed(3)}`);
  ctx.summary.rl = {
    steps: r.steps, rollouts: trainer.rollouts, prepass_rollouts: trainer.prepassRollouts, prompts: trainer.prompts.length,
    curriculum: { kind: grpo.curriculum, tiers: cur.tiers, expansion: cur.expansion, invalid_rate: cur.invalid_rate },
    train_seconds: (Date.now() - t0) / 1000,
  };
  await evalStageOf(ctx, join(out, 'final'), 'rl');
  const acc = (key: string) => Object.fromEntries(Object.entries(((ctx.summary[key] as { accuracy?: Record<string, { accuracy: number }> }) ?? {}).accuracy ?? {}).map(([f, a]) => [f, a.accuracy]));
  const sft = acc('sft'), rl = acc('rl');
  (ctx.summary.rl as Record<string, unknown>).accuracy_by_family = Object.fromEntries(Object.keys(rl).map((f) => [f, { sft: sft[f] ?? null, rl: rl[f], gain: sft[f] === undefined ? null : rl[f] - sft[f] }]));
  rmSync(join(ctx.out, 'final'), { recursive: true, force: true });
  cpSync(join(out, 'final'), join(ctx.out, 'final'), { recursive: true });
  ctx.summary.final_model = join(out, 'final');
}

/** The tiny-vl pipeline's stages with RL after the SFT model's evaluation. */
export const VL_STAGES_WITH_RL: readonly VlStage[] = withVlStage(VL_STAGES, { name: 'rl', dirs: ['rl'], prefix: 'rl_', run: rlStage }, { after: 'eval' });
