/**
 * The world's lexicon for sentence embeddings: events "S <verb> O at <place>" between two of the
 * world's people, each concept with a synonym set and each event with several paraphrase templates
 * (active, passive, place fronted). From it come
 *   - `pairs`: {anchor, positive, negative} for contrastive training: the positive says the same
 *     event in other words (another template, other synonyms); the negative is a hard one — the same
 *     words with the roles swapped ("Ann helped Bo" vs "Bo helped Ann"), the roles swapped in the
 *     other voice ("Ann was helped by Bo"), or one concept changed;
 *   - `sts`: {sentence1, sentence2, score} with graded gold similarity 0..5 = 5 x the share of the
 *     four meaning slots (subject, verb, object, place) the two events have in common.
 * Events are split train/test by a hash of the event, so `sts --split test` pairs start from events
 * that no training pair contains.
 */
import { inSplit, type Split, type WorldRng } from './rng.js';
import type { World } from './world.js';

export interface VerbConcept {
  /** the concept's name (its first past form) */
  id: string;
  /** synonyms: [past tense, past participle] */
  forms: readonly (readonly [string, string])[];
}

export const VERBS: readonly VerbConcept[] = [
  { id: 'helped', forms: [['helped', 'helped'], ['assisted', 'assisted'], ['aided', 'aided']] },
  { id: 'greeted', forms: [['greeted', 'greeted'], ['welcomed', 'welcomed'], ['hailed', 'hailed']] },
  { id: 'called', forms: [['called', 'called'], ['phoned', 'phoned'], ['rang', 'rung']] },
  { id: 'praised', forms: [['praised', 'praised'], ['commended', 'commended'], ['lauded', 'lauded']] },
  { id: 'taught', forms: [['taught', 'taught'], ['instructed', 'instructed'], ['tutored', 'tutored']] },
  { id: 'followed', forms: [['followed', 'followed'], ['trailed', 'trailed'], ['tailed', 'tailed']] },
  { id: 'hired', forms: [['hired', 'hired'], ['employed', 'employed'], ['engaged', 'engaged']] },
  { id: 'visited', forms: [['visited', 'visited'], ['called on', 'called on'], ['dropped in on', 'dropped in on']] },
  { id: 'thanked', forms: [['thanked', 'thanked'], ['showed gratitude to', 'shown gratitude by']] },
  { id: 'warned', forms: [['warned', 'warned'], ['alerted', 'alerted'], ['cautioned', 'cautioned']] },
];

export interface PlaceConcept {
  id: string;
  /** synonyms, each with its preposition */
  forms: readonly string[];
}

export const PLACES: readonly PlaceConcept[] = [
  { id: 'market', forms: ['at the market', 'at the marketplace', 'at the bazaar'] },
  { id: 'park', forms: ['in the park', 'in the public garden', 'on the green'] },
  { id: 'school', forms: ['at the school', 'at the schoolhouse', 'at the academy'] },
  { id: 'harbor', forms: ['at the harbor', 'at the port', 'by the docks'] },
  { id: 'library', forms: ['in the library', 'in the reading room', 'among the bookshelves'] },
  { id: 'station', forms: ['at the station', 'at the depot', 'at the terminal'] },
  { id: 'kitchen', forms: ['in the kitchen', 'by the stove', 'in the cookhouse'] },
  { id: 'hill', forms: ['on the hill', 'on the hilltop', 'up the slope'] },
];

/** One event: who did what to whom, where. */
export interface LexEvent {
  subject: string;
  verb: number;
  object: string;
  place: number;
}

export const TEMPLATES = ['active', 'passive', 'fronted', 'fronted-passive'] as const;
export type Template = (typeof TEMPLATES)[number];

function cap(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

const OTHER_VOICE: Readonly<Record<Template, Template>> = { active: 'passive', passive: 'active', fronted: 'fronted-passive', 'fronted-passive': 'fronted' };

/** The event in words, with a template and the synonym indices given. */
export function realise(e: LexEvent, template: Template, verbForm: number, placeForm: number): string {
  const [past, pp] = VERBS[e.verb].forms[verbForm % VERBS[e.verb].forms.length];
  const where = PLACES[e.place].forms[placeForm % PLACES[e.place].forms.length];
  switch (template) {
    case 'active':
      return `${e.subject} ${past} ${e.object} ${where}.`;
    case 'passive':
      return `${e.object} was ${pp} by ${e.subject} ${where}.`;
    case 'fronted':
      return `${cap(where)}, ${e.subject} ${past} ${e.object}.`;
    case 'fronted-passive':
      return `${cap(where)}, ${e.object} was ${pp} by ${e.subject}.`;
  }
}

/** A random wording of the event. */
export function randomWording(rng: WorldRng, e: LexEvent): string {
  return realise(e, rng.pick(TEMPLATES), rng.int(0, VERBS[e.verb].forms.length - 1), rng.int(0, PLACES[e.place].forms.length - 1));
}

export function eventKey(e: LexEvent): string {
  return `lex:${e.subject}|${VERBS[e.verb].id}|${e.object}|${PLACES[e.place].id}`;
}

/** Gold similarity 0..5: 5 x the share of slots (subject, verb, object, place) two events share. */
export function eventSimilarity(a: LexEvent, b: LexEvent): number {
  const same = Number(a.subject === b.subject) + Number(a.verb === b.verb) + Number(a.object === b.object) + Number(a.place === b.place);
  return (5 * same) / 4;
}

function randomEvent(rng: WorldRng, world: World): LexEvent {
  const [s, o] = rng.sample(world.people.map((p) => p.name), 2);
  return { subject: s, verb: rng.int(0, VERBS.length - 1), object: o, place: rng.int(0, PLACES.length - 1) };
}

/** A random event of the split. */
export function eventInSplit(rng: WorldRng, world: World, split: Split): LexEvent {
  for (;;) {
    const e = randomEvent(rng, world);
    if (inSplit(eventKey(e), split)) return e;
  }
}

/** `e` with `k` of its four slots changed (subject and object never equal). */
export function perturb(rng: WorldRng, world: World, e: LexEvent, k: number): LexEvent {
  const slots = rng.sample(['subject', 'verb', 'object', 'place'] as const, k);
  const out = { ...e };
  const names = world.people.map((p) => p.name);
  for (const s of slots) {
    if (s === 'verb') out.verb = (e.verb + rng.int(1, VERBS.length - 1)) % VERBS.length;
    else if (s === 'place') out.place = (e.place + rng.int(1, PLACES.length - 1)) % PLACES.length;
  }
  for (const s of slots) {
    if (s !== 'subject' && s !== 'object') continue;
    const taken = new Set([e[s], s === 'subject' ? out.object : out.subject]);
    out[s] = rng.pick(names.filter((n) => !taken.has(n)));
  }
  return out;
}

export interface PairRecord {
  anchor: string;
  positive: string;
  negative: string;
  /** what makes the negative differ: 'swap' (same words, roles swapped) or the slot changed */
  negative_kind: string;
}

export interface StsRecord {
  sentence1: string;
  sentence2: string;
  /** gold similarity 0..5 */
  score: number;
}

/** Contrastive triples: a paraphrase as positive, a hard negative (role swap half the time). */
export function generatePairs(rng: WorldRng, world: World, n: number, split: Split): PairRecord[] {
  return Array.from({ length: n }, () => {
    const e = eventInSplit(rng, world, split);
    const t1 = rng.pick(TEMPLATES);
    const v1 = rng.int(0, VERBS[e.verb].forms.length - 1), p1 = rng.int(0, PLACES[e.place].forms.length - 1);
    const anchor = realise(e, t1, v1, p1);
    let positive = anchor;
    while (positive === anchor) positive = randomWording(rng, e);
    let neg: LexEvent, kind: string;
    const r = rng.next();
    if (r < 0.5) {
      neg = { ...e, subject: e.object, object: e.subject };
      kind = r < 0.35 ? 'swap' : 'swap-reworded';
    } else {
      kind = rng.pick(['verb', 'place', 'subject', 'object']);
      neg = { ...e };
      if (kind === 'verb') neg.verb = (e.verb + rng.int(1, VERBS.length - 1)) % VERBS.length;
      else if (kind === 'place') neg.place = (e.place + rng.int(1, PLACES.length - 1)) % PLACES.length;
      else neg = { ...e, [kind]: rng.pick(world.people.map((p) => p.name).filter((x) => x !== e.subject && x !== e.object)) };
    }
    // the hard negative keeps the anchor's wording (same template and synonyms, different meaning),
    // except 'swap-reworded': the roles swapped and the voice changed (active <-> passive), so the
    // encoder must read who did what rather than word order
    const t2 = kind === 'swap-reworded' ? OTHER_VOICE[t1] : t1;
    return { anchor, positive, negative: realise(neg, t2, v1, p1), negative_kind: kind };
  });
}

/** STS-style pairs: the second event shares 0..4 slots with the first (or is the first with roles swapped). */
export function generateSts(rng: WorldRng, world: World, n: number, split: Split): StsRecord[] {
  return Array.from({ length: n }, () => {
    const a = eventInSplit(rng, world, split);
    const k = rng.int(-1, 4);
    const b = k < 0 ? { ...a, subject: a.object, object: a.subject } : perturb(rng, world, a, k);
    return { sentence1: randomWording(rng, a), sentence2: randomWording(rng, b), score: eventSimilarity(a, b) };
  });
}

/**
 * Paraphrases of every answer the world's multiple-choice questions offer (workplaces, tools, object
 * uses, landscape activities): the synonym-swap attack rewrites a question's choices with them, the
 * meaning unchanged and the surface form unlike anything the generator saw.
 */
export const CHOICE_SYNONYMS: Readonly<Record<string, string>> = {
  bakery: 'bakehouse', hospital: 'clinic', school: 'schoolhouse', farm: 'ranch', harbor: 'port', workshop: 'woodshop',
  library: 'reading room', restaurant: 'eatery', park: 'public garden', studio: 'atelier', garage: 'auto shop', shop: 'boutique',
  oven: 'stove', stethoscope: 'listening tube', chalk: 'blackboard crayon', tractor: 'farm vehicle', net: 'mesh trap', saw: 'cutting blade',
  catalog: 'book index', knife: 'blade', shovel: 'spade', brush: 'paintbrush', wrench: 'spanner', needle: 'sewing pin',
  'ride to the market': 'cycle to the bazaar', 'play a song': 'perform a tune', 'fly it in the wind': 'let it soar on the breeze',
  'stay dry in the rain': 'keep dry when it pours', 'take a photo': 'snap a picture', 'make some tea': 'brew a cup',
  'read at night': 'see the page after dark', 'know the time': 'tell the hour',
  'swim in the sea': 'bathe in the ocean', 'climb a peak': 'scale a summit', 'row a boat': 'paddle a canoe',
  'pick mushrooms': 'gather fungi', 'ride a camel': 'travel on a dromedary', 'take the ferry': 'board the boat',
};

/** A choice rewritten with its paraphrase (unchanged when the table has none). */
export function synonymOf(choice: string): string {
  return CHOICE_SYNONYMS[choice] ?? choice;
}
