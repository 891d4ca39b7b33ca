/**
 * The small synthetic world: people, places and objects with relations between them (lives in, works
 * as, owns, likes, age, height, friend of, is taller than), all drawn from a "world seed" (default 0).
 * The task seed of a generator only decides what is sampled from the world, so train and held-out sets
 * drawn with different task seeds talk about the same world. Evaluations query the world through
 * `getWorld(seed)` and `answerWorldQuestion`.
 */
import { WorldRng } from './rng.js';

/** A job with the commonsense facts the multiple-choice questions ask about. */
export interface Job {
  name: string;
  workplace: string;
  tool: string;
  activity: string;
}

export const JOBS: readonly Job[] = [
  { name: 'baker', workplace: 'bakery', tool: 'oven', activity: 'bakes bread' },
  { name: 'doctor', workplace: 'hospital', tool: 'stethoscope', activity: 'treats sick people' },
  { name: 'teacher', workplace: 'school', tool: 'chalk', activity: 'teaches children' },
  { name: 'farmer', workplace: 'farm', tool: 'tractor', activity: 'grows wheat' },
  { name: 'fisher', workplace: 'harbor', tool: 'net', activity: 'catches fish' },
  { name: 'carpenter', workplace: 'workshop', tool: 'saw', activity: 'builds tables' },
  { name: 'librarian', workplace: 'library', tool: 'catalog', activity: 'lends books' },
  { name: 'chef', workplace: 'restaurant', tool: 'knife', activity: 'cooks meals' },
  { name: 'gardener', workplace: 'park', tool: 'shovel', activity: 'plants flowers' },
  { name: 'painter', workplace: 'studio', tool: 'brush', activity: 'paints pictures' },
  { name: 'mechanic', workplace: 'garage', tool: 'wrench', activity: 'fixes cars' },
  { name: 'tailor', workplace: 'shop', tool: 'needle', activity: 'sews clothes' },
];

/** An object kind and what it is used for ("to ..."). */
export interface ObjectKind {
  name: string;
  use: string;
}

export const OBJECTS: readonly ObjectKind[] = [
  { name: 'bicycle', use: 'ride to the market' },
  { name: 'guitar', use: 'play a song' },
  { name: 'kite', use: 'fly it in the wind' },
  { name: 'umbrella', use: 'stay dry in the rain' },
  { name: 'camera', use: 'take a photo' },
  { name: 'teapot', use: 'make some tea' },
  { name: 'lamp', use: 'read at night' },
  { name: 'clock', use: 'know the time' },
];

export const COLORS: readonly string[] = ['red', 'blue', 'green', 'yellow', 'black', 'white'];

export const FOODS: readonly string[] = ['apples', 'bread', 'cheese', 'soup', 'rice', 'pears', 'cake', 'noodles', 'plums', 'carrots'];

/** A kind of landscape with an activity it affords (commonsense questions). */
export interface Landscape {
  where: string;
  activity: string;
}

export const LANDSCAPES: readonly Landscape[] = [
  { where: 'by the sea', activity: 'swim in the sea' },
  { where: 'in the mountains', activity: 'climb a peak' },
  { where: 'by a river', activity: 'row a boat' },
  { where: 'in a forest', activity: 'pick mushrooms' },
  { where: 'in the desert', activity: 'ride a camel' },
  { where: 'on an island', activity: 'take the ferry' },
];

const PLACE_NAMES = [
  'Brightwater', 'Oakridge', 'Stonebrook', 'Millford', 'Ashvale', 'Redcliff', 'Pinehurst', 'Larkspur',
  'Dunmore', 'Fairhaven', 'Glenrock', 'Westmarsh',
];

const PERSON_NAMES = [
  'Alice', 'Bruno', 'Clara', 'Dmitri', 'Elena', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Keiko', 'Liam',
  'Maya', 'Nikolai', 'Olga', 'Pedro', 'Quinn', 'Rosa', 'Sami', 'Tara', 'Umar', 'Vera', 'Wendy', 'Yusuf',
  'Zoe', 'Arjun', 'Bea', 'Cyrus', 'Dana', 'Emil',
];

export interface Place {
  name: string;
  landscape: Landscape;
}

export interface Person {
  name: string;
  home: string;
  job: Job;
  age: number;
  /** Height in cm; distinct across people. */
  height: number;
  owns: { color: string; object: ObjectKind };
  likes: string;
  /** Name of this person's friend (friendship is mutual; every person has exactly one). */
  friend: string;
}

export type Relation = 'lives_in' | 'works_as' | 'owns' | 'likes' | 'age' | 'height' | 'friend_of' | 'taller_than' | 'landscape';

/** One fact of the world and its sentence. */
export interface Fact {
  subject: string;
  relation: Relation;
  object: string;
  sentence: string;
}

export interface World {
  seed: number;
  people: Person[];
  places: Place[];
  facts: Fact[];
  person(name: string): Person | undefined;
  place(name: string): Place | undefined;
  /** The person who owns `color object`, if any. */
  ownerOf(color: string, object: string): Person | undefined;
}

export const DEFAULT_PEOPLE = 16;
export const DEFAULT_PLACES = 6;

/** "a baker" / "an oven". */
export function withArticle(noun: string): string {
  return /^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}

/** Builds the world of `seed` (deterministic). */
export function buildWorld(seed = 0, numPeople = DEFAULT_PEOPLE, numPlaces = DEFAULT_PLACES): World {
  if (numPeople % 2 !== 0 || numPeople < 4 || numPeople > PERSON_NAMES.length) {
    throw new RangeError(`buildWorld: expected an even number of people in 4..${PERSON_NAMES.length}, got ${numPeople}`);
  }
  if (numPeople > COLORS.length * OBJECTS.length) throw new RangeError('buildWorld: too many people for unique objects');
  const rng = new WorldRng(seed, 'world');
  const placeNames = rng.sample(PLACE_NAMES, numPlaces);
  const landscapes = rng.shuffle(LANDSCAPES.slice());
  const places: Place[] = placeNames.map((name, i) => ({ name, landscape: landscapes[i % landscapes.length] }));
  const names = rng.sample(PERSON_NAMES, numPeople);
  const heights = rng.sample(Array.from({ length: 50 }, (_, i) => 150 + i), numPeople);
  const possessions = rng.sample(
    COLORS.flatMap((color) => OBJECTS.map((object) => ({ color, object }))),
    numPeople,
  );
  const order = rng.shuffle(names.slice());
  const friendOf = new Map<string, string>();
  for (let i = 0; i < order.length; i += 2) {
    friendOf.set(order[i], order[i + 1]);
    friendOf.set(order[i + 1], order[i]);
  }
  const people: Person[] = names.map((name, i) => ({
    name,
    home: places[i < places.length ? i : rng.int(0, places.length - 1)].name,
    job: rng.pick(JOBS),
    age: rng.int(18, 80),
    height: heights[i],
    owns: possessions[i],
    likes: rng.pick(FOODS),
    friend: friendOf.get(name)!,
  }));
  const facts: Fact[] = [];
  const add = (subject: string, relation: Relation, object: string, sentence: string) =>
    facts.push({ subject, relation, object, sentence });
  for (const p of people) {
    add(p.name, 'lives_in', p.home, `${p.name} lives in ${p.home}.`);
    add(p.name, 'works_as', p.job.name, `${p.name} works as ${withArticle(p.job.name)}.`);
    add(p.name, 'owns', `${p.owns.color} ${p.owns.object.name}`, `${p.name} owns ${withArticle(`${p.owns.color} ${p.owns.object.name}`)}.`);
    add(p.name, 'likes', p.likes, `${p.name} likes ${p.likes}.`);
    add(p.name, 'age', String(p.age), `${p.name} is ${p.age} years old.`);
    add(p.name, 'height', String(p.height), `${p.name} is ${p.height} cm tall.`);
    add(p.name, 'friend_of', p.friend, `${p.name} is a friend of ${p.friend}.`);
  }
  // "is taller than" between neighbours in height order (the rest follows by transitivity)
  const byHeight = people.slice().sort((a, b) => b.height - a.height);
  for (let i = 0; i + 1 < byHeight.length; i++) {
    add(byHeight[i].name, 'taller_than', byHeight[i + 1].name, `${byHeight[i].name} is taller than ${byHeight[i + 1].name}.`);
  }
  for (const pl of places) add(pl.name, 'landscape', pl.landscape.where, `${pl.name} is ${pl.landscape.where}.`);
  const personMap = new Map(people.map((p) => [p.name, p]));
  const placeMap = new Map(places.map((p) => [p.name, p]));
  return {
    seed,
    people,
    places,
    facts,
    person: (name) => personMap.get(name),
    place: (name) => placeMap.get(name),
    ownerOf: (color, object) => people.find((p) => p.owns.color === color && p.owns.object.name === object),
  };
}

const worldCache = new Map<number, World>();

/** The (cached) default-size world of `seed`. */
export function getWorld(seed = 0): World {
  let w = worldCache.get(seed);
  if (!w) {
    w = buildWorld(seed);
    worldCache.set(seed, w);
  }
  return w;
}

/** The facts about one person (or place), in a fixed order. */
export function factsAbout(world: World, subject: string): Fact[] {
  return world.facts.filter((f) => f.subject === subject);
}
