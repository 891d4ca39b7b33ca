/**
 * The statement grammar of the long-document task (src/data/world/longdoc.ts): every fact sentence of
 * a longdoc document, and every atomic statement of a gold answer, is one of the world's sentence
 * templates ("Alice lives in Oakridge.", "On day 9, Alice visited Millford.", "2 people in Oakridge own
 * a lamp."). A visit names its day and person before the place: a left-to-right model that reads the
 * question's keys can then find the place the way it continues any repeated phrase (match what came
 * before, copy what follows); "Alice visited Millford on day 9." puts a key after the answer, and the
 * tiny model learnt it more slowly (docs/long-context.md "Learning to retrieve"). The older order
 * still parses as the same claim. `parseLongdocStatement` turns such a sentence back into a
 * structured claim, so the gold rubric checks an answer's statements against the document's facts,
 * not against its strings.
 */
import { withArticle } from './world.js';

/** A relation a longdoc sentence can state (the world's relations plus the document's visits). */
export type LongdocRelation = 'lives_in' | 'works_as' | 'owns' | 'likes' | 'age' | 'height' | 'friend_of' | 'taller_than' | 'landscape' | 'visited';

/** One atomic fact: `object` is "red lamp" for owns, the place for visited (with `day`). */
export interface LongdocFact {
  subject: string;
  relation: LongdocRelation;
  object: string;
  day?: number;
}

/** A statement parsed from text: a fact, or one of the two counts the aggregation questions ask. */
export type LongdocClaim =
  | { type: 'fact'; fact: LongdocFact }
  | { type: 'count_owners'; place: string; object: string; count: number }
  | { type: 'count_visits'; person: string; place: string; count: number };

/**
 * How a document and its gold answers write a visit: 'sentence' "On day 9, Alice visited Millford."
 * or 'pair' "On day 9, Alice Millford." (a log entry: both keys, day and person, within the three
 * tokens before the place, the layout the tiny model learns to look up; docs/long-context.md).
 */
export const VISIT_STYLES = ['sentence', 'pair'] as const;
export type VisitStyle = (typeof VISIT_STYLES)[number];

/** The canonical sentence of a fact ("Alice owns a red lamp."); visits in `visitStyle`. */
export function factStatement(f: LongdocFact, visitStyle: VisitStyle = 'sentence'): string {
  switch (f.relation) {
    case 'lives_in': return `${f.subject} lives in ${f.object}.`;
    case 'works_as': return `${f.subject} works as ${withArticle(f.object)}.`;
    case 'owns': return `${f.subject} owns ${withArticle(f.object)}.`;
    case 'likes': return `${f.subject} likes ${f.object}.`;
    case 'age': return `${f.subject} is ${f.object} years old.`;
    case 'height': return `${f.subject} is ${f.object} cm tall.`;
    case 'friend_of': return `${f.subject} is a friend of ${f.object}.`;
    case 'taller_than': return `${f.subject} is taller than ${f.object}.`;
    case 'landscape': return `${f.subject} is ${f.object}.`;
    case 'visited': return visitStatement(f.day!, f.subject, f.object, visitStyle);
  }
}

/** A visit of `who` (a name, a pronoun or an alias) in `style`. */
export function visitStatement(day: number, who: string, place: string, style: VisitStyle): string {
  return style === 'pair' ? `On day ${day}, ${who} ${place}.` : `On day ${day}, ${who} visited ${place}.`;
}

/** "2 people in Oakridge own a lamp." / "1 person in Oakridge owns a lamp." */
export function countOwnersStatement(place: string, object: string, count: number): string {
  return count === 1 ? `1 person in ${place} owns ${withArticle(object)}.` : `${count} people in ${place} own ${withArticle(object)}.`;
}

/** "Alice visited Millford 3 times." */
export function countVisitsStatement(person: string, place: string, count: number): string {
  return `${person} visited ${place} ${count} ${count === 1 ? 'time' : 'times'}.`;
}

/** A key equal for two claims that state the same thing (friendship is mutual). */
export function claimKey(c: LongdocClaim): string {
  if (c.type === 'count_owners') return `count_owners|${c.place}|${c.object}|${c.count}`;
  if (c.type === 'count_visits') return `count_visits|${c.person}|${c.place}|${c.count}`;
  return factKey(c.fact);
}

/** The key of one fact (`claimKey` of the fact claim). */
export function factKey(f: LongdocFact): string {
  if (f.relation === 'friend_of') {
    const [a, b] = [f.subject, f.object].sort();
    return `friend_of|${a}|${b}`;
  }
  return `${f.relation}|${f.subject}|${f.object}${f.day !== undefined ? `|${f.day}` : ''}`;
}

const NAME = '([A-Z][a-z]+)';
const ART = '(?:a|an)';
const PATTERNS: [RegExp, (m: RegExpExecArray) => LongdocClaim][] = [
  [new RegExp(`^${NAME} lives in ${NAME}$`), (m) => fact(m[1], 'lives_in', m[2])],
  [new RegExp(`^${NAME} works as ${ART} ([a-z]+)$`), (m) => fact(m[1], 'works_as', m[2])],
  [new RegExp(`^${NAME} (?:also )?owns ${ART} ([a-z]+ [a-z]+)$`), (m) => fact(m[1], 'owns', m[2])],
  [new RegExp(`^${NAME} likes ([a-z]+)$`), (m) => fact(m[1], 'likes', m[2])],
  [new RegExp(`^${NAME} is (\\d+) years old$`), (m) => fact(m[1], 'age', m[2])],
  [new RegExp(`^${NAME} is (\\d+) cm tall$`), (m) => fact(m[1], 'height', m[2])],
  [new RegExp(`^${NAME} is a friend of ${NAME}$`), (m) => fact(m[1], 'friend_of', m[2])],
  [new RegExp(`^${NAME} is taller than ${NAME}$`), (m) => fact(m[1], 'taller_than', m[2])],
  [new RegExp(`^${NAME} is ((?:by|in|on) (?:the |a |an )?[a-z]+)$`), (m) => fact(m[1], 'landscape', m[2])],
  // both visit styles (VisitStyle), and the older order with the day last
  [new RegExp(`^On day (\\d+), ${NAME} (?:visited )?${NAME}$`), (m) => visitClaim(m[2], m[3], m[1])],
  [new RegExp(`^${NAME} visited ${NAME} on day (\\d+)$`), (m) => visitClaim(m[1], m[2], m[3])],
  [new RegExp(`^(\\d+|[Nn]o) (?:people|person) in ${NAME} owns? ${ART} ([a-z]+)$`), (m) => ({ type: 'count_owners', place: m[2], object: m[3], count: /^no$/i.test(m[1]) ? 0 : Number(m[1]) })],
  [new RegExp(`^${NAME} visited ${NAME} (\\d+) times?$`), (m) => ({ type: 'count_visits', person: m[1], place: m[2], count: Number(m[3]) })],
  [new RegExp(`^${NAME} visited ${NAME} once$`), (m) => ({ type: 'count_visits', person: m[1], place: m[2], count: 1 })],
];

function fact(subject: string, relation: LongdocRelation, object: string): LongdocClaim {
  return { type: 'fact', fact: { subject, relation, object } };
}

function visitClaim(subject: string, place: string, day: string): LongdocClaim {
  return { type: 'fact', fact: { subject, relation: 'visited', object: place, day: Number(day) } };
}

/** The claim a sentence states under the longdoc grammar, or null when it states none of them. */
export function parseLongdocStatement(sentence: string): LongdocClaim | null {
  const s = sentence.trim().replace(/\s+/g, ' ').replace(/[.!]$/, '');
  for (const [re, build] of PATTERNS) {
    const m = re.exec(s);
    if (m) return build(m);
  }
  return null;
}

/** The structured facts of a document, with the two counts computed from them. */
export class LongdocFacts {
  private readonly keys = new Set<string>();
  private readonly facts: LongdocFact[] = [];

  constructor(facts: Iterable<LongdocFact>) {
    for (const f of facts) {
      const k = factKey(f);
      if (!this.keys.has(k)) {
        this.keys.add(k);
        this.facts.push(f);
      }
    }
  }

  get size(): number {
    return this.facts.length;
  }

  /** People the document says live in `place` and own any `object` (an object kind, e.g. "lamp"). */
  owners(place: string, object: string): string[] {
    const residents = new Set(this.facts.filter((f) => f.relation === 'lives_in' && f.object === place).map((f) => f.subject));
    const out = new Set(this.facts.filter((f) => f.relation === 'owns' && residents.has(f.subject) && f.object.split(' ')[1] === object).map((f) => f.subject));
    return [...out].sort();
  }

  /** Visits of `person` to `place` the document states. */
  visits(person: string, place: string): LongdocFact[] {
    return this.facts.filter((f) => f.relation === 'visited' && f.subject === person && f.object === place);
  }

  /** Whether the document supports the claim (a fact it states, or a count its facts give). */
  supports(c: LongdocClaim): boolean {
    if (c.type === 'fact') return this.keys.has(factKey(c.fact));
    if (c.type === 'count_owners') return this.owners(c.place, c.object).length === c.count;
    return this.visits(c.person, c.place).length === c.count;
  }
}
