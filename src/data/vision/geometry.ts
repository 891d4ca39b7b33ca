/**
 * Geometry: two figures labelled A (left half) and B (right half), and the question which is larger:
 * - angle: two rays from a vertex, opening 20..160 degrees, turned by a random rotation;
 * - length: a line segment at a random slope.
 * The answer is the letter. Knobs by level: the difference between the figures (angles >= 45,
 * 20-45, 8-20 degrees; lengths >= 40%, 20-40%, 8-20% of the longer line), and from level 2 random
 * rotations / slopes instead of a fixed base.
 */
import type { WorldRng } from '../world/rng.js';
import type { Family } from './family.js';
import { drawTextCentered } from './font.js';
import { COLORS, INK } from './palette.js';
import type { Point } from './raster.js';

export interface GeometryScene {
  size: number;
  kind: 'angle' | 'length';
  /** degrees (angle) or pixels (length), per figure A and B */
  values: [number, number];
  /** rotation of each figure in degrees */
  rotations: [number, number];
  /** angle: ray length; length: unused */
  arm: number;
}

/** Allowed difference between the two figures per level: [min, max) (degrees; share of the longer line). */
const ANGLE_GAP: Record<number, [number, number]> = { 1: [45, 181], 2: [20, 45], 3: [8, 20] };
const LENGTH_GAP: Record<number, [number, number]> = { 1: [0.4, 1], 2: [0.2, 0.4], 3: [0.08, 0.2] };

function dir(deg: number): Point {
  const a = (deg * Math.PI) / 180;
  return { x: Math.cos(a), y: -Math.sin(a) };
}

/** Centre of figure i (0 = A, 1 = B). */
function centre(size: number, i: number): Point {
  return { x: size * (i === 0 ? 0.27 : 0.73), y: size * 0.5 };
}

function samplePair(rng: WorldRng, lo: number, hi: number, gap: (a: number, b: number) => boolean): [number, number] {
  for (;;) {
    const a = rng.int(lo, hi), b = rng.int(lo, hi);
    if (gap(a, b)) return [a, b];
  }
}

export const geometryFamily: Family<GeometryScene> = {
  maxLevel: 3,
  sample(rng, level, size) {
    const kind = rng.pick(['angle', 'length'] as const);
    const rot = (): number => (level === 1 ? 0 : rng.int(0, 359));
    if (kind === 'angle') {
      const [lo, hi] = ANGLE_GAP[level];
      const values = samplePair(rng, 20, 160, (a, b) => Math.abs(a - b) >= lo && Math.abs(a - b) < hi);
      return { size, kind, values, rotations: [rot(), rot()], arm: Math.round(size * 0.18) };
    }
    const maxLen = Math.floor(size * 0.42), minLen = Math.floor(size * 0.12);
    const [lo, hi] = LENGTH_GAP[level];
    const values = samplePair(rng, minLen, maxLen, (a, b) => Math.abs(a - b) >= lo * Math.max(a, b) && Math.abs(a - b) < hi * Math.max(a, b));
    return { size, kind, values, rotations: [level === 1 ? 0 : rng.int(0, 179), level === 1 ? 0 : rng.int(0, 179)], arm: 0 };
  },
  render(scene, canvas, opts) {
    for (let i = 0; i < 2; i++) {
      const c = centre(scene.size, i);
      const color = i === 0 ? COLORS.blue : COLORS.red;
      if (scene.kind === 'angle') {
        // the vertex sits so that the figure's bisector passes through the centre
        const bis = dir(scene.rotations[i] + scene.values[i] / 2);
        const v = { x: c.x - bis.x * scene.arm * 0.5, y: c.y - bis.y * scene.arm * 0.5 };
        for (const d of [dir(scene.rotations[i]), dir(scene.rotations[i] + scene.values[i])]) canvas.line(v, { x: v.x + d.x * scene.arm, y: v.y + d.y * scene.arm }, 2, color, opts);
        canvas.circle(v.x, v.y, 1.5, color, opts);
      } else {
        const d = dir(scene.rotations[i]);
        const h = scene.values[i] / 2;
        canvas.line({ x: c.x - d.x * h, y: c.y - d.y * h }, { x: c.x + d.x * h, y: c.y + d.y * h }, 2, color, opts);
      }
      drawTextCentered(canvas, i === 0 ? 'A' : 'B', c.x, scene.size - 8, 1, INK);
    }
  },
  describe(scene) {
    const [a, b] = scene.values;
    const big = a > b ? 'A' : 'B';
    const unit = scene.kind === 'angle' ? ' degrees' : ' pixels';
    const noun = scene.kind === 'angle' ? 'angle' : 'line';
    const question = scene.kind === 'angle' ? 'Which angle is larger, A or B?' : 'Which line is longer, A or B?';
    return {
      question,
      answer: big,
      verifier: 'exact',
      reasoning: `${noun === 'angle' ? 'Angle' : 'Line'} A (blue) measures about ${a}${unit} and ${noun} B (red) about ${b}${unit}. ${Math.max(a, b)} is more than ${Math.min(a, b)}, so ${big} is ${scene.kind === 'angle' ? 'larger' : 'longer'}.`,
      caption: `Two ${noun}s: A in blue measures ${a}${unit}, B in red measures ${b}${unit}.`,
    };
  },
  key(scene) {
    return `geometry|${JSON.stringify(scene)}`;
  },
};
