/**
 * `glmkit data world --task T --n N --seed S --out FILE.jsonl [--difficulty D] [--world-seed W] [--split S]`
 * Generates a task of the built-in synthetic world (docs/architecture.md "The built-in world") as JSONL.
 */
import { parseArgs } from 'node:util';
import { ConfigError, UsageError } from '../errors.js';
import { MAX_DIFFICULTY, WORLD_TASKS, type WorldTask, generateWorldTask, parseDifficulty, toJsonl, writeJsonl } from '../data/world/index.js';

export const DATA_HELP = `Usage: glmkit data world --task T --n N --out FILE.jsonl [options]

Generate data from glmkit's built-in synthetic world (deterministic for the seeds).

Options:
  --task T          ${WORLD_TASKS.join(' | ')}
  --n N             number of records
  --out FILE        output JSONL file ("-" writes to standard output)
  --seed S          sampling seed (default 0)
  --world-seed W    seed of the world itself (default 0; keep it fixed across splits)
  --difficulty D    levels: "2", "1,3" or "1-4" (arithmetic 1-7, world questions 1-3, longqa 1-4)
  --split S         train (~90% of problems), test (the other ~10%) or all (default)
  --style-noise P   sft: share of demonstrations worded as the annotator dislikes, 0..1 (default 0)
  --contrastive P   preference: share of contrastive pairs (right vs wrong, worded alike), 0..1 (default 0)
  -h, --help        show this help
`;

function parseShare(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (value.trim() === '' || !(v >= 0 && v <= 1)) throw new UsageError(`data world: expected --${flag} between 0 and 1, got "${value}"`);
  return v;
}

function parseNonNegativeInt(flag: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`data world: expected --${flag}, got nothing (see glmkit data world --help)`);
    return fallback;
  }
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`data world: expected --${flag} to be a non-negative integer, got "${value}"`);
  }
  return Number(value);
}

/** Runs `glmkit data ...`; returns the exit code (0 on success). Bad flags throw UsageError. */
export async function dataCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        task: { type: 'string' },
        n: { type: 'string' },
        seed: { type: 'string' },
        'world-seed': { type: 'string' },
        out: { type: 'string', short: 'o' },
        difficulty: { type: 'string' },
        split: { type: 'string' },
        'style-noise': { type: 'string' },
        contrastive: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`data: ${(err as Error).message} (see glmkit data world --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(DATA_HELP);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'world') {
    throw new UsageError(`data: expected the subcommand "world", got ${positionals.length ? `"${positionals.join(' ')}"` : 'nothing'} (see glmkit data world --help)`);
  }
  const task = values.task;
  if (task === undefined || !(WORLD_TASKS as readonly string[]).includes(task)) {
    throw new UsageError(`data world: expected --task ${WORLD_TASKS.join('|')}, got ${task === undefined ? 'nothing' : `"${task}"`}`);
  }
  const n = parseNonNegativeInt('n', values.n);
  const seed = parseNonNegativeInt('seed', values.seed, 0);
  const worldSeed = parseNonNegativeInt('world-seed', values['world-seed'], 0);
  const out = values.out;
  if (!out) throw new UsageError('data world: expected --out FILE.jsonl (or "-" for standard output), got nothing');
  const split = values.split ?? 'all';
  if (split !== 'train' && split !== 'test' && split !== 'all') {
    throw new UsageError(`data world: expected --split train|test|all, got "${split}"`);
  }
  let difficulty: number[] | undefined;
  if (values.difficulty !== undefined) {
    try {
      difficulty = parseDifficulty(values.difficulty, MAX_DIFFICULTY[task as WorldTask]);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(`data world --task ${task}: ${err.message}`);
      throw err;
    }
  }
  const styleNoise = parseShare('style-noise', values['style-noise']);
  const contrastive = parseShare('contrastive', values.contrastive);
  const records = generateWorldTask(task as WorldTask, { n, seed, worldSeed, difficulty, split, styleNoise, contrastive });
  if (out === '-') {
    process.stdout.write(toJsonl(records));
  } else {
    const count = await writeJsonl(out, records);
    process.stderr.write(`wrote ${count} ${task} records to ${out}\n`);
  }
  return 0;
}
