/**
 * Spatial relations: shapes of distinct colour-and-shape kinds (so each is named uniquely), and a
 * yes/no question "Is the red circle to the left of the blue square?" (to the left of, to the right of,
 * above, below).
 * Relations compare centres and always hold by a clear margin. Knobs by level: 2 objects at least
 * 30 px apart on the asked axis; 3-4 objects, 16 px; 5-6 smaller objects, 8 px.
 */
import type { Family } from './family.js';
import { placeDiscs } from './family.js';
import { COLOR_NAMES, SHAPES, type ShapeItem, article, drawShape, listJoin, shapeExtent, regionName } from './palette.js';

export const RELATIONS = ['left of', 'right of', 'above', 'below'] as const;
export type Relation = (typeof RELATIONS)[number];
const PHRASE: Record<Relation, string> = { 'left of': 'to the left of', 'right of': 'to the right of', above: 'above', below: 'below' };

export interface SpatialScene {
  size: number;
  items: ShapeItem[];
  a: number;
  b: number;
  relation: Relation;
}

const LEVELS: Record<number, { n: [number, number]; r: [number, number]; gap: number }> = {
  1: { n: [2, 2], r: [10, 13], gap: 30 },
  2: { n: [3, 4], r: [8, 10], gap: 16 },
  3: { n: [5, 6], r: [6, 8], gap: 8 },
};

/** Whether item a stands in `relation` to item b (by centres; y grows downwards). */
export function holds(a: ShapeItem, b: ShapeItem, relation: Relation): boolean {
  switch (relation) {
    case 'left of':
      return a.x < b.x;
    case 'right of':
      return a.x > b.x;
    case 'above':
      return a.y < b.y;
    case 'below':
      return a.y > b.y;
  }
}

function axisGap(a: ShapeItem, b: ShapeItem, relation: Relation): number {
  return relation === 'left of' || relation === 'right of' ? Math.abs(a.x - b.x) : Math.abs(a.y - b.y);
}

function nameOf(it: ShapeItem): string {
  return `${it.color} ${it.shape}`;
}

export const spatialFamily: Family<SpatialScene> = {
  maxLevel: 3,
  sample(rng, level, size) {
    const k = LEVELS[level];
    for (;;) {
      const n = rng.int(...k.n);
      const kinds = rng.sample(COLOR_NAMES.flatMap((color) => SHAPES.map((shape) => ({ color, shape }))), n);
      const radii = kinds.map(() => rng.int(...k.r));
      const pos = placeDiscs(rng, radii.map((r, i) => shapeExtent(kinds[i].shape, r)), size, { gap: 4 });
      if (!pos) continue;
      const items = kinds.map((kd, i) => ({ ...kd, x: pos[i].x, y: pos[i].y, r: radii[i] }));
      const [a, b] = rng.sample([...items.keys()], 2);
      const relation = rng.pick(RELATIONS);
      if (axisGap(items[a], items[b], relation) < k.gap) continue;
      return { size, items, a, b, relation };
    }
  },
  render(scene, canvas, opts) {
    for (const it of scene.items) drawShape(canvas, it, opts);
  },
  describe(scene) {
    const A = scene.items[scene.a], B = scene.items[scene.b];
    const yes = holds(A, B, scene.relation);
    const horizontal = scene.relation === 'left of' || scene.relation === 'right of';
    const where = (it: ShapeItem) => `the ${nameOf(it)} is at the ${regionName(it.x, it.y, scene.size)}`;
    const compare = horizontal
      ? `The ${nameOf(A)} is ${A.x < B.x ? 'further left' : 'further right'} than the ${nameOf(B)}`
      : `The ${nameOf(A)} is ${A.y < B.y ? 'higher' : 'lower'} than the ${nameOf(B)}`;
    return {
      question: `Is the ${nameOf(A)} ${PHRASE[scene.relation]} the ${nameOf(B)}? Answer yes or no.`,
      answer: yes ? 'yes' : 'no',
      verifier: 'exact',
      reasoning: `${where(A).replace(/^t/, 'T')} and ${where(B)}. ${compare}, so it is ${yes ? '' : 'not '}${PHRASE[scene.relation]} it.`,
      caption: `${listJoin(scene.items.map((it) => `${article(nameOf(it))} ${nameOf(it)} at the ${regionName(it.x, it.y, scene.size)}`)).replace(/^a/, 'A')}.`,
    };
  },
  key(scene) {
    return `spatial|${JSON.stringify(scene)}`;
  },
};
