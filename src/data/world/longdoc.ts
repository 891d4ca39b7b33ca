/**
 * longdoc — long documents about the world for long-context reading (docs/longreward.md). A document
 * is a numbered list of sentences ("[1] Alice lives in Oakridge. [2] ...") stating facts about many
 * people and places of the world: their world facts (home, job, possessions, age, ...) plus facts
 * that only the document holds (extra possessions, and visits "On day 9, Alice visited Millford."), so
 * questions cannot be answered from what a model learned about the world. Documents are filled up to
 * a target length in tokens (`docTokens`; levels 1..4 = 512, 1024, 2048, 4096), measured with a
 * tokenizer when one is given and otherwise estimated as characters / LONGDOC_CHARS_PER_TOKEN (2: the
 * pipeline's tokenizer — 1,024-token BPE, numbers digit by digit — gives 2.2 characters per token on
 * these documents; English BPEs of large models give about 4, so estimated documents are shorter there).
 *
 * Question kinds (`kind`):
 *   needle      — one fact stated by name ("Which town did Alice visit on day 9?"; only the
 *                 document's visits are asked, never facts a model may know about the world);
 *   multi_hop   — two facts chained (the friend or the owner of a thing, then that person's visit);
 *   aggregation — counting over facts spread through the document ("How many people in Oakridge own
 *                 a lamp?", "How many times did Alice visit Millford?");
 *   pronoun     — the fact is stated with "she"/"he" right after a sentence naming the person;
 *   alias       — the fact is stated about "Bruno's friend" or "the baker from Oakridge".
 * Each record carries the ids of the supporting sentences (`support`, 0-based indices into
 * `sentences`; the document numbers sentence i as [i+1]), the atomic `statements` a complete answer
 * contains (longdoc-facts.ts grammar), the resolved form of every pronoun/alias sentence
 * (`resolved`) and an SFT form (`messages`). `scoreLongdocAnswer` (longdoc-rubric.ts) is the gold rubric.
 */
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { pronounOf } from './reading-hard.js';
import { inSplit, type Split, type WorldRng } from './rng.js';
import { boxed } from './verify.js';
import { COLORS, OBJECTS, type Person, type World, factsAbout, withArticle } from './world.js';
import { type LongdocFact, type VisitStyle, countOwnersStatement, countVisitsStatement, factKey, factStatement, visitStatement } from './longdoc-facts.js';

export const LONGDOC_KINDS = ['needle', 'multi_hop', 'aggregation', 'pronoun', 'alias'] as const;
export type LongdocKind = (typeof LONGDOC_KINDS)[number];

/** Characters per token of the length estimate when no tokenizer is given (conservative: see above). */
export const LONGDOC_CHARS_PER_TOKEN = 2;
/** Target document length in tokens per difficulty level. */
export const LONGDOC_LEVEL_TOKENS: Readonly<Record<number, number>> = { 1: 512, 2: 1024, 3: 2048, 4: 4096 };
/** Default levels: 2k and 4k-token documents. */
export const LONGDOC_DEFAULT_LEVELS: readonly number[] = [3, 4];
/** Days a visit can fall on. */
export const LONGDOC_DAYS = 30;
export const LONGDOC_INSTRUCTION = 'Answer from the document only: state the facts you use, then box the final answer.';

export interface LongdocRecord {
  /** The numbered sentences joined by spaces: "[1] ... [2] ...". */
  document: string;
  sentences: string[];
  /** Sentences that name their subject by a pronoun or an alias, with the statement they make. */
  resolved: { id: number; statement: string }[];
  question: string;
  answer: string;
  /** 0-based indices into `sentences` of every sentence the answer needs, in document order. */
  support: number[];
  /** The atomic statements a complete answer contains (canonical sentences, longdoc-facts.ts). */
  statements: string[];
  kind: LongdocKind;
  /** Length level 1..4 (the smallest whose target is >= doc_tokens_target). */
  difficulty: number;
  doc_tokens_target: number;
  /** The document's length in tokens (measured, or estimated from characters). */
  doc_tokens: number;
  /** SFT form: the user turn is the document and the question, the assistant turn the gold answer. */
  messages: ChatMessage[];
  /**
   * Further questions on the same document (only when `followUps` > 0 was asked): training data reads
   * one document for several answers (longctx-data.ts), at a fraction of the tokens of one document each.
   */
  follow_ups?: LongdocFollowUp[];
}

/** A further question on a record's document, with its gold answer, support and statements. */
export interface LongdocFollowUp {
  kind: LongdocKind;
  question: string;
  answer: string;
  support: number[];
  statements: string[];
}

export interface LongdocOptions {
  /** Target tokens per document (overrides `levels`). */
  docTokens?: number;
  /** Difficulty levels to draw the target from (default LONGDOC_DEFAULT_LEVELS). */
  levels?: readonly number[];
  split?: Split;
  kinds?: readonly LongdocKind[];
  /** Counts tokens (a tokenizer); default: characters / LONGDOC_CHARS_PER_TOKEN. */
  countTokens?: (text: string) => number;
  /** Further questions per record on the same document (`follow_ups`; distinct, in the split; default 0). */
  followUps?: number;
  /** How visits read in the document and the gold answers (longdoc-facts.ts VisitStyle; default 'sentence'). */
  visitStyle?: VisitStyle;
}

/** The user message of a longdoc record. */
export function longdocPrompt(r: Pick<LongdocRecord, 'document' | 'question'>): string {
  return `${r.document}\n\n${r.question} ${LONGDOC_INSTRUCTION}`;
}

/** The gold assistant answer: the statements, then the boxed answer. */
export function longdocGoldAnswer(r: Pick<LongdocRecord, 'statements' | 'answer'>): string {
  return `${r.statements.join(' ')} ${boxed(r.answer)}`;
}

/** The numbered document text of sentences. */
export function numberSentences(sentences: readonly string[]): string {
  return sentences.map((s, i) => `[${i + 1}] ${s}`).join(' ');
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / LONGDOC_CHARS_PER_TOKEN);
}

/** One sentence of a document under construction. */
interface DocSentence {
  text: string;
  fact: LongdocFact;
  style: 'name' | 'pronoun' | 'alias';
  /** Keys of the facts whose sentences resolve the pronoun or alias. */
  anchors: LongdocFact[];
}

interface BuiltDoc {
  /** a fact's sentence in the document's visit style */
  say: (f: LongdocFact) => string;
  sentences: DocSentence[];
  index: Map<string, number>;
  people: Person[];
}

function visit(p: Person, place: string, day: number): LongdocFact {
  return { subject: p.name, relation: 'visited', object: place, day };
}

/** Builds a document of about `target` tokens (never fewer than two people's world facts). */
function buildDocument(rng: WorldRng, world: World, target: number, count: (s: string) => number, visitStyle: VisitStyle): BuiltDoc {
  const say = (f: LongdocFact) => factStatement(f, visitStyle);
  const perPerson = 7 * count('[100] Alice works as a carpenter. ');
  const numPeople = Math.max(2, Math.min(world.people.length, Math.round((0.4 * target) / perPerson)));
  const people = rng.sample(world.people, numPeople);
  const names = new Set(people.map((p) => p.name));
  const blocks: DocSentence[][] = [];
  const named = (fact: LongdocFact, text = say(fact)): DocSentence => ({ text, fact, style: 'name', anchors: [] });
  for (const p of people) {
    for (const f of factsAbout(world, p.name)) {
      if (f.relation === 'taller_than' && !names.has(f.object)) continue;
      blocks.push([named({ subject: f.subject, relation: f.relation, object: f.object }, f.sentence)]);
    }
  }
  for (const pl of world.places) {
    if (people.some((p) => p.home === pl.name)) blocks.push([named({ subject: pl.name, relation: 'landscape', object: pl.landscape.where })]);
  }
  // extra possessions from the colour/object pairs nobody in the world owns (so "the owner of the X" stays unique)
  const taken = new Set(world.people.map((p) => `${p.owns.color} ${p.owns.object.name}`));
  const free = rng.shuffle(COLORS.flatMap((c) => OBJECTS.map((o) => `${c} ${o.name}`)).filter((x) => !taken.has(x)));
  for (const p of people) {
    const extra = rng.chance(0.5) ? (rng.chance(0.4) ? 2 : 1) : 0;
    for (let i = 0; i < extra && free.length > 0; i++) {
      const f: LongdocFact = { subject: p.name, relation: 'owns', object: free.pop()! };
      blocks.push([named(f, `${p.name} also owns ${withArticle(f.object)}.`)]);
    }
  }
  let tokens = blocks.reduce((n, b) => n + b.reduce((m, s) => m + count(`[${blocks.length}] ${s.text} `), 0), 0);
  // visits until the target: one place per person and day
  const free_days = people.map((p) => ({ p, days: rng.shuffle(Array.from({ length: LONGDOC_DAYS }, (_, d) => d + 1)) }));
  const jobHome = new Map<string, number>();
  for (const p of people) jobHome.set(`${p.job.name}|${p.home}`, (jobHome.get(`${p.job.name}|${p.home}`) ?? 0) + 1);
  const places = world.places.map((pl) => pl.name);
  for (;;) {
    const open = free_days.filter((x) => x.days.length > 0);
    if (open.length === 0) break;
    const who = rng.pick(open);
    const f = visit(who.p, rng.pick(places), who.days.pop()!);
    const style = rng.weighted([['name', 0.7], ['pronoun', 0.15], ['alias', 0.15]] as const);
    let block: DocSentence[];
    if (style === 'pronoun' && who.days.length > 0) {
      const first = visit(who.p, rng.pick(places), who.days.pop()!);
      const text = visitStatement(f.day!, pronounOf(who.p.name).toLowerCase(), f.object, visitStyle);
      block = [named(first), { text, fact: f, style: 'pronoun', anchors: [first] }];
    } else if (style === 'alias') {
      const p = who.p;
      if (jobHome.get(`${p.job.name}|${p.home}`) === 1 && rng.chance(0.5)) {
        const text = visitStatement(f.day!, `the ${p.job.name} from ${p.home}`, f.object, visitStyle);
        const anchors: LongdocFact[] = [{ subject: p.name, relation: 'works_as', object: p.job.name }, { subject: p.name, relation: 'lives_in', object: p.home }];
        block = [{ text, fact: f, style: 'alias', anchors }];
      } else {
        const text = visitStatement(f.day!, `${p.friend}'s friend`, f.object, visitStyle);
        block = [{ text, fact: f, style: 'alias', anchors: [{ subject: p.name, relation: 'friend_of', object: p.friend }] }];
      }
    } else block = [named(f)];
    const cost = block.reduce((m, s) => m + count(`[${blocks.length + 1}] ${s.text} `), 0);
    if (tokens + cost > target) break;
    tokens += cost;
    blocks.push(block);
  }
  rng.shuffle(blocks);
  const sentences = blocks.flat();
  const index = new Map<string, number>();
  sentences.forEach((s, i) => index.set(factKey(s.fact), i));
  return { say, sentences, index, people };
}

interface Question {
  question: string;
  answer: string;
  support: number[];
  statements: string[];
}

function supportOf(doc: BuiltDoc, facts: LongdocFact[]): number[] {
  const ids = new Set<number>();
  for (const f of facts) {
    const i = doc.index.get(factKey(f));
    if (i === undefined) throw new Error(`longdoc: no sentence states ${doc.say(f)}`);
    ids.add(i);
    for (const a of doc.sentences[i].anchors) ids.add(doc.index.get(factKey(a))!);
  }
  return [...ids].sort((a, b) => a - b);
}

const visitQuestion = (f: LongdocFact) => `Which town did ${f.subject} visit on day ${f.day}?`;

/** A question of `kind` about the document, or null when the document has nothing to ask it about. */
function askQuestion(rng: WorldRng, world: World, doc: BuiltDoc, kind: LongdocKind): Question | null {
  const sents = doc.sentences;
  const say = doc.say;
  const one = (f: LongdocFact, question: string): Question => ({ question, answer: f.object, support: supportOf(doc, [f]), statements: [say(f)] });
  switch (kind) {
    case 'needle': {
      // visits only: the world's own facts (home, job, ...) could be answered from memory
      const cands = sents.filter((s) => s.style === 'name' && s.fact.relation === 'visited');
      if (cands.length === 0) return null;
      const f = rng.pick(cands).fact;
      return one(f, visitQuestion(f));
    }
    case 'pronoun':
    case 'alias': {
      const cands = sents.filter((s) => s.style === kind);
      if (cands.length === 0) return null;
      const f = rng.pick(cands).fact;
      return one(f, visitQuestion(f));
    }
    case 'multi_hop': {
      const visits = sents.filter((s) => s.style === 'name' && s.fact.relation === 'visited');
      if (visits.length === 0) return null;
      const v = rng.pick(visits).fact;
      const p = world.person(v.subject)!;
      if (rng.chance(0.5)) {
        const friendFact: LongdocFact = { subject: p.name, relation: 'friend_of', object: p.friend };
        const i = doc.index.get(factKey(friendFact));
        if (i === undefined) return null;
        return { question: `Which town did ${p.friend}'s friend visit on day ${v.day}?`, answer: v.object, support: supportOf(doc, [friendFact, v]), statements: [say(sents[i].fact), say(v)] };
      }
      const owned = sents.filter((s) => s.fact.relation === 'owns' && s.fact.subject === p.name);
      if (owned.length === 0) return null;
      const o = rng.pick(owned).fact;
      return { question: `Which town did the owner of the ${o.object} visit on day ${v.day}?`, answer: v.object, support: supportOf(doc, [o, v]), statements: [say(o), say(v)] };
    }
    case 'aggregation': {
      if (rng.chance(0.5)) {
        const owner = rng.pick(doc.people);
        const ownedKinds = sents.filter((s) => s.fact.relation === 'owns' && s.fact.subject === owner.name).map((s) => s.fact.object.split(' ')[1]);
        const object = rng.pick(ownedKinds);
        const place = owner.home;
        const facts: LongdocFact[] = [];
        const statements: string[] = [];
        const counted = doc.people.filter((p) => p.home === place).sort((a, b) => a.name.localeCompare(b.name));
        let n = 0;
        for (const p of counted) {
          const owns = sents.filter((s) => s.fact.relation === 'owns' && s.fact.subject === p.name && s.fact.object.endsWith(` ${object}`)).map((s) => s.fact);
          if (owns.length === 0) continue;
          n++;
          const home: LongdocFact = { subject: p.name, relation: 'lives_in', object: place };
          facts.push(home, ...owns);
          statements.push(say(home), ...owns.map(say));
        }
        statements.push(countOwnersStatement(place, object, n));
        return { question: `How many people in ${place} own ${withArticle(object)}?`, answer: String(n), support: supportOf(doc, facts), statements };
      }
      const byPair = new Map<string, LongdocFact[]>();
      for (const s of sents) {
        if (s.fact.relation !== 'visited') continue;
        const k = `${s.fact.subject}|${s.fact.object}`;
        byPair.set(k, [...(byPair.get(k) ?? []), s.fact]);
      }
      const pairs = [...byPair.values()].filter((v) => v.length >= 2);
      if (pairs.length === 0) return null;
      const vs = rng.pick(pairs).slice().sort((a, b) => a.day! - b.day!);
      const { subject, object } = vs[0];
      return { question: `How many times did ${subject} visit ${object}?`, answer: String(vs.length), support: supportOf(doc, vs), statements: [...vs.map(say), countVisitsStatement(subject, object, vs.length)] };
    }
  }
}

/** Up to `n` further distinct questions (kinds drawn from `kinds`, in the split) on `doc`, other than `first`. */
function askFollowUps(rng: WorldRng, world: World, doc: BuiltDoc, kinds: readonly LongdocKind[], first: Question, n: number, split: Split): LongdocFollowUp[] {
  const seen = new Set([first.question]);
  const out: LongdocFollowUp[] = [];
  for (let tries = 0; out.length < n && tries < 20 * n; tries++) {
    const kind = rng.pick(kinds);
    const q = askQuestion(rng, world, doc, kind);
    if (!q || seen.has(q.question) || !inSplit(`longdoc|${kind}|${q.question}|${q.answer}`, split)) continue;
    seen.add(q.question);
    out.push({ kind, ...q });
  }
  return out;
}

/** The level (1..4) of a target length: the smallest whose target is at least `tokens`. */
export function longdocLevelOf(tokens: number): number {
  for (const l of [1, 2, 3, 4]) if (LONGDOC_LEVEL_TOKENS[l] >= tokens) return l;
  return 4;
}

/** One longdoc record of the split (rejection-sampled by a hash of kind, question and answer). */
export function sampleLongdoc(rng: WorldRng, world: World, opts: LongdocOptions = {}): LongdocRecord {
  const kinds = opts.kinds && opts.kinds.length > 0 ? opts.kinds : LONGDOC_KINDS;
  const levels = opts.levels && opts.levels.length > 0 ? opts.levels : LONGDOC_DEFAULT_LEVELS;
  const count = opts.countTokens ?? estimateTokens;
  for (let tries = 0; tries < 2000; tries++) {
    const target = opts.docTokens ?? LONGDOC_LEVEL_TOKENS[rng.pick(levels)];
    const kind = rng.pick(kinds);
    const doc = buildDocument(rng, world, target, count, opts.visitStyle ?? 'sentence');
    const q = askQuestion(rng, world, doc, kind);
    if (!q || !inSplit(`longdoc|${kind}|${q.question}|${q.answer}`, opts.split ?? 'all')) continue;
    const sentences = doc.sentences.map((s) => s.text);
    const document = numberSentences(sentences);
    const resolved = doc.sentences.flatMap((s, id) => (s.style === 'name' ? [] : [{ id, statement: doc.say(s.fact) }]));
    const base = { document, question: q.question, answer: q.answer, statements: q.statements };
    const followUps = (opts.followUps ?? 0) > 0 ? askFollowUps(rng, world, doc, kinds, q, opts.followUps!, opts.split ?? 'all') : undefined;
    return {
      document,
      sentences,
      resolved,
      question: q.question,
      answer: q.answer,
      support: q.support,
      statements: q.statements,
      kind,
      difficulty: longdocLevelOf(target),
      doc_tokens_target: target,
      doc_tokens: count(document),
      messages: [
        { role: 'user', content: longdocPrompt(base) },
        { role: 'assistant', content: longdocGoldAnswer(base) },
      ],
      ...(followUps ? { follow_ups: followUps } : {}),
    };
  }
  throw new Error(`longdoc: could not draw a ${kinds.join('/')} question in 2000 tries (target ${opts.docTokens ?? levels.join(',')} tokens); use longer documents`);
}
