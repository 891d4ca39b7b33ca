/**
 * The base of the vision experiments: a `glmkit pipeline --preset tiny-vl` output folder (its
 * image-SFT model and tokenizer), given with --base or built under DIR/base.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { VisionFamily } from '../data/vision/index.js';
import { resolveConfig } from '../trainers/base/config.js';
import type { VisionImageOptions } from '../pipeline/vl/vision-grpo.js';
import { vlPipelineSchema, type VlPipelineConfig } from '../pipeline/vl/vl-recipe.js';
import { vlFamilies, vlLevels } from '../pipeline/vl/vl-stages.js';
import { runVlStages, VL_STAGES } from '../pipeline/vl/vl-pipeline.js';
import type { BaseArtifacts } from './types.js';

/** The artifacts of a tiny-vl pipeline output, checked to exist (the SFT model folder with its tokenizer). */
export function visionPipelineArtifacts(dir: string): BaseArtifacts {
  const sftDir = join(dir, 'sft', 'final');
  const a: BaseArtifacts = { dir, dataDir: join(dir, 'data'), initDir: join(dir, 'init'), pretrainDir: join(dir, 'prealign', 'final'), sftDir, rewardDir: '' };
  for (const [p, what] of [[join(sftDir, 'config.json'), 'the image-SFT model (sft stage)'], [join(sftDir, 'tokenizer.json'), "the SFT model's tokenizer"]] as const) {
    if (!existsSync(p)) throw new ConfigError(`--base ${dir}: expected ${what} at ${p}, found nothing; run \`glmkit pipeline --preset tiny-vl --out ${dir}\` or leave out --base`);
  }
  return a;
}

/** Builds the tiny-vl base recipe under `dir` (`pipeline --preset tiny-vl --until eval`, seed 0; resumable). */
export async function buildVisionBase(dir: string, opts: { quick: boolean; quiet: boolean }, log: (s: string) => void): Promise<BaseArtifacts> {
  log(`experiment: building the tiny-vl base recipe under ${dir} (pipeline --preset tiny-vl --until eval)`);
  const cfg = resolveConfig(vlPipelineSchema, { object: { out: dir, seed: 0, quick: opts.quick, until: 'eval', quiet: opts.quiet }, objectSource: 'experiment' });
  await runVlStages(cfg, VL_STAGES, log);
  return visionPipelineArtifacts(dir);
}

/**
 * The images the base's SFT model was trained on (the pipeline's image_size, levels and families,
 * from its pipeline_state.json; the pipeline defaults when the folder has none), restricted to
 * `families`: RL prompts must look like them.
 */
export function visionBaseImages(dir: string, families: readonly VisionFamily[]): VisionImageOptions {
  const file = join(dir, 'pipeline_state.json');
  const saved = existsSync(file) ? ((JSON.parse(readFileSync(file, 'utf8')) as { config?: Partial<VlPipelineConfig> }).config ?? {}) : {};
  const cfg = { ...resolveConfig(vlPipelineSchema, { object: {}, objectSource: 'defaults' }), ...saved } as VlPipelineConfig;
  const trained = vlFamilies(cfg);
  const chosen = families.filter((f) => trained.includes(f));
  if (chosen.length === 0) throw new ConfigError(`--base ${dir}: its SFT model was trained on ${trained.join(', ')}, none of the families asked for (${families.join(', ')})`);
  return { families: chosen, size: cfg.image_size, difficulty: vlLevels(cfg) };
}
