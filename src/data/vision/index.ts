/**
 * The visual world (docs/vision-world.md): generated images with verifiable answers. One entry point,
 * `generateVisionTask(task, opts)`, gives problems (scene, rendered canvas, question, answer,
 * reasoning, caption) and `visionRecord` turns one into the JSONL record of a task; `writeVisionTask`
 * writes the JSONL and the PNG files beside it. Output is a pure function of (task, n, seed, split,
 * difficulty, families, size, aa): the same arguments give byte-identical JSONL and PNGs.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { MultimodalMessage } from '../../tokenizer/chat-types.js';
import { BOX_INSTRUCTION } from '../world/questions.js';
import { type Split, WorldRng, inSplit } from '../world/rng.js';
import { barsFamily, tableFamily } from './chart.js';
import { clockFamily } from './clock.js';
import { countFamily } from './count.js';
import type { Family, VisionText, VisionVerifier } from './family.js';
import { geometryFamily } from './geometry.js';
import { encodePng } from './png.js';
import { Canvas } from './raster.js';
import { BACKGROUND } from './palette.js';
import { spatialFamily } from './spatial.js';
import { digitsFamily, wordsFamily } from './text.js';

export const VISION_FAMILIES = ['count', 'digits', 'words', 'bars', 'clock', 'table', 'spatial', 'geometry'] as const;
export type VisionFamily = (typeof VISION_FAMILIES)[number];
/** Record formats that mix families: SFT chats, RL prompts, captions. */
export const VISION_FORMATS = ['sft', 'rl', 'caption'] as const;
export type VisionFormat = (typeof VISION_FORMATS)[number];
/** `glmkit data vision --task`: one family's problem records, or a mixed format. */
export const VISION_TASKS = [...VISION_FAMILIES, ...VISION_FORMATS] as const;
export type VisionTask = (typeof VISION_TASKS)[number];

export const VISION_MAX_LEVEL = 3;
/** Default image side in pixels: 4 x 4 merged image tokens of GLM-4.1V (28 px each), its min_pixels. */
export const DEFAULT_IMAGE_SIZE = 112;
/** The user text of caption records. */
export const CAPTION_PROMPT = 'Describe the image.';

const FAMILIES: Record<VisionFamily, Family<unknown>> = {
  count: countFamily as Family<unknown>,
  digits: digitsFamily as Family<unknown>,
  words: wordsFamily as Family<unknown>,
  bars: barsFamily as Family<unknown>,
  clock: clockFamily as Family<unknown>,
  table: tableFamily as Family<unknown>,
  spatial: spatialFamily as Family<unknown>,
  geometry: geometryFamily as Family<unknown>,
};

/** The family implementation (sampler, renderer, describer). */
export function visionFamily(name: VisionFamily): Family<unknown> {
  return FAMILIES[name];
}

export interface VisionOptions {
  n: number;
  /** Sampling seed (default 0). */
  seed?: number;
  /** 'train' (~90% of scenes by hash), 'test' (the rest) or 'all' (default). */
  split?: Split;
  /** Levels to draw from, uniformly (default 1..3). */
  difficulty?: number[];
  /** Families the mixed formats draw from, uniformly (default all); a family task uses its own. */
  families?: VisionFamily[];
  /** Image side in pixels, a multiple of 28 within 56..448 (default 112). */
  size?: number;
  /** Anti-aliasing: sub-pixel samples per axis, 1 (off, default) .. 8. */
  aa?: number;
}

export interface VisionProblem extends VisionText {
  family: VisionFamily;
  difficulty: number;
  scene: unknown;
  canvas: Canvas;
}

function checkOptions(task: string, opts: VisionOptions): asserts task is VisionTask {
  if (!(VISION_TASKS as readonly string[]).includes(task)) throw new ConfigError(`vision task: expected one of ${VISION_TASKS.join(', ')}, got "${task}"`);
  if (!Number.isSafeInteger(opts.n) || opts.n < 0) throw new ConfigError(`vision ${task}: expected n to be an integer >= 0, got ${opts.n}`);
  if (opts.seed !== undefined && (!Number.isSafeInteger(opts.seed) || opts.seed < 0)) throw new ConfigError(`vision ${task}: expected seed to be an integer >= 0, got ${opts.seed}`);
  if (opts.split !== undefined && !['train', 'test', 'all'].includes(opts.split)) throw new ConfigError(`vision ${task}: expected split train, test or all, got "${opts.split}"`);
  for (const l of opts.difficulty ?? []) {
    if (!Number.isInteger(l) || l < 1 || l > VISION_MAX_LEVEL) throw new ConfigError(`vision ${task}: expected difficulty levels within 1..${VISION_MAX_LEVEL}, got ${l}`);
  }
  for (const f of opts.families ?? []) {
    if (!(VISION_FAMILIES as readonly string[]).includes(f)) throw new ConfigError(`vision ${task}: expected families among ${VISION_FAMILIES.join(', ')}, got "${f}"`);
  }
  const size = opts.size ?? DEFAULT_IMAGE_SIZE;
  if (!Number.isInteger(size) || size % 28 !== 0 || size < 56 || size > 448) throw new ConfigError(`vision ${task}: expected size to be a multiple of 28 within 56..448 (whole 28-pixel image tokens), got ${size}`);
  const aa = opts.aa ?? 1;
  if (!Number.isInteger(aa) || aa < 1 || aa > 8) throw new ConfigError(`vision ${task}: expected aa (anti-aliasing samples per axis) to be an integer within 1..8, got ${aa}`);
}

/** The split key of a scene of a family (what `inSplit` hashes). */
export function visionKey(family: VisionFamily, scene: unknown): string {
  return FAMILIES[family].key(scene);
}

/** Samples one problem of `family` at `level` in `split` (rejection on the scene's key). */
export function sampleVisionProblem(rng: WorldRng, family: VisionFamily, level: number, split: Split, size: number, aa = 1): VisionProblem {
  const fam = FAMILIES[family];
  for (let tries = 0; tries < 10000; tries++) {
    const scene = fam.sample(rng, level, size);
    if (!inSplit(fam.key(scene), split)) continue;
    const canvas = new Canvas(size, size, BACKGROUND);
    fam.render(scene, canvas, { aa });
    return { family, difficulty: level, scene, canvas, ...fam.describe(scene) };
  }
  throw new ConfigError(`vision ${family}: found no level-${level} scene in the ${split} split after 10000 draws`);
}

/** Generates `opts.n` problems of a task (deterministic for the options), lazily. */
export function* generateVisionTask(task: string, opts: VisionOptions): Generator<VisionProblem> {
  checkOptions(task, opts);
  const rng = new WorldRng(opts.seed ?? 0, 'vision', task);
  const levels = opts.difficulty && opts.difficulty.length > 0 ? opts.difficulty : [1, 2, 3];
  const families: readonly VisionFamily[] = (VISION_FAMILIES as readonly string[]).includes(task) ? [task as VisionFamily] : opts.families && opts.families.length > 0 ? opts.families : VISION_FAMILIES;
  for (let i = 0; i < opts.n; i++) {
    const family = rng.pick(families);
    yield sampleVisionProblem(rng, family, rng.pick(levels), opts.split ?? 'all', opts.size ?? DEFAULT_IMAGE_SIZE, opts.aa ?? 1);
  }
}

/** The final answer in GLM-4.1V's format: `<answer><|begin_of_box|>A<|end_of_box|></answer>`. */
export function glm4vAnswer(answer: string): string {
  return `<answer><|begin_of_box|>${answer}<|end_of_box|></answer>`;
}

/** The user turn of a problem: the image, then the question with the box instruction. */
export function visionUserMessage(image: string, text: string): MultimodalMessage {
  return { role: 'user', content: [{ type: 'image', image }, { type: 'text', text }] };
}

/**
 * The JSONL record of `problem` for `task`, its image referenced as `image` (a path relative to the
 * JSONL file). Families: an RL prompt plus the question, reasoning, caption and scene; sft: a
 * thinking-mode chat; rl: a prompt with its exact answer and verifier; caption: a direct-mode chat.
 */
export function visionRecord(task: VisionTask, p: VisionProblem, image: string): Record<string, unknown> {
  const taskName = `vision-${p.family}`;
  const user = visionUserMessage(image, `${p.question} ${BOX_INSTRUCTION}`);
  const rl = { prompt: [user], answer: p.answer, task: taskName, family: p.family, difficulty: p.difficulty, verifier: p.verifier as VisionVerifier };
  switch (task) {
    case 'sft':
      return { messages: [user, { role: 'assistant', reasoning_content: p.reasoning, content: glm4vAnswer(p.answer) }], enable_thinking: true, task: taskName, family: p.family, difficulty: p.difficulty };
    case 'rl':
      return rl;
    case 'caption':
      return { messages: [visionUserMessage(image, CAPTION_PROMPT), { role: 'assistant', content: p.caption }], enable_thinking: false, task: 'vision-caption', family: p.family, difficulty: p.difficulty };
    default:
      return { ...rl, image, question: p.question, reasoning: p.reasoning, caption: p.caption, scene: p.scene };
  }
}

/** The folder the images of `jsonlPath` go to: `<stem>.images` beside it (e.g. `train.images/` for `train.jsonl`). */
export function imageFolderOf(jsonlPath: string): string {
  return join(dirname(jsonlPath), `${basename(jsonlPath, extname(jsonlPath))}.images`);
}

/**
 * Writes the records of a task to `out` and each image as a PNG in `imageFolderOf(out)`, named
 * `<index>-<family>.png` and referenced relative to the JSONL file. With `overwrite`, an existing
 * image folder of the same name is replaced; without it, an existing folder is a ConfigError.
 */
export function writeVisionTask(task: string, opts: VisionOptions, out: string, write: { overwrite?: boolean } = {}): { records: number; images: string } {
  checkOptions(task, opts);
  const folder = imageFolderOf(out);
  if (existsSync(folder)) {
    if (!write.overwrite) throw new ConfigError(`vision ${task}: image folder ${folder} exists; pass --overwrite to replace it or choose another --out`);
    rmSync(folder, { recursive: true, force: true });
  }
  mkdirSync(folder, { recursive: true });
  const rel = basename(folder);
  const lines: string[] = [];
  let i = 0;
  for (const p of generateVisionTask(task, opts)) {
    const name = `${String(i).padStart(6, '0')}-${p.family}.png`;
    writeFileSync(join(folder, name), encodePng(p.canvas));
    lines.push(JSON.stringify(visionRecord(task, p, `${rel}/${name}`)));
    i++;
  }
  writeFileSync(out, lines.map((l) => l + '\n').join(''));
  return { records: lines.length, images: folder };
}

export { Canvas } from './raster.js';
export { majorityBaseline, type FamilyBaseline } from './baseline.js';
export type { Family, VisionText, VisionVerifier } from './family.js';
