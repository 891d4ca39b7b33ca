/**
 * `glmkit data world --task T --n N --seed S --out FILE.jsonl [--difficulty D] [--world-seed W] [--split S] [--mrc-kinds K]
 *   [--doc-tokens N] [--longdoc-kinds K] [--longdoc-follow-ups N] [--tokenizer DIR]`
 * Generates a task of the built-in synthetic world (docs/architecture.md "The built-in world") as JSONL.
 * `glmkit data vision ...` (the visual world) is in data-vision.ts.
 */
import { ConfigError, UsageError } from '../errors.js';
import { LEDGER_STYLES, LONGDOC_KINDS, VISIT_STYLES, type LongdocKind, HARD_MRC_KINDS, MAX_DIFFICULTY, MRC_KINDS, PARAPHRASE_CHOICES, STEP_FAMILIES, type MrcKind, type StepFamily, WORLD_TASKS, type WorldTask, generateWorldTask, parseDifficulty, toJsonl, writeJsonl } from '../data/world/index.js';
import { choice, commandHelp, field, parseCommand, type CommandSpec } from './args.js';
import { outputFile } from './paths.js';
import { DATA_VISION_HELP, dataVisionCommand } from './data-vision.js';

/** "hard" or a comma-separated list of mrc kinds (a UsageError naming the known kinds otherwise). */
export function parseMrcKinds(text: string | null): MrcKind[] | undefined {
  if (text === null) return undefined;
  const out: MrcKind[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    if (part === 'hard') out.push(...HARD_MRC_KINDS);
    else if ((MRC_KINDS as readonly string[]).includes(part)) out.push(part as MrcKind);
    else throw new UsageError(`data world: --mrc-kinds: expected kinds among hard, ${MRC_KINDS.join(', ')}; got "${part}"`);
  }
  return out;
}

const schema = {
  task: choice(WORLD_TASKS, '' as WorldTask, 'the task to generate', { required: true }),
  n: field('int', 0, 'number of records', { min: 0, required: true }),
  out: field('path', '', 'output JSONL file ("-" writes to standard output)', { required: true, short: 'o', placeholder: 'file' }),
  seed: field('int', 0, 'sampling seed', { min: 0 }),
  world_seed: field('int', 0, 'seed of the world itself (keep it fixed across splits)', { min: 0 }),
  difficulty: field<string | null>('string', null, 'levels: "2", "1,3" or "1-4" (arithmetic 1-7, world questions 1-3, longqa 1-4, longdoc 1-4 = 512/1k/2k/4k tokens)', { nullable: true }),
  split: choice(['train', 'test', 'all'], 'all', 'train (~90% of problems), test (the other ~10%) or all'),
  style_noise: field('number', 0, 'sft: share of demonstrations worded as the annotator dislikes, 0..1', { min: 0, max: 1 }),
  mrc_kinds: field<string | null>('string', null, `mrc: question kinds, comma-separated (${MRC_KINDS.join(', ')}; "hard" = all but literal and owner_bridge); default literal,owner_bridge`, { nullable: true }),
  contrastive: field('number', 0, 'preference: share of contrastive pairs (right vs wrong, worded alike), 0..1', { min: 0, max: 1 }),
  families: field<string | null>('string', null, 'steps: task families, e.g. "add,mul" (add, sub, mul, chain; default all)', { nullable: true }),
  wrong_share: field('number', 0.5, 'steps: share of corrupted traces (labelled from their first wrong step), 0..1', { min: 0, max: 1 }),
  paraphrase_choices: choice(PARAPHRASE_CHOICES, 'none', 'mcq: write choices with paraphrases of the world\'s words: all of them, or only the right one (answer)'),
  doc_tokens: field<number | null>('int', null, 'longdoc: target document length in tokens (overrides --difficulty)', { nullable: true, min: 64 }),
  longdoc_visit_style: choice(VISIT_STYLES, 'sentence', 'longdoc: how visits read in documents and gold answers: sentence ("On day 9, Alice visited Millford.") or pair ("On day 9, Alice Millford.", both keys right before the place)'),
  longdoc_follow_ups: field('int', 0, 'longdoc: further distinct questions on each document, written as follow_ups', { min: 0 }),
  ledger_share: field('number', 0, 'pretrain: share of travel logs with recalls (in-context lookup practice)', { min: 0, max: 1 }),
  copy_share: field('number', 0, 'pretrain: share of copy documents (random world words, then the same words again: practice for the copying that lookup rests on) among those that are not travel logs', { min: 0, max: 1 }),
  copy_repeat_share: field('number', 0, 'pretrain: share of copy documents drawn from a pool of 3-5 words, so copying must match several tokens (multi-token keys)', { min: 0, max: 1 }),
  ledger_style: choice(LEDGER_STYLES, 'sentence', 'pretrain: how travel-log visits read: sentence ("On day 9, Alice visited Millford."), adjacent ("Alice Millford.", the person right before the destination), person (the sentence wording, each person once per log) or pair ("On day 9, Alice Millford.", 3 people and 4 days per log)'),
  longdoc_kinds: field<string | null>('string', null, `longdoc: question kinds, comma-separated (${LONGDOC_KINDS.join(', ')}; default all)`, { nullable: true }),
  tokenizer: field('path', '', 'longdoc: measure document length with this tokenizer folder (default: characters / 2)'),
  overwrite: field('boolean', false, 'replace an existing --out file'),
};

const spec: CommandSpec<typeof schema> = {
  name: 'data world',
  usage: 'glmkit data world --task T --n N --out FILE.jsonl [options]',
  description: "Generate data from glmkit's built-in synthetic world (deterministic for the seeds).",
  schema,
};

export const DATA_HELP = commandHelp(spec) + '\n';

/** Runs `glmkit data ...`; returns the exit code (0 on success). Bad flags throw UsageError. */
export async function dataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help') {
    console.log(DATA_HELP.trimEnd());
    console.log('\n' + DATA_VISION_HELP.trimEnd());
    return 0;
  }
  if (sub === 'vision') return dataVisionCommand(rest);
  if (sub !== 'world') throw new UsageError(`data: expected the subcommand "world" or "vision", got ${sub === undefined ? 'nothing' : `'${sub}'`}; see glmkit data world --help or glmkit data vision --help`);
  const parsed = parseCommand(spec, rest);
  if (!parsed) return 0;
  const v = parsed.values;
  const task = v.task;
  let difficulty: number[] | undefined;
  if (v.difficulty !== null) {
    try {
      difficulty = parseDifficulty(v.difficulty, MAX_DIFFICULTY[task]);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(`data world --task ${task}: ${err.message}`);
      throw err;
    }
  }
  const families = v.families === null ? undefined : v.families.split(',').map((f) => f.trim()) as StepFamily[];
  for (const f of families ?? []) {
    if (!(STEP_FAMILIES as readonly string[]).includes(f)) throw new UsageError(`data world --families: expected a comma-separated list of ${STEP_FAMILIES.join(', ')}, got '${f}'`);
  }
  const longdocKinds = v.longdoc_kinds === null ? undefined : v.longdoc_kinds.split(',').map((k) => k.trim()).filter((k) => k.length > 0) as LongdocKind[];
  for (const k of longdocKinds ?? []) {
    if (!(LONGDOC_KINDS as readonly string[]).includes(k)) throw new UsageError(`data world --longdoc-kinds: expected a comma-separated list of ${LONGDOC_KINDS.join(', ')}, got '${k}'`);
  }
  let countTokens: ((text: string) => number) | undefined;
  if (v.tokenizer !== '') {
    const { loadTokenizer } = await import('../tokenizer/index.js');
    const tok = loadTokenizer(v.tokenizer);
    countTokens = (text) => tok.encode(text).length;
  }
  if (v.out !== '-') outputFile('data world', '--out', v.out, v.overwrite, 'a JSONL file');
  const records = generateWorldTask(task, { n: v.n, seed: v.seed, worldSeed: v.world_seed, difficulty, split: v.split, styleNoise: v.style_noise, contrastive: v.contrastive, paraphraseChoices: v.paraphrase_choices, mrcKinds: parseMrcKinds(v.mrc_kinds), families, wrongShare: v.wrong_share, docTokens: v.doc_tokens ?? undefined, longdocKinds, longdocFollowUps: v.longdoc_follow_ups, longdocVisitStyle: v.longdoc_visit_style, ledgerShare: v.ledger_share, ledgerStyle: v.ledger_style, copyShare: v.copy_share, copyRepeatShare: v.copy_repeat_share, countTokens });
  if (v.out === '-') {
    process.stdout.write(toJsonl(records));
  } else {
    const count = await writeJsonl(v.out, records);
    process.stderr.write(`wrote ${count} ${task} records to ${v.out}\n`);
  }
  return 0;
}
