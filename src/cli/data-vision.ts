/**
 * `glmkit data vision --task T --n N --out FILE.jsonl [--split S] [--seed S] [--difficulty D] [--families F] [--size PX] [--aa K]`
 * Generates the visual world (docs/vision-world.md): JSONL records with PNG images written to
 * `<stem>.images/` beside the JSONL file and referenced by relative path.
 */
import { ConfigError, UsageError } from '../errors.js';
import { parseDifficulty } from '../data/world/index.js';
import { DEFAULT_IMAGE_SIZE, VISION_FAMILIES, VISION_MAX_LEVEL, VISION_TASKS, type VisionFamily, type VisionTask, imageFolderOf, writeVisionTask } from '../data/vision/index.js';
import { choice, commandHelp, field, parseCommand, type CommandSpec } from './args.js';
import { outputFile } from './paths.js';

const schema = {
  task: choice(VISION_TASKS, '' as VisionTask, 'a family (problem records with answer, reasoning, caption and scene) or a mixed format: sft (thinking-mode chats), rl (prompts with exact answers), caption (image descriptions)', { required: true }),
  n: field('int', 0, 'number of records', { min: 0, required: true }),
  out: field('path', '', 'output JSONL file; images go to <stem>.images/ beside it', { required: true, short: 'o', placeholder: 'file' }),
  seed: field('int', 0, 'sampling seed', { min: 0 }),
  split: choice(['train', 'test', 'all'], 'all', 'train (~90% of scenes, chosen by hash), test (the other ~10%) or all'),
  difficulty: field<string | null>('string', null, `levels: "2", "1,3" or "1-3" (1..${VISION_MAX_LEVEL}; default all)`, { nullable: true }),
  families: field<string | null>('string', null, `sft, rl, caption: families to mix, comma-separated (${VISION_FAMILIES.join(', ')}; default all)`, { nullable: true }),
  size: field('int', DEFAULT_IMAGE_SIZE, 'image side in pixels, a multiple of 28 within 56..448', { min: 56, max: 448 }),
  aa: field('int', 1, 'anti-aliasing: sub-pixel samples per axis (1 = off)', { min: 1, max: 8 }),
  overwrite: field('boolean', false, 'replace an existing --out file and its image folder'),
};

const spec: CommandSpec<typeof schema> = {
  name: 'data vision',
  usage: 'glmkit data vision --task T --n N --out FILE.jsonl [options]',
  description: 'Generate images with verifiable answers from the built-in visual world (deterministic for the seed).',
  schema,
};

export const DATA_VISION_HELP = commandHelp(spec) + '\n';

/** "count,clock" -> families; a UsageError naming the known families otherwise. */
export function parseVisionFamilies(text: string | null): VisionFamily[] | undefined {
  if (text === null) return undefined;
  const out = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const f of out) {
    if (!(VISION_FAMILIES as readonly string[]).includes(f)) throw new UsageError(`data vision --families: expected a comma-separated list of ${VISION_FAMILIES.join(', ')}, got '${f}'`);
  }
  if (out.length === 0) throw new UsageError(`data vision --families: expected at least one of ${VISION_FAMILIES.join(', ')}`);
  return out as VisionFamily[];
}

/** Runs `glmkit data vision ...` (argv after "vision"). */
export async function dataVisionCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  let difficulty: number[] | undefined;
  if (v.difficulty !== null) {
    try {
      difficulty = parseDifficulty(v.difficulty, VISION_MAX_LEVEL);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(`data vision --task ${v.task}: ${err.message}`);
      throw err;
    }
  }
  const families = parseVisionFamilies(v.families);
  if (v.size % 28 !== 0) throw new UsageError(`data vision --size: expected a multiple of 28 (whole 28-pixel image tokens), got ${v.size}`);
  if (v.out === '-') throw new UsageError('data vision --out: expected a file (images are written beside it), got "-"');
  outputFile('data vision', '--out', v.out, v.overwrite, 'a JSONL file');
  let res: { records: number; images: string };
  try {
    res = writeVisionTask(v.task, { n: v.n, seed: v.seed, split: v.split, difficulty, families, size: v.size, aa: v.aa }, v.out, { overwrite: v.overwrite });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`data vision: ${err.message}`);
    throw err;
  }
  process.stderr.write(`wrote ${res.records} ${v.task} records to ${v.out} and their images to ${imageFolderOf(v.out)}/\n`);
  return 0;
}
