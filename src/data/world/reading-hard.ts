/**
 * Reading comprehension where reading takes reasoning (docs/reading.md). Passages are blocks of
 * sentences about a few people of the world; inside a block the person is named once and then
 * referred to by a pronoun ("She") or an alias ("The tailor"), so a fact sentence alone may not say
 * whom it is about. Question kinds:
 *   pronoun    — a fact stated with a pronoun (evidence: the naming sentence + the fact);
 *   alias      — a fact stated with "The <job>" (evidence: the job sentence + the fact);
 *   two_hop    — home -> landscape, or friend -> friend's job (two sentences);
 *   three_hop  — owned thing -> owner's home -> landscape, or friend -> home -> landscape;
 *   paraphrase — options paraphrase the text (a job asked as its activity, an object as its use);
 *   distractor — sentences share the question's words but not its answer ("X once visited P");
 *   count      — how many people of the passage live in a place (every such sentence is evidence);
 *   compare    — who is older / taller of two people (both numbers are evidence).
 * Every record has gold evidence sentence ids (all sentences needed, by construction), a difficulty
 * (1..3, the number of evidence sentences, capped at 3) and its `kind`.
 *
 * `sampleAnnotatedDocument` writes plain documents of the same blocks with the entity and noun
 * mentions of each sentence (the world knows its entities), for REPT pre-training; `annotateText`
 * is the heuristic annotator for user text (capitalised spans, a noun lexicon).
 */
import type { WorldRng } from './rng.js';
import { FOODS, JOBS, LANDSCAPES, OBJECTS, type Person, type World, withArticle } from './world.js';
import type { MrcRecord } from './reading.js';

export const HARD_MRC_KINDS = ['pronoun', 'alias', 'two_hop', 'three_hop', 'paraphrase', 'distractor', 'count', 'compare'] as const;
export type HardMrcKind = (typeof HARD_MRC_KINDS)[number];
/** Kinds of the original one-hop / owner-bridge generator (`sampleMrc`). */
export const BASIC_MRC_KINDS = ['literal', 'owner_bridge'] as const;
export const MRC_KINDS = [...BASIC_MRC_KINDS, ...HARD_MRC_KINDS] as const;
export type MrcKind = (typeof MRC_KINDS)[number];

const FEMININE = new Set(['Alice', 'Clara', 'Elena', 'Greta', 'Ines', 'Keiko', 'Maya', 'Olga', 'Quinn', 'Rosa', 'Tara', 'Vera', 'Wendy', 'Zoe', 'Bea', 'Dana']);

/** "She" or "He" for a world name. */
export function pronounOf(name: string): 'She' | 'He' {
  return FEMININE.has(name) ? 'She' : 'He';
}

type Rel = 'job' | 'home' | 'owns' | 'likes' | 'age' | 'height' | 'friend';
type Style = 'name' | 'pronoun' | 'alias';

/** One sentence of a passage and what it states. */
interface Sent {
  text: string;
  who: string | null;
  rel: Rel | 'landscape' | 'filler' | 'distractor';
  /** index of the sentence that names `who` (itself when it does) */
  anchor: number;
}

function predicate(p: Person, rel: Rel): string {
  switch (rel) {
    case 'job': return `works as ${withArticle(p.job.name)}`;
    case 'home': return `lives in ${p.home}`;
    case 'owns': return `owns ${withArticle(`${p.owns.color} ${p.owns.object.name}`)}`;
    case 'likes': return `likes ${p.likes}`;
    case 'age': return `is ${p.age} years old`;
    case 'height': return `is ${p.height} cm tall`;
    case 'friend': return `is a friend of ${p.friend}`;
  }
}

const FILLERS = ['It was a busy week in town.', 'The weather was mild that spring.', 'Everyone had a lot of work to do.', 'The market opened early on Monday.'];

/** A passage under construction: blocks stay contiguous, so a pronoun always follows its name. */
class Passage {
  readonly sents: Sent[] = [];
  private readonly blocks: Sent[][] = [];

  /** A block about `p`: the first relation names p (for 'alias' it must be 'job'), the rest use the style. */
  block(p: Person, rels: Rel[], style: Style): void {
    if (style === 'alias' && rels[0] !== 'job') throw new Error('alias block must start with the job');
    const subject = (i: number) => (i === 0 || style === 'name' ? p.name : style === 'pronoun' ? pronounOf(p.name) : `The ${p.job.name}`);
    this.blocks.push(rels.map((r, i) => ({ text: `${subject(i)} ${predicate(p, r)}.`, who: p.name, rel: r, anchor: i === 0 || style === 'name' ? -1 : 0 })));
  }

  single(text: string, rel: Sent['rel'], who: string | null = null): void {
    this.blocks.push([{ text, who, rel, anchor: -1 }]);
  }

  /** Shuffles the blocks and fixes sentence indices; returns the sentences. */
  finish(rng: WorldRng): string[] {
    rng.shuffle(this.blocks);
    for (const b of this.blocks) {
      const start = this.sents.length;
      for (const s of b) this.sents.push({ ...s, anchor: s.anchor < 0 ? this.sents.length : start + s.anchor });
    }
    return this.sents.map((s) => s.text);
  }

  /** Evidence for a fact: its sentence plus the sentence that names its subject, when that is another. */
  evidence(who: string, rel: Sent['rel']): number[] {
    const i = this.sents.findIndex((s) => s.who === who && s.rel === rel);
    if (i < 0) throw new Error(`no ${rel} sentence about ${who}`);
    return [...new Set([this.sents[i].anchor, i])];
  }

  index(pred: (s: Sent) => boolean): number {
    const i = this.sents.findIndex(pred);
    if (i < 0) throw new Error('sentence not found');
    return i;
  }
}

function fourOptions(rng: WorldRng, answer: string, pool: readonly string[]): { options: string[]; answer: number } {
  const others = rng.sample([...new Set(pool)].filter((x) => x !== answer), 3);
  const opts = rng.shuffle([answer, ...others]);
  return { options: opts, answer: opts.indexOf(answer) };
}

/** People with pairwise distinct jobs (so "the <job>" names one of them). */
function castOf(rng: WorldRng, world: World, n: number, must: Person[] = []): Person[] {
  const jobs = new Set(world.people.map((p) => p.job.name));
  if (jobs.size < n || new Set(must.map((p) => p.job.name)).size < must.length) {
    throw new Error(`mrc: a cast of ${n} people with distinct jobs is impossible in this world (${jobs.size} distinct jobs, required people ${must.map((p) => `${p.name} the ${p.job.name}`).join(', ') || 'none'}); choose another world seed`);
  }
  for (;;) {
    const rest = rng.sample(world.people.filter((p) => !must.includes(p)), n - must.length);
    const cast = [...must, ...rest];
    if (new Set(cast.map((p) => p.job.name)).size === cast.length) return cast;
  }
}

const ASK: Record<'home' | 'job' | 'owns' | 'likes', (n: string) => string> = {
  home: (n) => `Where does ${n} live?`,
  job: (n) => `What is ${n}'s job?`,
  owns: (n) => `What does ${n} own?`,
  likes: (n) => `Which food does ${n} like?`,
};

function factAnswer(world: World, cast: Person[], t: Person, rel: 'home' | 'job' | 'owns' | 'likes', rng: WorldRng): { options: string[]; answer: number } {
  const thing = (p: Person) => `${p.owns.color} ${p.owns.object.name}`;
  switch (rel) {
    case 'home': return fourOptions(rng, t.home, [...cast.map((p) => p.home), ...world.places.map((p) => p.name)]);
    case 'job': return fourOptions(rng, t.job.name, [...cast.map((p) => p.job.name), ...JOBS.map((j) => j.name)]);
    case 'owns': return fourOptions(rng, thing(t), [...cast.map(thing), ...world.people.map(thing)]);
    case 'likes': return fourOptions(rng, t.likes, [...cast.map((p) => p.likes), ...FOODS]);
  }
}

/** A passage, question, options and gold evidence of one hard kind. */
export function sampleMrcHard(rng: WorldRng, world: World, kind: HardMrcKind): MrcRecord {
  const P = new Passage();
  let question = '';
  let opt: { options: string[]; answer: number } = { options: [], answer: 0 };
  let evidence: () => number[] = () => [];
  const otherBlocks = (cast: Person[], style: () => Style) => {
    for (const p of cast) {
      const st = style();
      P.block(p, st === 'alias' ? ['job', ...rng.shuffle(['home', 'owns'] as Rel[])] : rng.shuffle(['job', 'home', 'owns'] as Rel[]), st);
    }
  };
  const styles = (): Style => rng.pick(['name', 'pronoun', 'alias'] as const);
  switch (kind) {
    case 'pronoun':
    case 'alias': {
      const cast = castOf(rng, world, 3);
      const [t, ...rest] = cast;
      const rel = rng.pick(['home', 'owns', 'likes'] as const);
      const others = rng.shuffle((['home', 'owns', 'likes'] as Rel[]).filter((r) => r !== rel)).slice(0, 1);
      P.block(t, ['job', ...rng.shuffle([rel, ...others])], kind);
      otherBlocks(rest, styles);
      question = ASK[rel](t.name);
      opt = factAnswer(world, cast, t, rel, rng);
      evidence = () => P.evidence(t.name, rel);
      break;
    }
    case 'paraphrase': {
      const cast = castOf(rng, world, 3);
      const t = cast[0];
      otherBlocks(cast, styles);
      if (rng.chance(0.5)) {
        question = `What does ${t.name} do at work?`;
        opt = fourOptions(rng, t.job.activity, JOBS.map((j) => j.activity));
        evidence = () => P.evidence(t.name, 'job');
      } else {
        question = `What can ${t.name} do with the thing ${pronounOf(t.name).toLowerCase()} owns?`;
        opt = fourOptions(rng, t.owns.object.use, OBJECTS.map((o) => o.use));
        evidence = () => P.evidence(t.name, 'owns');
      }
      break;
    }
    case 'two_hop':
    case 'three_hop': {
      const viaFriend = rng.chance(0.5);
      // via a friend, the two must have different jobs (a cast has distinct jobs); in worlds where some
      // friends share a job they are not drawn (other worlds draw exactly as before)
      const t0 = rng.pick(viaFriend ? world.people.filter((p) => world.person(p.friend)!.job.name !== p.job.name) : world.people);
      const friend = world.person(t0.friend)!;
      const cast = castOf(rng, world, 3, viaFriend ? [t0, friend] : [t0]);
      for (const p of cast) {
        const rels: Rel[] = ['home', 'job', 'owns'];
        if (p === t0 && viaFriend) rels.push('friend');
        P.block(p, rng.shuffle(rels), 'name');
      }
      const homes = [...new Set(cast.map((p) => p.home))];
      for (const h of homes) P.single(`${h} is ${world.place(h)!.landscape.where}.`, 'landscape', h);
      const land = (p: Person) => world.place(p.home)!.landscape.where;
      const landQ = (who: string) => `What is the land like where ${who} lives?`;
      const landIdx = (p: Person) => P.index((s) => s.rel === 'landscape' && s.who === p.home);
      const landOpts = (p: Person) => fourOptions(rng, land(p), LANDSCAPES.map((l) => l.where));
      if (kind === 'two_hop' && viaFriend) {
        question = `What is the job of ${t0.name}'s friend?`;
        opt = fourOptions(rng, friend.job.name, [...cast.map((p) => p.job.name), ...JOBS.map((j) => j.name)]);
        evidence = () => [...P.evidence(t0.name, 'friend'), ...P.evidence(friend.name, 'job')];
      } else if (kind === 'two_hop') {
        question = landQ(t0.name);
        opt = landOpts(t0);
        evidence = () => [...P.evidence(t0.name, 'home'), landIdx(t0)];
      } else if (viaFriend) {
        question = landQ(`${t0.name}'s friend`);
        opt = landOpts(friend);
        evidence = () => [...P.evidence(t0.name, 'friend'), ...P.evidence(friend.name, 'home'), landIdx(friend)];
      } else {
        question = landQ(`the owner of the ${t0.owns.color} ${t0.owns.object.name}`);
        opt = landOpts(t0);
        evidence = () => [...P.evidence(t0.name, 'owns'), ...P.evidence(t0.name, 'home'), landIdx(t0)];
      }
      break;
    }
    case 'distractor': {
      const cast = castOf(rng, world, 3);
      const [t, u] = cast;
      const [visited, other] = rng.sample(world.places.map((p) => p.name).filter((n) => n !== t.home), 2);
      otherBlocks(cast.slice(1), () => 'name');
      P.block(t, rng.shuffle(['home', 'job'] as Rel[]), 'name');
      P.single(`${t.name} once visited ${visited} to see the market.`, 'distractor', t.name);
      P.single(`A cousin of ${t.name} told ${u.name} about a house in ${other}.`, 'distractor', t.name);
      question = `Where does ${t.name} live?`;
      opt = fourOptions(rng, t.home, [visited, other, ...world.places.map((p) => p.name)]);
      if (!opt.options.includes(visited) || !opt.options.includes(other)) {
        const opts = rng.shuffle([t.home, visited, other, rng.pick(world.places.map((p) => p.name).filter((n) => ![t.home, visited, other].includes(n)))]);
        opt = { options: opts, answer: opts.indexOf(t.home) };
      }
      evidence = () => P.evidence(t.name, 'home');
      break;
    }
    case 'count': {
      let cast: Person[];
      let place: string;
      let count: number;
      for (;;) {
        cast = castOf(rng, world, 4);
        place = rng.pick(cast).home;
        count = cast.filter((p) => p.home === place).length;
        if (count <= 3) break;
      }
      for (const p of cast) P.block(p, rng.shuffle(['home', 'job'] as Rel[]), 'name');
      question = `How many of the people in the passage live in ${place}?`;
      const words = ['one', 'two', 'three', 'four'];
      opt = { options: words, answer: count - 1 };
      evidence = () => cast.filter((p) => p.home === place).flatMap((p) => P.evidence(p.name, 'home'));
      break;
    }
    case 'compare': {
      const byAge = rng.chance(0.5);
      let cast: Person[];
      do cast = castOf(rng, world, 4);
      while (byAge && cast[0].age === cast[1].age);
      const [a, b] = cast;
      const rel: Rel = byAge ? 'age' : 'height';
      for (const p of cast) P.block(p, rng.shuffle([rel, 'job'] as Rel[]), 'name');
      const win = byAge ? (a.age > b.age ? a : b) : a.height > b.height ? a : b;
      const [x, y] = rng.shuffle([a.name, b.name]);
      question = byAge ? `Who is older, ${x} or ${y}?` : `Who is taller, ${x} or ${y}?`;
      const opts = rng.shuffle(cast.map((p) => p.name));
      opt = { options: opts, answer: opts.indexOf(win.name) };
      evidence = () => [...P.evidence(a.name, rel), ...P.evidence(b.name, rel)];
      break;
    }
  }
  if (rng.chance(0.5)) P.single(rng.pick(FILLERS), 'filler');
  const sentences = P.finish(rng);
  const ev = [...new Set(evidence())].sort((x, y) => x - y);
  return { passage: sentences.join(' '), sentences, question, options: opt.options, answer: opt.answer, evidence: ev, difficulty: Math.min(3, ev.length), kind };
}

/** Entity and noun mentions of one sentence (surface strings as they occur). */
export interface SentenceAnnotation {
  entities: string[];
  nouns: string[];
}

/** A plain document with per-sentence annotations (REPT pre-training). */
export interface AnnotatedDocument {
  sentences: string[];
  annotations: SentenceAnnotation[];
}

/** Nouns the world knows (jobs, workplaces, tools, objects, foods, colours, landscape words). */
export const WORLD_NOUNS: readonly string[] = [...new Set([
  ...JOBS.flatMap((j) => [j.name, j.workplace, j.tool]), ...OBJECTS.map((o) => o.name), ...FOODS,
  'sea', 'mountains', 'river', 'forest', 'desert', 'island', 'market', 'house', 'cousin', 'friend', 'town', 'years',
])];

const STOP_CAPS = new Set(['The', 'A', 'An', 'She', 'He', 'It', 'They', 'We', 'I', 'You', 'This', 'That', 'There', 'Everyone', 'What', 'Who', 'Where', 'When', 'How', 'Which', 'Why', 'In', 'On', 'At', 'But', 'And']);

/** Heuristic annotation of user text: capitalised spans (not a sentence-initial function word) and lexicon nouns. */
export function annotateText(sentence: string, nouns: readonly string[] = WORLD_NOUNS): SentenceAnnotation {
  const words = sentence.match(/[A-Za-z][A-Za-z'-]*/g) ?? [];
  const entities: string[] = [];
  let span: string[] = [];
  const flush = () => {
    if (span.length > 0) entities.push(span.join(' '));
    span = [];
  };
  words.forEach((w, i) => {
    const bare = w.replace(/'s$/, '');
    if (/^[A-Z]/.test(bare) && !(i === 0 && STOP_CAPS.has(bare)) && !STOP_CAPS.has(bare)) span.push(bare);
    else flush();
    if (bare !== w) flush();
  });
  flush();
  const lex = new Set(nouns);
  const found = words.map((w) => w.toLowerCase()).filter((w) => lex.has(w) || (w.endsWith('s') && lex.has(w.slice(0, -1))));
  return { entities: [...new Set(entities)], nouns: [...new Set(found)] };
}

/** A plain document about a few people (pronoun and alias blocks, landscapes), with the world's annotations. */
export function sampleAnnotatedDocument(rng: WorldRng, world: World): AnnotatedDocument {
  const P = new Passage();
  const cast = castOf(rng, world, rng.int(2, 4));
  for (const p of cast) {
    const style = rng.pick(['name', 'pronoun', 'alias'] as const);
    const rest = rng.sample(['home', 'owns', 'likes', 'age', 'friend'] as Rel[], 2);
    P.block(p, style === 'alias' ? ['job', ...rest] : rng.shuffle(['job', ...rest]), style);
  }
  for (const h of new Set(cast.map((p) => p.home))) P.single(`${h} is ${world.place(h)!.landscape.where}.`, 'landscape', h);
  const sentences = P.finish(rng);
  const names = new Set([...world.people.map((p) => p.name), ...world.places.map((p) => p.name)]);
  const annotations = sentences.map((s) => {
    const words = s.match(/[A-Za-z]+/g) ?? [];
    return { entities: [...new Set(words.filter((w) => names.has(w)))], nouns: annotateText(s).nouns };
  });
  return { sentences, annotations };
}
