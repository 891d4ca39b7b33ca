/**
 * ImageProcessorConfig: HF `Glm4vImageProcessor`'s settings as stored in `preprocessor_config.json`.
 * `size.shortest_edge` / `size.longest_edge` are pixel-count limits (min_pixels / max_pixels, compared
 * with 2 * H' * W' for an image, as HF's smart_resize does), not edge lengths.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { Glm4vVisionConfig } from './config.js';

export const PREPROCESSOR_FILE = 'preprocessor_config.json';

export interface ImageProcessorConfig {
  minPixels: number;
  maxPixels: number;
  patchSize: number;
  temporalPatchSize: number;
  mergeSize: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  rescaleFactor: number;
  doRescale: boolean;
  doNormalize: boolean;
  /** keys glmkit does not use, kept for the round trip */
  extra: Record<string, unknown>;
}

/** OpenAI CLIP's mean and std, HF's defaults for this processor. */
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** HF's defaults (the released preprocessor_config.json), with patch/merge sizes from the vision config. */
export function defaultImageProcessorConfig(v?: Glm4vVisionConfig): ImageProcessorConfig {
  return {
    minPixels: 12544,
    maxPixels: 9633792,
    patchSize: v?.patchSize ?? 14,
    temporalPatchSize: v?.temporalPatchSize ?? 2,
    mergeSize: v?.spatialMergeSize ?? 2,
    imageMean: [...CLIP_MEAN],
    imageStd: [...CLIP_STD],
    rescaleFactor: 1 / 255,
    doRescale: true,
    doNormalize: true,
    extra: { image_processor_type: 'Glm4vImageProcessor', processor_class: 'Glm4vProcessor' },
  };
}

const describe = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Reads a preprocessor_config.json body; missing keys take HF's defaults. */
export function imageProcessorConfigFromHf(json: unknown, source: string): ImageProcessorConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${source}: expected a JSON object (preprocessor_config.json), found ${describe(json)}`);
  const o = json as Record<string, unknown>;
  const cfg = defaultImageProcessorConfig();
  cfg.extra = {};
  const used = new Set(['size', 'min_pixels', 'max_pixels', 'patch_size', 'temporal_patch_size', 'merge_size', 'image_mean', 'image_std', 'rescale_factor', 'do_rescale', 'do_normalize']);
  const posint = (key: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConfigError(`${source}: key "${key}": expected a positive integer, found ${describe(v)}`);
    return v;
  };
  const size = o.size as Record<string, unknown> | undefined;
  if (size !== undefined && (typeof size !== 'object' || size === null)) throw new ConfigError(`${source}: key "size": expected {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}, found ${describe(size)}`);
  const minP = size?.shortest_edge ?? o.min_pixels, maxP = size?.longest_edge ?? o.max_pixels;
  if (minP !== undefined) cfg.minPixels = posint('size.shortest_edge', minP);
  if (maxP !== undefined) cfg.maxPixels = posint('size.longest_edge', maxP);
  if (cfg.minPixels > cfg.maxPixels) throw new ConfigError(`${source}: key "size": expected shortest_edge (min pixels) <= longest_edge (max pixels), found ${cfg.minPixels} > ${cfg.maxPixels}`);
  if (o.patch_size !== undefined) cfg.patchSize = posint('patch_size', o.patch_size);
  if (o.temporal_patch_size !== undefined) cfg.temporalPatchSize = posint('temporal_patch_size', o.temporal_patch_size);
  if (o.merge_size !== undefined) cfg.mergeSize = posint('merge_size', o.merge_size);
  for (const [key, field] of [['image_mean', 'imageMean'], ['image_std', 'imageStd']] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new ConfigError(`${source}: key "${key}": expected three numbers (R, G, B), found ${describe(v)}`);
    cfg[field] = v as [number, number, number];
  }
  if (cfg.imageStd.some((s) => s === 0)) throw new ConfigError(`${source}: key "image_std": expected non-zero values, found ${describe(cfg.imageStd)}`);
  if (o.rescale_factor !== undefined) {
    if (typeof o.rescale_factor !== 'number') throw new ConfigError(`${source}: key "rescale_factor": expected a number, found ${describe(o.rescale_factor)}`);
    cfg.rescaleFactor = o.rescale_factor;
  }
  for (const [key, field] of [['do_rescale', 'doRescale'], ['do_normalize', 'doNormalize']] as const) {
    if (o[key] === undefined) continue;
    if (typeof o[key] !== 'boolean') throw new ConfigError(`${source}: key "${key}": expected true or false, found ${describe(o[key])}`);
    cfg[field] = o[key] as boolean;
  }
  for (const [k, v] of Object.entries(o)) if (!used.has(k)) cfg.extra[k] = v;
  return cfg;
}

export function imageProcessorConfigToHf(cfg: ImageProcessorConfig): Record<string, unknown> {
  return {
    size: { shortest_edge: cfg.minPixels, longest_edge: cfg.maxPixels },
    do_rescale: cfg.doRescale,
    rescale_factor: cfg.rescaleFactor,
    do_normalize: cfg.doNormalize,
    patch_size: cfg.patchSize,
    temporal_patch_size: cfg.temporalPatchSize,
    merge_size: cfg.mergeSize,
    image_mean: [...cfg.imageMean],
    image_std: [...cfg.imageStd],
    ...cfg.extra,
  };
}

/** Reads `dir/preprocessor_config.json` (HF's defaults with the vision config's sizes when the file is absent). */
export function readImageProcessorConfig(dir: string, vision?: Glm4vVisionConfig): ImageProcessorConfig {
  const file = join(dir, PREPROCESSOR_FILE);
  if (!existsSync(file)) return defaultImageProcessorConfig(vision);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return imageProcessorConfigFromHf(json, file);
}
