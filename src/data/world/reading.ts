/**
 * Reading tasks over the world:
 *   longqa — a long document of true world facts with one needle sentence that answers the question
 *            and distractor sentences of the same shape that answer a different question;
 *   mrc    — a passage of facts about a few people, a question with four options, the answer index
 *            and the gold evidence sentence indices (one for one-hop, two for two-hop questions);
 *   mcq    — commonsense multiple choice about the world (jobs, tools, objects, landscapes), with a
 *            declarative `prefix` that a choice completes (for SEQA-style voting, docs/methods.md §8).
 */
import { BOX_INSTRUCTION } from './questions.js';
import type { WorldRng } from './rng.js';
import { choiceLetter } from './verify.js';
import { JOBS, LANDSCAPES, OBJECTS, type Person, type World, withArticle } from './world.js';
import type { MrcKind } from './reading-hard.js';

export interface LongQaRecord {
  document: string;
  question: string;
  answer: string;
  /** The sentence that answers the question, and its index in `splitSentences(document)`. */
  needle: string;
  needle_index: number;
  /** Indices of sentences that look like the needle but answer a different question. */
  distractor_indices: number[];
  difficulty: number;
}

export interface MrcRecord {
  passage: string;
  /** The passage split into sentences (`passage === sentences.join(' ')`). */
  sentences: string[];
  question: string;
  options: string[];
  /** Index of the right option. */
  answer: number;
  /** Indices into `sentences` of the gold evidence (every sentence needed), in passage order. */
  evidence: number[];
  difficulty: number;
  /** What reading the question takes (src/data/world/reading-hard.ts lists the kinds). */
  kind: MrcKind;
}

export interface McqRecord {
  question: string;
  choices: string[];
  answer: number;
  /** A declarative prefix that the right choice completes: `prefix + " " + choice`. */
  prefix: string;
  kind: 'workplace' | 'tool' | 'object_use' | 'landscape';
  /** with paraphrased choices (`paraphraseChoices`): the choices in the world's own words */
  seen_choices?: string[];
}

/** Splits text made of sentences ending in ". ", "? " or "! " into sentences. */
export function splitSentences(text: string): string[] {
  return text.split(/(?<=[.?!])\s+/).filter((s) => s.length > 0);
}

/** Filler sentences of a long document per difficulty level. */
export const LONGQA_LENGTHS: Readonly<Record<number, number>> = { 1: 12, 2: 25, 3: 50, 4: 100 };

const LOCKER_COLORS = ['red', 'blue', 'green', 'yellow', 'black', 'white', 'silver', 'golden', 'brown', 'grey', 'pink', 'orange', 'purple'];
const CONTAINERS = ['drawer', 'basket', 'jar', 'boot', 'vase', 'cupboard', 'teacup', 'flowerpot', 'mailbox', 'toolbox'];

/** The user message of a longqa record. */
export function longqaPrompt(r: Pick<LongQaRecord, 'document' | 'question'>): string {
  return `${r.document}\n\n${r.question} ${BOX_INSTRUCTION}`;
}

/** A question with lettered options, asking for the boxed letter. */
export function choicesPrompt(question: string, options: readonly string[]): string {
  return `${question}\n${options.map((o, i) => `${choiceLetter(i)}. ${o}`).join('\n')}\nBox the letter of the answer.`;
}

/** The user message of an mrc record: passage, question and lettered options. */
export function mrcPrompt(r: Pick<MrcRecord, 'passage' | 'question' | 'options'>): string {
  return `${r.passage}\n\n${choicesPrompt(r.question, r.options)}`;
}

/** The user message of an mcq record. */
export function mcqPrompt(r: Pick<McqRecord, 'question' | 'choices'>): string {
  return choicesPrompt(r.question, r.choices);
}

/** A long document of `level` (1..4) with one needle and 2 + level distractors. */
export function sampleLongQa(rng: WorldRng, world: World, level: number, fillerCount?: number): LongQaRecord {
  // fillerCount: the number of filler facts instead of the level's (the long-context stage sizes documents in tokens)
  const fillers = fillerCount ?? LONGQA_LENGTHS[level];
  if (!fillers) throw new RangeError(`longqa difficulty: expected a level 1..4, got ${level}`);
  const numDistractors = Math.min(2 + level, 6);
  let needle: string;
  let question: string;
  let answer: string;
  let distractors: string[];
  if (rng.chance(0.5)) {
    const colors = rng.sample(LOCKER_COLORS, numDistractors + 1);
    const codes: number[] = [];
    while (codes.length < numDistractors + 1) {
      const c = rng.int(1000, 9999);
      if (!codes.includes(c)) codes.push(c);
    }
    needle = `The code of the ${colors[0]} locker is ${codes[0]}.`;
    question = `What is the code of the ${colors[0]} locker?`;
    answer = String(codes[0]);
    distractors = colors.slice(1).map((c, i) => `The code of the ${c} locker is ${codes[i + 1]}.`);
  } else {
    const people = rng.sample(world.people, numDistractors + 1);
    const places = rng.sample(CONTAINERS, numDistractors + 1);
    needle = `${people[0].name} hid the key in the ${places[0]}.`;
    question = `Where did ${people[0].name} hide the key?`;
    answer = places[0];
    distractors = people.slice(1).map((p, i) => `${p.name} hid the key in the ${places[i + 1]}.`);
  }
  const filler = Array.from({ length: fillers }, () => rng.pick(world.facts).sentence);
  // insert needle and distractors at random positions
  const sentences = filler.slice();
  const special = rng.shuffle([needle, ...distractors]);
  for (const s of special) sentences.splice(rng.int(0, sentences.length), 0, s);
  const needleIndex = sentences.indexOf(needle);
  const distractorIndices = distractors.map((d) => sentences.indexOf(d)).sort((a, b) => a - b);
  return {
    document: sentences.join(' '),
    question,
    answer,
    needle,
    needle_index: needleIndex,
    distractor_indices: distractorIndices,
    difficulty: level,
  };
}

function ownsSentence(p: Person): string {
  return `${p.name} owns ${withArticle(`${p.owns.color} ${p.owns.object.name}`)}.`;
}

/** Four distinct options: the answer and three others from `pool`, shuffled; returns options and index. */
function options(rng: WorldRng, answer: string, pool: readonly string[]): { options: string[]; answer: number } {
  const others = rng.sample([...new Set(pool)].filter((x) => x !== answer), 3);
  const opts = rng.shuffle([answer, ...others]);
  return { options: opts, answer: opts.indexOf(answer) };
}

/** A reading-comprehension passage about three people with a one-hop or two-hop question. */
export function sampleMrc(rng: WorldRng, world: World): MrcRecord {
  const people = rng.sample(world.people, 3);
  const facts: { who: Person; rel: 'home' | 'job' | 'owns' | 'likes'; text: string }[] = [];
  for (const p of people) {
    facts.push({ who: p, rel: 'home', text: `${p.name} lives in ${p.home}.` });
    facts.push({ who: p, rel: 'job', text: `${p.name} works as ${withArticle(p.job.name)}.` });
    facts.push({ who: p, rel: 'owns', text: ownsSentence(p) });
    if (rng.chance(0.5)) facts.push({ who: p, rel: 'likes', text: `${p.name} likes ${p.likes}.` });
  }
  rng.shuffle(facts);
  const sentences = facts.map((f) => f.text);
  if (rng.chance(0.5)) sentences.splice(rng.int(0, sentences.length), 0, rng.pick(['It was a busy week in town.', 'The weather was mild that spring.', 'Everyone had a lot of work to do.']));
  const idx = (who: Person, rel: string) => sentences.indexOf(facts.find((f) => f.who === who && f.rel === rel)!.text);
  const target = rng.pick(people);
  const kind = rng.pick(['home', 'job', 'owns', 'owner_home', 'owner_job'] as const);
  const placePool = world.places.map((p) => p.name);
  const jobPool = JOBS.map((j) => j.name);
  const thing = `${target.owns.color} ${target.owns.object.name}`;
  let question: string;
  let opt: { options: string[]; answer: number };
  let evidence: number[];
  switch (kind) {
    case 'home':
      question = `Where does ${target.name} live?`;
      opt = options(rng, target.home, [...people.map((p) => p.home), ...placePool]);
      evidence = [idx(target, 'home')];
      break;
    case 'job':
      question = `What is ${target.name}'s job?`;
      opt = options(rng, target.job.name, [...people.map((p) => p.job.name), ...jobPool]);
      evidence = [idx(target, 'job')];
      break;
    case 'owns':
      question = `What does ${target.name} own?`;
      opt = options(rng, thing, [...people.map((p) => `${p.owns.color} ${p.owns.object.name}`), ...world.people.map((p) => `${p.owns.color} ${p.owns.object.name}`)]);
      evidence = [idx(target, 'owns')];
      break;
    case 'owner_home':
      question = `Where does the owner of the ${thing} live?`;
      opt = options(rng, target.home, [...people.map((p) => p.home), ...placePool]);
      evidence = [idx(target, 'owns'), idx(target, 'home')];
      break;
    case 'owner_job':
      question = `What is the job of the owner of the ${thing}?`;
      opt = options(rng, target.job.name, [...people.map((p) => p.job.name), ...jobPool]);
      evidence = [idx(target, 'owns'), idx(target, 'job')];
      break;
  }
  return {
    passage: sentences.join(' '),
    sentences,
    question,
    options: opt.options,
    answer: opt.answer,
    evidence: evidence.sort((a, b) => a - b),
    difficulty: evidence.length,
    kind: evidence.length === 1 ? 'literal' : 'owner_bridge',
  };
}

/** A commonsense multiple-choice question about a person of the world. */
export function sampleMcq(rng: WorldRng, world: World): McqRecord {
  const p = rng.pick(world.people);
  const kind = rng.pick(['workplace', 'tool', 'object_use', 'landscape'] as const);
  const job = `${p.name} works as ${withArticle(p.job.name)}.`;
  let question: string;
  let prefix: string;
  let opt: { options: string[]; answer: number };
  switch (kind) {
    case 'workplace':
      question = `${job} Where does ${p.name} go to work?`;
      prefix = `${p.name} works as ${withArticle(p.job.name)}, so ${p.name} goes to work at the`;
      opt = options(rng, p.job.workplace, JOBS.map((j) => j.workplace));
      break;
    case 'tool':
      question = `${job} Which thing does ${p.name} use most at work?`;
      prefix = `${p.name} works as ${withArticle(p.job.name)}. At work, ${p.name} mostly uses the`;
      opt = options(rng, p.job.tool, JOBS.map((j) => j.tool));
      break;
    case 'object_use': {
      const thing = `${p.owns.color} ${p.owns.object.name}`;
      question = `${p.name} owns ${withArticle(thing)}. Why does ${p.name} take the ${p.owns.object.name} out?`;
      prefix = `${p.name} takes the ${thing} out to`;
      opt = options(rng, p.owns.object.use, OBJECTS.map((o) => o.use));
      break;
    }
    case 'landscape': {
      const where = world.place(p.home)!.landscape;
      question = `${p.name} lives in ${p.home}, which is ${where.where}. What can ${p.name} do near home?`;
      prefix = `${p.name} lives in ${p.home}, which is ${where.where}, so near home ${p.name} can`;
      opt = options(rng, where.activity, LANDSCAPES.map((l) => l.activity));
      break;
    }
  }
  return { question, choices: opt.options, answer: opt.answer, prefix, kind };
}
