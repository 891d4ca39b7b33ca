/**
 * Verifiable questions about the world, at three difficulty levels:
 *   1. one fact (where does X live, what is X's job, ...);
 *   2. a comparison or a computation over facts (who is taller, how old will X be in k years);
 *   3. two hops (where does the owner of the red kite live, what is the job of X's friend).
 * Each question comes with its exact answer and a step-by-step thinking trace that recalls the facts
 * it needs, and `answerWorldQuestion` answers any question text of these forms from the world.
 */
import { arithmeticTrace } from './arithmetic.js';
import type { WorldRng } from './rng.js';
import { type Person, type World, withArticle } from './world.js';

export const BOX_INSTRUCTION = 'Box the final answer.';
export const MAX_WORLD_LEVEL = 3;

export type WorldQuestionKind =
  | 'home'
  | 'job'
  | 'owns'
  | 'likes'
  | 'age'
  | 'friend'
  | 'taller'
  | 'older'
  | 'age_later'
  | 'owner_home'
  | 'friend_job'
  | 'friend_home';

export interface WorldQuestion {
  kind: WorldQuestionKind;
  level: number;
  /** The user text, ending with the box instruction. */
  question: string;
  answer: string;
  /** Step-by-step reasoning from the facts to the answer. */
  trace: string;
}

const KINDS_BY_LEVEL: Record<number, WorldQuestionKind[]> = {
  1: ['home', 'job', 'owns', 'likes', 'age', 'friend'],
  2: ['taller', 'older', 'age_later'],
  3: ['owner_home', 'friend_job', 'friend_home'],
};

function q(text: string): string {
  return `${text} ${BOX_INSTRUCTION}`;
}

function twoPeople(rng: WorldRng, world: World, differ: (a: Person, b: Person) => boolean): [Person, Person] {
  for (;;) {
    const [a, b] = rng.sample(world.people, 2);
    if (differ(a, b)) return [a, b];
  }
}

/** Draws a question of `level` (1..3) about the world. */
export function sampleWorldQuestion(rng: WorldRng, world: World, level: number): WorldQuestion {
  const kinds = KINDS_BY_LEVEL[level];
  if (!kinds) throw new RangeError(`world question difficulty: expected a level 1..${MAX_WORLD_LEVEL}, got ${level}`);
  const kind = rng.pick(kinds);
  const p = rng.pick(world.people);
  const mk = (question: string, answer: string, trace: string[]): WorldQuestion => ({
    kind,
    level,
    question: q(question),
    answer,
    trace: trace.join('\n'),
  });
  switch (kind) {
    case 'home':
      return mk(`Where does ${p.name} live?`, p.home, [`I need the town where ${p.name} lives.`, `${p.name} lives in ${p.home}.`]);
    case 'job':
      return mk(`What is ${p.name}'s job?`, p.job.name, [`I need ${p.name}'s job.`, `${p.name} works as ${withArticle(p.job.name)}.`]);
    case 'owns': {
      const thing = `${p.owns.color} ${p.owns.object.name}`;
      return mk(`What does ${p.name} own?`, thing, [`I need what ${p.name} owns.`, `${p.name} owns ${withArticle(thing)}.`]);
    }
    case 'likes':
      return mk(`What food does ${p.name} like?`, p.likes, [`I need the food ${p.name} likes.`, `${p.name} likes ${p.likes}.`]);
    case 'age':
      return mk(`How old is ${p.name}?`, String(p.age), [`I need ${p.name}'s age.`, `${p.name} is ${p.age} years old.`]);
    case 'friend':
      return mk(`Who is ${p.name}'s friend?`, p.friend, [`I need ${p.name}'s friend.`, `${p.name} is a friend of ${p.friend}.`]);
    case 'taller': {
      const [a, b] = twoPeople(rng, world, () => true);
      const t = a.height > b.height ? a : b;
      const [hi, lo] = a.height > b.height ? [a.height, b.height] : [b.height, a.height];
      return mk(`Who is taller, ${a.name} or ${b.name}?`, t.name, [
        `${a.name} is ${a.height} cm tall.`,
        `${b.name} is ${b.height} cm tall.`,
        `${hi} > ${lo}, so ${t.name} is taller.`,
      ]);
    }
    case 'older': {
      const [a, b] = twoPeople(rng, world, (x, y) => x.age !== y.age);
      const o = a.age > b.age ? a : b;
      const [hi, lo] = a.age > b.age ? [a.age, b.age] : [b.age, a.age];
      return mk(`Who is older, ${a.name} or ${b.name}?`, o.name, [
        `${a.name} is ${a.age} years old.`,
        `${b.name} is ${b.age} years old.`,
        `${hi} > ${lo}, so ${o.name} is older.`,
      ]);
    }
    case 'age_later': {
      const k = rng.int(2, 19);
      return mk(`How old will ${p.name} be in ${k} years?`, String(p.age + k), [
        `${p.name} is ${p.age} years old.`,
        arithmeticTrace({ operands: [p.age, k], ops: ['+'] }),
      ]);
    }
    case 'owner_home': {
      const thing = `${p.owns.color} ${p.owns.object.name}`;
      return mk(`Where does the owner of the ${thing} live?`, p.home, [
        `First I find who owns the ${thing}.`,
        `${p.name} owns ${withArticle(thing)}.`,
        `${p.name} lives in ${p.home}.`,
      ]);
    }
    case 'friend_job': {
      const f = world.person(p.friend)!;
      return mk(`What is the job of ${p.name}'s friend?`, f.job.name, [
        `First I find ${p.name}'s friend.`,
        `${p.name} is a friend of ${f.name}.`,
        `${f.name} works as ${withArticle(f.job.name)}.`,
      ]);
    }
    case 'friend_home': {
      const f = world.person(p.friend)!;
      return mk(`Where does ${p.name}'s friend live?`, f.home, [
        `First I find ${p.name}'s friend.`,
        `${p.name} is a friend of ${f.name}.`,
        `${f.name} lives in ${f.home}.`,
      ]);
    }
  }
}

/** The final answer text of world questions in SFT data. */
export function worldFinalAnswer(answer: string): string {
  return `The answer is <|begin_of_box|>${answer}<|end_of_box|>.`;
}

/**
 * Answers a question of any form `sampleWorldQuestion` produces by looking the facts up in `world`
 * (independently of how the question was made); null for text it does not recognise or names it
 * does not know.
 */
export function answerWorldQuestion(world: World, text: string): string | null {
  const person = (name: string) => world.person(name);
  let m: RegExpExecArray | null;
  if ((m = /Where does the owner of the (\w+) (\w+) live\?/.exec(text))) return world.ownerOf(m[1], m[2])?.home ?? null;
  if ((m = /What is the job of (\w+)'s friend\?/.exec(text))) {
    const f = person(person(m[1])?.friend ?? '');
    return f ? f.job.name : null;
  }
  if ((m = /Where does (\w+)'s friend live\?/.exec(text))) return person(person(m[1])?.friend ?? '')?.home ?? null;
  if ((m = /Where does (\w+) live\?/.exec(text))) return person(m[1])?.home ?? null;
  if ((m = /What is (\w+)'s job\?/.exec(text))) return person(m[1])?.job.name ?? null;
  if ((m = /What does (\w+) own\?/.exec(text))) {
    const p = person(m[1]);
    return p ? `${p.owns.color} ${p.owns.object.name}` : null;
  }
  if ((m = /What food does (\w+) like\?/.exec(text))) return person(m[1])?.likes ?? null;
  if ((m = /How old is (\w+)\?/.exec(text))) {
    const p = person(m[1]);
    return p ? String(p.age) : null;
  }
  if ((m = /How old will (\w+) be in (\d+) years\?/.exec(text))) {
    const p = person(m[1]);
    return p ? String(p.age + Number(m[2])) : null;
  }
  if ((m = /Who is (\w+)'s friend\?/.exec(text))) return person(m[1])?.friend ?? null;
  if ((m = /Who is (taller|older), (\w+) or (\w+)\?/.exec(text))) {
    const a = person(m[2]);
    const b = person(m[3]);
    if (!a || !b) return null;
    const key = m[1] === 'taller' ? 'height' : 'age';
    if (a[key] === b[key]) return null;
    return a[key] > b[key] ? a.name : b.name;
  }
  return null;
}
