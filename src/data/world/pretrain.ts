/**
 * The pre-training corpus: short documents (a few hundred characters) of four kinds —
 *   arithmetic practice in exactly the notation of the SFT thinking traces (worked column examples
 *   and plain equations), profiles of people, descriptions of places and jobs, and short stories —
 * every sentence true in the world. Output records are `{"text": ...}` (TRL's language-modelling form).
 */
import {
  ARITHMETIC_LEVELS,
  type ArithmeticProblem,
  arithmeticExpression,
  arithmeticInSplit,
  arithmeticTrace,
  sampleArithmetic,
} from './arithmetic.js';
import { type Split, type WorldRng } from './rng.js';
import { type World, COLORS, FOODS, JOBS, factsAbout, withArticle } from './world.js';

export interface PretrainRecord {
  text: string;
}

export type PretrainKind = 'arithmetic' | 'profile' | 'place' | 'jobs' | 'story' | 'ledger';

/** Default arithmetic mix of the corpus: mostly level 2 (two-digit addition and subtraction). */
export const PRETRAIN_ARITHMETIC_LEVELS: readonly (readonly [number, number])[] = [
  [1, 0.15],
  [2, 0.55],
  [3, 0.15],
  [4, 0.1],
  [5, 0.05],
];

/** Draws an arithmetic problem at one of `levels` (weighted), inside `split`. */
export function sampleArithmeticAt(rng: WorldRng, levels: readonly (readonly [number, number])[], split: Split): ArithmeticProblem {
  for (let tries = 0; ; tries++) {
    const level = rng.weighted(levels);
    const p = sampleArithmetic(rng, ARITHMETIC_LEVELS[level], level);
    if (arithmeticInSplit(p, split) || tries > 10000) return p;
  }
}

function arithmeticDoc(rng: WorldRng, levels: readonly (readonly [number, number])[], split: Split): string {
  const parts: string[] = [];
  const worked = rng.int(1, 2);
  for (let i = 0; i < worked; i++) parts.push(arithmeticTrace(sampleArithmeticAt(rng, levels, split)));
  const plain: string[] = [];
  const count = rng.int(3, 6);
  for (let i = 0; i < count; i++) {
    const p = sampleArithmeticAt(rng, levels, split);
    plain.push(`${arithmeticExpression(p)} = ${p.answer}`);
  }
  parts.push(plain.join('\n'));
  return rng.shuffle(parts).join('\n\n');
}

function profileDoc(rng: WorldRng, world: World): string {
  const p = rng.pick(world.people);
  const facts = rng.shuffle(factsAbout(world, p.name).map((f) => f.sentence));
  const extra = world.facts.filter((f) => f.relation === 'taller_than' && f.object === p.name).map((f) => f.sentence);
  return [`About ${p.name}.`, ...facts, ...extra].join(' ');
}

function placeDoc(rng: WorldRng, world: World): string {
  const pl = rng.pick(world.places);
  const residents = world.people.filter((p) => p.home === pl.name);
  const lines = [`${pl.name} is ${pl.landscape.where}.`];
  for (const r of residents) lines.push(`${r.name} lives in ${pl.name} and works as ${withArticle(r.job.name)}.`);
  lines.push(`People in ${pl.name} like to ${pl.landscape.activity}.`);
  return lines.join(' ');
}

function jobsDoc(rng: WorldRng): string {
  return rng
    .sample(JOBS, 3)
    .map((j) => `${withArticle(j.name)[0].toUpperCase()}${withArticle(j.name).slice(1)} works at the ${j.workplace}, uses ${withArticle(j.tool)} and ${j.activity}.`)
    .join(' ');
}

function storyDoc(rng: WorldRng, world: World): string {
  const p = rng.pick(world.people);
  const f = world.person(p.friend)!;
  const place = world.place(p.home)!;
  const thing = `${p.owns.color} ${p.owns.object.name}`;
  const time = rng.pick(['One morning', 'One evening', 'Last spring', 'On a quiet day']);
  const lines = [
    `${time}, ${p.name} took the ${thing} to ${p.owns.object.use}.`,
    `Then ${p.name} went to the ${p.job.workplace}, because ${p.name} works as ${withArticle(p.job.name)}.`,
  ];
  if (rng.chance(0.5)) lines.push(`Every day there ${p.name} uses ${withArticle(p.job.tool)} and ${p.job.activity}.`);
  lines.push(`Later ${p.name} met ${f.name}, a friend who lives in ${f.home}.`);
  lines.push(`${f.name} brought some ${f.likes}, because ${f.name} likes ${f.likes}.`);
  lines.push(`They walked around ${place.name}, which is ${place.landscape.where}, and went home happy.`);
  return lines.join(' ');
}

/**
 * How a travel log's visits read: 'sentence' "On day 9, Alice visited Millford." (the long documents'
 * wording; the key, day and person, sits two or more tokens before the destination), or 'adjacent'
 * "Alice Millford." (each log names a person once, right before the destination: the layout a
 * two-layer induction circuit can look up, "find the earlier token equal to this one, copy what followed"),
 * or 'person': the sentence wording with each person once per log, so the person alone is the key,
 * six tokens (", Alice visited" with the pipeline's tokenizer) before the destination; or 'pair':
 * "On day 9, Alice Millford." with 3 people and 4 days per log and every (day, person) once, so both
 * keys are needed and both sit within the three tokens before the destination.
 */
export const LEDGER_STYLES = ['sentence', 'adjacent', 'person', 'pair'] as const;
export type LedgerStyle = (typeof LEDGER_STYLES)[number];

/** Days a travel log's visits fall on (as the long documents' LONGDOC_DAYS). */
const LOG_DAYS: readonly number[] = Array.from({ length: 30 }, (_, d) => d + 1);

/**
 * A travel log and its recall: 6-12 visits (people and places of the world, days and destinations
 * drawn per document, as in the long documents' logs; `style` above), then "Recall:" and 2-4 of the
 * same visits again in another order. A recalled destination is predictable only by finding its visit
 * earlier in the document: in-context lookup, the mechanism long-document questions need, practised
 * at short range in pre-training (docs/long-context.md "Learning to retrieve").
 */
export function ledgerDoc(rng: WorldRng, world: World, style: LedgerStyle = 'sentence'): string {
  if (style === 'pair') return pairLedgerDoc(rng, world);
  const n = rng.int(6, 12);
  const place = () => rng.pick(world.places).name;
  if (style === 'adjacent') {
    const people = rng.sample(world.people, Math.min(n, world.people.length));
    return logWithRecalls(rng, people.map((p) => `${p.name} ${place()}.`));
  }
  const days = rng.sample(LOG_DAYS, n);
  // 'person': each person once (as many visits as people); 'sentence': a person drawn per visit
  const once = style === 'person' ? rng.sample(world.people, Math.min(n, world.people.length)) : null;
  const visits = (once ? days.slice(0, once.length) : days).map((day, i) => `On day ${day}, ${(once ? once[i] : rng.pick(world.people)).name} visited ${place()}.`);
  return logWithRecalls(rng, visits);
}

/** "Travel log. " and the visits, then "Recall:" and 2-4 of them again in another order. */
function logWithRecalls(rng: WorldRng, visits: string[]): string {
  const recalls = rng.sample(visits, rng.int(2, 4));
  return `Travel log. ${visits.join(' ')}\nRecall: ${recalls.join(' ')}`;
}

function pairLedgerDoc(rng: WorldRng, world: World): string {
  const people = rng.sample(world.people, 3);
  const days = rng.sample(LOG_DAYS, 4);
  const pairs = rng.shuffle(days.flatMap((day) => people.map((p) => ({ day, name: p.name })))).slice(0, rng.int(6, 12));
  return logWithRecalls(rng, pairs.map(({ day, name }) => `On day ${day}, ${name} ${rng.pick(world.places).name}.`));
}

/**
 * A copy document: 10-30 words drawn at random from the world's names, places, colours and foods,
 * then "Again:" and the same words in the same order. The second half is predictable only by copying
 * from the first, so its loss falls only once the model can look back at the token after an earlier
 * copy of the current one (an induction head), the mechanism in-context lookup rests on.
 * With `repeats`, the words come from a pool of 3-5 drawn for the document, so each word recurs and
 * the token after one earlier copy of the current word is often the wrong one: the copy must match
 * the two or three tokens before it as well (multi-token induction, what a key of several tokens,
 * "On day 9, Alice visited", needs).
 */
export function copyDoc(rng: WorldRng, world: World, repeats = false): string {
  const all = [...world.people.map((p) => p.name), ...world.places.map((p) => p.name), ...COLORS, ...FOODS];
  const words = repeats ? rng.sample(all, rng.int(3, 5)) : all;
  const run = Array.from({ length: rng.int(10, 30) }, () => rng.pick(words)).join(' ');
  return `Words: ${run}.\nAgain: ${run}.`;
}

/**
 * Generates `n` pre-training documents; `ledgerShare` of them (default 0) are travel logs with
 * recalls (ledgerDoc, in `ledgerStyle`), then `copyShare` of them (default 0) copy documents (copyDoc),
 * `copyRepeatShare` of those (default 0) drawn from a small pool of words.
 */
export function generatePretrain(
  rng: WorldRng,
  world: World,
  n: number,
  opts: { levels?: readonly (readonly [number, number])[]; split: Split; ledgerShare?: number; ledgerStyle?: LedgerStyle; copyShare?: number; copyRepeatShare?: number },
): PretrainRecord[] {
  const levels = opts.levels ?? PRETRAIN_ARITHMETIC_LEVELS;
  const ledger = opts.ledgerShare ?? 0;
  const out: PretrainRecord[] = [];
  for (let i = 0; i < n; i++) {
    if (ledger > 0 && rng.chance(ledger)) {
      out.push({ text: ledgerDoc(rng, world, opts.ledgerStyle) });
      continue;
    }
    if ((opts.copyShare ?? 0) > 0 && rng.chance(opts.copyShare!)) {
      const repeats = (opts.copyRepeatShare ?? 0) > 0 && rng.chance(opts.copyRepeatShare!);
      out.push({ text: copyDoc(rng, world, repeats) });
      continue;
    }
    const kind = rng.weighted<PretrainKind>([
      ['arithmetic', 0.45],
      ['profile', 0.2],
      ['place', 0.08],
      ['jobs', 0.07],
      ['story', 0.2],
    ]);
    const text =
      kind === 'arithmetic'
        ? arithmeticDoc(rng, levels, opts.split)
        : kind === 'profile'
          ? profileDoc(rng, world)
          : kind === 'place'
            ? placeDoc(rng, world)
            : kind === 'jobs'
              ? jobsDoc(rng)
              : storyDoc(rng, world);
    out.push({ text });
  }
  return out;
}
