/**
 * The base of the vision experiments: a `glmkit pipeline --preset tiny-vl` output folder (its
 * image-SFT model and tokenizer), given with --base or built under DIR/base.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
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

/** Builds the tiny-vl base recipe under `dir` (up to its SFT stage). */
export async function buildVisionBase(dir: string, _opts: { quick: boolean; quiet: boolean }, _log: (s: string) => void): Promise<BaseArtifacts> {
  throw new ConfigError(`vision experiments need an image-SFT model: pass --base DIR, a \`glmkit pipeline --preset tiny-vl\` output (nothing was built under ${dir})`);
}
