/**
 * Counting: how many shapes of a colour (level 1) or of a colour and a shape (levels 2-3) are in the
 * image. Shapes never overlap. Knobs by level: more targets and distractors, smaller shapes, and from
 * level 2 distractors that share the target's colour or its shape. Level 1 sits on the token grid:
 * each shape centred in its own 28-pixel cell.
 */
import type { WorldRng } from '../world/rng.js';
import { type Family, TOKEN_CELL, pickCells, placeDiscs } from './family.js';
import { BACKGROUND_NAME, COLOR_NAMES, type ColorName, SHAPES, type ShapeItem, type ShapeName, countWord, drawShape, listJoin, shapeExtent, plural } from './palette.js';

export interface CountScene {
  size: number;
  items: ShapeItem[];
  target: { color: ColorName; shape: ShapeName | null };
}

/** `grid`: one shape centred in each of distinct token cells (sizes up to 10 stay inside a 28-px cell). */
const LEVELS: Record<number, { targets: [number, number]; others: [number, number]; r: [number, number]; byShape: boolean; grid: boolean }> = {
  1: { targets: [1, 4], others: [0, 3], r: [8, 10], byShape: false, grid: true },
  2: { targets: [0, 6], others: [2, 5], r: [7, 9], byShape: true, grid: false },
  3: { targets: [0, 9], others: [3, 7], r: [5, 7], byShape: true, grid: false },
};

/** Whether an item is what the question counts. */
export function isCountTarget(scene: CountScene, it: ShapeItem): boolean {
  return it.color === scene.target.color && (scene.target.shape === null || it.shape === scene.target.shape);
}

function targetName(t: CountScene['target'], n: number): string {
  return t.shape === null ? `${t.color} ${n === 1 ? 'shape' : 'shapes'}` : `${t.color} ${plural(t.shape, n)}`;
}

export const countFamily: Family<CountScene> = {
  maxLevel: 3,
  sample(rng: WorldRng, level: number, size: number): CountScene {
    const k = LEVELS[level];
    for (;;) {
      const color = rng.pick(COLOR_NAMES);
      const shape = k.byShape ? rng.pick(SHAPES) : null;
      const nt = rng.int(...k.targets), no = rng.int(...k.others);
      if (nt + no === 0) continue;
      const kinds: Array<Pick<ShapeItem, 'shape' | 'color'>> = [];
      for (let i = 0; i < nt; i++) kinds.push({ shape: shape ?? rng.pick(SHAPES), color });
      for (let i = 0; i < no; i++) {
        // a distractor differs from the target in colour, or (when counting a shape) in shape only
        if (shape !== null && rng.chance(0.4)) kinds.push({ shape: rng.pick(SHAPES.filter((s) => s !== shape)), color });
        else kinds.push({ shape: rng.pick(SHAPES), color: rng.pick(COLOR_NAMES.filter((c) => c !== color)) });
      }
      const radii = kinds.map(() => rng.int(...k.r));
      const cells = k.grid ? pickCells(rng, kinds.length, size) : null;
      const pos = cells ? cells.map(([c, r]) => ({ x: c * TOKEN_CELL + TOKEN_CELL / 2, y: r * TOKEN_CELL + TOKEN_CELL / 2 })) : placeDiscs(rng, radii.map((r, i) => shapeExtent(kinds[i].shape, r)), size, { gap: 4 });
      if (!pos) continue;
      const items = kinds.map((kd, i) => ({ ...kd, x: pos[i].x, y: pos[i].y, r: radii[i] }));
      return { size, items: rng.shuffle(items), target: { color, shape } };
    }
  },
  render(scene, canvas, opts) {
    for (const it of scene.items) drawShape(canvas, it, opts);
  },
  describe(scene) {
    const n = scene.items.filter((it) => isCountTarget(scene, it)).length;
    const groups = new Map<string, number>();
    for (const it of scene.items) {
      const name = `${it.color} ${it.shape}`;
      groups.set(name, (groups.get(name) ?? 0) + 1);
    }
    const parts = [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, c]) => {
      const [color, shape] = name.split(' ');
      return `${countWord(c)} ${color} ${plural(shape as ShapeName, c)}`;
    });
    const tname = targetName(scene.target, 2);
    const matching = [...groups.entries()].filter(([name]) => {
      const [color, shape] = name.split(' ');
      return color === scene.target.color && (scene.target.shape === null || shape === scene.target.shape);
    });
    const tally = matching.length > 1 ? `${matching.map(([, c]) => c).join(' + ')} = ${n}` : n === 0 ? 'there are none' : `there ${n === 1 ? 'is' : 'are'} ${countWord(n)}`;
    return {
      question: `How many ${tname} are there in the image?`,
      answer: String(n),
      verifier: 'numeric',
      reasoning: `The image shows ${listJoin(parts)}. I count the ${tname}: ${tally}.`,
      caption: `${listJoin(parts).replace(/^./, (c) => c.toUpperCase())} on a ${BACKGROUND_NAME} background.`,
    };
  },
  key(scene) {
    return `count|${JSON.stringify(scene)}`;
  },
};
