/**
 * The built-in synthetic world (docs/architecture.md "The built-in world"): one entry point, `generateWorldTask(task, opts)`, that the
 * CLI (`glmkit data world`) and the pipeline call, and `writeJsonl` to save records. Output is a pure
 * function of (task, n, seed, worldSeed, difficulty, split): the same arguments give byte-identical
 * JSONL. The world itself depends only on `worldSeed`; `seed` decides what is sampled from it, and
 * `split` keeps about 10% of problems (chosen by a hash of the problem) out of `train` for `test`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../errors.js';
import { MAX_ARITHMETIC_LEVEL } from './arithmetic.js';
import { generatePreference, type PreferenceRecord } from './preference.js';
import { generatePairs, generateSts, synonymOf, type PairRecord, type StsRecord } from './lexicon.js';
import { generatePretrain, type LedgerStyle, type PretrainRecord } from './pretrain.js';
import { LONGDOC_KINDS, type LongdocKind, type LongdocRecord, sampleLongdoc } from './longdoc.js';
import type { VisitStyle } from './longdoc-facts.js';
import { type LongQaRecord, type McqRecord, type MrcRecord, LONGQA_LENGTHS, sampleLongQa, sampleMcq, sampleMrc } from './reading.js';
import { BASIC_MRC_KINDS, HARD_MRC_KINDS, MRC_KINDS, type HardMrcKind, type MrcKind, sampleMrcHard } from './reading-hard.js';
import { generateRl, type RlRecord, verifyRlAnswer } from './rl.js';
import { type ModelResponse, verifyChoice, verifyExact } from './verify.js';
import { type Split, WorldRng } from './rng.js';
import { WORLD_TASKS, type WorldTask } from './schema.js';
import { generateSft, type SftRecord } from './sft.js';
import { generateSteps, type StepFamily, type StepwiseRecord } from './steps.js';
import { getWorld } from './world.js';

export * from './arithmetic.js';
export * from './lexicon.js';
export * from './longdoc.js';
export * from './longdoc-facts.js';
export * from './longdoc-rubric.js';
export * from './preference.js';
export * from './pretrain.js';
export * from './questions.js';
export * from './reading.js';
export * from './reading-hard.js';
export * from './rl.js';
export * from './rng.js';
export * from './schema.js';
export * from './sft.js';
export * from './steps.js';
export * from './tools.js';
export * from './verify.js';
export * from './world.js';

export interface WorldTaskOptions {
  /** Number of records. */
  n: number;
  /** Sampling seed (default 0). */
  seed?: number;
  /** Seed of the world itself (default 0): keep it fixed across train and held-out sets. */
  worldSeed?: number;
  /** Difficulty levels to draw from (arithmetic 1..7, world questions 1..3, longqa 1..4, longdoc 1..4); default: the task's mix. */
  difficulty?: number[];
  /** 'train' (~90% of problems), 'test' (the other ~10%) or 'all' (default). */
  split?: Split;
  /** sft only: share of demonstrations worded in a style the annotator dislikes, 0..1 (default 0). */
  styleNoise?: number;
  /** preference only: share of contrastive pairs (a right and a wrong response worded alike), 0..1 (default 0). */
  contrastive?: number;
  /** steps only: task families to draw from (default all: add, sub, mul, chain). */
  families?: StepFamily[];
  /** steps only: share of corrupted (wrong) traces, 0..1 (default 0.5). */
  wrongShare?: number;
  /**
   * mcq only: write choices with their paraphrases (`CHOICE_SYNONYMS`) instead of the words the
   * world's texts use: 'all' every choice, 'answer' only the right one (the distractors keep the seen
   * words, so surface-form scoring is drawn to them); default 'none'. The questions are the same.
   */
  paraphraseChoices?: ParaphraseChoices;
  /** mrc only: the question kinds to draw from, uniformly (default: the basic 'literal' and 'owner_bridge'). */
  mrcKinds?: MrcKind[];
  /** longdoc only: target document length in tokens (overrides `difficulty`, whose levels 1..4 are 512..4096 tokens). */
  docTokens?: number;
  /** longdoc only: the question kinds to draw from (default all). */
  longdocKinds?: LongdocKind[];
  /** longdoc only: counts tokens of a text (a tokenizer); default characters / LONGDOC_CHARS_PER_TOKEN. */
  countTokens?: (text: string) => number;
  /** longdoc only: further questions per record on the same document (`follow_ups`, default 0). */
  longdocFollowUps?: number;
  /** longdoc only: how visits read ('sentence' "On day 9, Alice visited Millford." or 'pair' "On day 9, Alice Millford."; default 'sentence') */
  longdocVisitStyle?: VisitStyle;
  /** pretrain: share of travel-log documents with recalls (in-context lookup practice; default 0) */
  ledgerShare?: number;
  /** pretrain: how a travel log's visits read (ledgerDoc; default 'sentence') */
  ledgerStyle?: LedgerStyle;
  /** pretrain: share of copy documents among those that are not travel logs (copyDoc; default 0) */
  copyShare?: number;
  /** pretrain: share of copy documents whose words come from a pool of 3-5 (copyDoc `repeats`; default 0) */
  copyRepeatShare?: number;
}

export const PARAPHRASE_CHOICES = ['none', 'all', 'answer'] as const;
export type ParaphraseChoices = (typeof PARAPHRASE_CHOICES)[number];

export type WorldRecord = PretrainRecord | SftRecord | RlRecord | PreferenceRecord | LongQaRecord | LongdocRecord | MrcRecord | McqRecord | PairRecord | StsRecord | StepwiseRecord;

export interface WorldTaskRecordMap {
  pretrain: PretrainRecord;
  sft: SftRecord;
  rl: RlRecord;
  preference: PreferenceRecord;
  longqa: LongQaRecord;
  longdoc: LongdocRecord;
  mrc: MrcRecord;
  mcq: McqRecord;
  pairs: PairRecord;
  sts: StsRecord;
  steps: StepwiseRecord;
}

/** Highest difficulty level each task accepts. */
export const MAX_DIFFICULTY: Readonly<Record<WorldTask, number>> = {
  pretrain: MAX_ARITHMETIC_LEVEL,
  sft: MAX_ARITHMETIC_LEVEL,
  rl: MAX_ARITHMETIC_LEVEL,
  preference: 5,
  longqa: Math.max(...Object.keys(LONGQA_LENGTHS).map(Number)),
  longdoc: 4,
  mrc: 3,
  mcq: 1,
  pairs: 1,
  sts: 1,
  steps: 1,
};

/**
 * Parses a difficulty flag: one level ("2"), a list ("1,2,5") or a range ("1-4"); throws
 * ConfigError for anything else or for levels outside 1..max.
 */
export function parseDifficulty(text: string, max: number): number[] {
  const levels = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new ConfigError(`difficulty: expected a level, a list like 1,2,5 or a range like 1-4, got "${text}"`);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (lo < 1 || hi > max || hi < lo) throw new ConfigError(`difficulty: expected levels within 1..${max}, got "${part.trim()}"`);
    for (let l = lo; l <= hi; l++) levels.add(l);
  }
  return [...levels].sort((a, b) => a - b);
}

function checkOptions(task: string, opts: WorldTaskOptions): asserts task is WorldTask {
  if (!(WORLD_TASKS as readonly string[]).includes(task)) {
    throw new ConfigError(`world task: expected one of ${WORLD_TASKS.join(', ')}, got "${task}"`);
  }
  if (!Number.isSafeInteger(opts.n) || opts.n < 0) throw new ConfigError(`world ${task}: expected n to be an integer >= 0, got ${opts.n}`);
  for (const [k, v] of [['seed', opts.seed], ['worldSeed', opts.worldSeed]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new ConfigError(`world ${task}: expected ${k} to be an integer >= 0, got ${v}`);
  }
  if (opts.split !== undefined && !['train', 'test', 'all'].includes(opts.split)) {
    throw new ConfigError(`world ${task}: expected split train, test or all, got "${opts.split}"`);
  }
  for (const [k, v] of [['styleNoise', opts.styleNoise], ['contrastive', opts.contrastive], ['wrongShare', opts.wrongShare]] as const) {
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new ConfigError(`world ${task}: expected ${k} within 0..1, got ${v}`);
  }
  if (opts.paraphraseChoices !== undefined && !(PARAPHRASE_CHOICES as readonly string[]).includes(opts.paraphraseChoices)) {
    throw new ConfigError(`world ${task}: expected paraphraseChoices ${PARAPHRASE_CHOICES.join(', ')}, got "${opts.paraphraseChoices}"`);
  }
  for (const k of opts.mrcKinds ?? []) {
    if (!(MRC_KINDS as readonly string[]).includes(k)) throw new ConfigError(`world ${task}: expected mrc kinds among ${MRC_KINDS.join(', ')}, got "${k}"`);
  }
  for (const k of opts.longdocKinds ?? []) {
    if (!(LONGDOC_KINDS as readonly string[]).includes(k)) throw new ConfigError(`world ${task}: expected longdoc kinds among ${LONGDOC_KINDS.join(', ')}, got "${k}"`);
  }
  for (const [name, share] of [['ledgerShare', opts.ledgerShare], ['copyShare', opts.copyShare], ['copyRepeatShare', opts.copyRepeatShare]] as const) {
    if (share !== undefined && !(share >= 0 && share <= 1)) throw new ConfigError(`world ${task}: expected ${name} within 0..1, got ${share}`);
  }
  if (opts.docTokens !== undefined && (!Number.isSafeInteger(opts.docTokens) || opts.docTokens < 64)) {
    throw new ConfigError(`world ${task}: expected docTokens to be an integer >= 64, got ${opts.docTokens}`);
  }
  const max = MAX_DIFFICULTY[task as WorldTask];
  for (const l of opts.difficulty ?? []) {
    if (!Number.isInteger(l) || l < 1 || l > max) throw new ConfigError(`world ${task}: expected difficulty levels within 1..${max}, got ${l}`);
  }
}

/**
 * The first `n` arithmetic records among `draw * n` rl records of `opts` (the rl task mixes
 * arithmetic with world questions); fewer when the draw holds fewer.
 */
export function arithmeticRecords(n: number, draw: number, opts: Omit<WorldTaskOptions, 'n'>): RlRecord[] {
  return generateWorldTask('rl', { ...opts, n: draw * n }).filter((r) => r.task === 'arithmetic').slice(0, n);
}

/** Generates `opts.n` records of `task` (deterministic for the options). */
export function generateWorldTask<T extends WorldTask>(task: T, opts: WorldTaskOptions): WorldTaskRecordMap[T][];
export function generateWorldTask(task: string, opts: WorldTaskOptions): WorldRecord[];
export function generateWorldTask(task: string, opts: WorldTaskOptions): WorldRecord[] {
  checkOptions(task, opts);
  const seed = opts.seed ?? 0;
  const worldSeed = opts.worldSeed ?? 0;
  const split = opts.split ?? 'all';
  const levels = opts.difficulty && opts.difficulty.length > 0 ? opts.difficulty : undefined;
  const world = getWorld(worldSeed);
  const rng = new WorldRng(seed, 'task', task);
  const n = opts.n;
  switch (task) {
    case 'pretrain':
      return generatePretrain(rng, world, n, { split, levels: levels?.map((l) => [l, 1] as const), ledgerShare: opts.ledgerShare, ledgerStyle: opts.ledgerStyle, copyShare: opts.copyShare, copyRepeatShare: opts.copyRepeatShare });
    case 'sft':
      return generateSft(rng, world, n, { levels, split, styleNoise: opts.styleNoise });
    case 'rl':
      return generateRl(rng, world, n, { levels, split });
    case 'preference':
      return generatePreference(rng, world, n, { levels, split, worldSeed, contrastive: opts.contrastive });
    case 'longqa': {
      const ls = levels ?? [1, 2, 3];
      return Array.from({ length: n }, () => sampleLongQa(rng, world, rng.pick(ls)));
    }
    case 'longdoc': {
      const o = { docTokens: opts.docTokens, levels, split, kinds: opts.longdocKinds, countTokens: opts.countTokens, followUps: opts.longdocFollowUps, visitStyle: opts.longdocVisitStyle };
      return Array.from({ length: n }, () => sampleLongdoc(rng, world, o));
    }
    case 'mrc': {
      const out: MrcRecord[] = [];
      const kinds = opts.mrcKinds && opts.mrcKinds.length > 0 ? opts.mrcKinds : null;
      let tries = 0;
      while (out.length < n) {
        let r: MrcRecord;
        if (!kinds) r = sampleMrc(rng, world);
        else {
          const k = rng.pick(kinds);
          if ((HARD_MRC_KINDS as readonly string[]).includes(k)) r = sampleMrcHard(rng, world, k as HardMrcKind);
          else do r = sampleMrc(rng, world);
          while (r.kind !== k);
        }
        if (!levels || levels.includes(r.difficulty)) out.push(r);
        else if (++tries > 1000 + 100 * n) throw new ConfigError(`world mrc: kinds ${(kinds ?? BASIC_MRC_KINDS).join(', ')} rarely or never have difficulty ${levels.join(',')}; choose other kinds or levels`);
      }
      return out;
    }
    case 'mcq':
      return Array.from({ length: n }, () => paraphrasedMcq(sampleMcq(rng, world), opts.paraphraseChoices ?? 'none'));
    case 'pairs':
      return generatePairs(rng, world, n, split);
    case 'sts':
      return generateSts(rng, world, n, split);
    case 'steps':
      return generateSteps(rng, n, { split, families: opts.families, wrongShare: opts.wrongShare });
  }
}

/** An mcq record with its choices written by their paraphrases (`seen_choices` keeps the world's words). */
export function paraphrasedMcq(r: McqRecord, mode: ParaphraseChoices): McqRecord {
  if (mode === 'none') return r;
  const choices = r.choices.map((c, i) => (mode === 'all' || i === r.answer ? synonymOf(c) : c));
  return { ...r, choices, seen_choices: r.choices };
}

/**
 * 1 if `response` answers `record` of `task` correctly under the task's strict verifier, else 0:
 * rl by its own task's verifier, longqa by exact match, mrc and mcq by the boxed letter or option text.
 * Tasks without a single right answer (pretrain, sft, preference) are not verifiable here: use
 * `goldReward` for preference prompts.
 */
export function verifyWorldRecord(task: 'rl' | 'longqa' | 'mrc' | 'mcq', record: WorldRecord, response: ModelResponse): number {
  switch (task) {
    case 'rl':
      return verifyRlAnswer(record as RlRecord, response);
    case 'longqa':
      return verifyExact(response, (record as LongQaRecord).answer) ? 1 : 0;
    case 'mrc':
      return verifyChoice(response, (record as MrcRecord).answer, (record as MrcRecord).options) ? 1 : 0;
    case 'mcq':
      return verifyChoice(response, (record as McqRecord).answer, (record as McqRecord).choices) ? 1 : 0;
  }
}

/** One record per line, keys in generation order, `\n` after every line. */
export function toJsonl(records: Iterable<unknown>): string {
  let s = '';
  for (const r of records) s += JSON.stringify(r) + '\n';
  return s;
}

/** Writes records as JSONL to `path` (parent folders created), streaming; resolves to the record count. */
export async function writeJsonl(path: string, records: Iterable<unknown> | AsyncIterable<unknown>): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path, { encoding: 'utf8' });
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  let count = 0;
  try {
    for await (const r of records as AsyncIterable<unknown>) {
      if (!out.write(JSON.stringify(r) + '\n')) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      count++;
    }
  } finally {
    out.end();
  }
  await done;
  return count;
}
