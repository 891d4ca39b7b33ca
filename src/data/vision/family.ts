/**
 * What every task family of the visual world provides: a scene sampler with a difficulty knob, a
 * renderer, and the question, exact answer, worked reasoning and caption, all computed from the scene
 * (never from the pixels), plus the key that assigns a scene to the train or test split.
 */
import type { WorldRng } from '../world/rng.js';
import type { Canvas, DrawOptions } from './raster.js';

/** The verifier an answer is checked with (src/rewards): numbers, normalised text, or a clock time. */
export type VisionVerifier = 'numeric' | 'exact' | 'clock';

/** The text side of a problem. */
export interface VisionText {
  /** The question, without the box instruction. */
  question: string;
  /** The exact answer. */
  answer: string;
  verifier: VisionVerifier;
  /** A short worked reasoning that ends at the answer. */
  reasoning: string;
  /** A caption describing the whole scene. */
  caption: string;
}

export interface Family<S> {
  /** Highest difficulty level (levels are 1..maxLevel). */
  readonly maxLevel: number;
  /** Draws a scene of difficulty `level` for a square image of `size` pixels. */
  sample(rng: WorldRng, level: number, size: number): S;
  /** Draws the scene into a canvas of the size it was sampled for. */
  render(scene: S, canvas: Canvas, opts: DrawOptions): void;
  /** Question, answer, reasoning and caption of the scene. */
  describe(scene: S): VisionText;
  /** The string hashed to pick the scene's split (see docs/vision-world.md). */
  key(scene: S): string;
}

/**
 * Side in pixels of one image token's square: GLM-4.1V's 14-pixel patches merged 2 x 2. Level-1
 * scenes of the count and digits families put each item in its own cell of this grid, so an item's
 * pixels always fall the same way on the patches (docs/vision-world.md "Level 1 on the token grid").
 */
export const TOKEN_CELL = 28;

/** `n` distinct cells of the `size`-pixel image's TOKEN_CELL grid as [column, row], in random order; null when fewer exist. */
export function pickCells(rng: WorldRng, n: number, size: number): Array<[number, number]> | null {
  const per = Math.floor(size / TOKEN_CELL);
  if (n > per * per) return null;
  const all: Array<[number, number]> = [];
  for (let r = 0; r < per; r++) for (let c = 0; c < per; c++) all.push([c, r]);
  return rng.shuffle(all).slice(0, n);
}

/** Places `n` non-overlapping discs of the given radii inside a square of `size` with `margin`; null when it cannot. */
export function placeDiscs(rng: WorldRng, radii: readonly number[], size: number, opts: { margin?: number; gap?: number; tries?: number } = {}): Array<{ x: number; y: number }> | null {
  const margin = opts.margin ?? 2, gap = opts.gap ?? 3, tries = opts.tries ?? 400;
  const out: Array<{ x: number; y: number; r: number }> = [];
  for (const r of radii) {
    let placed = false;
    for (let t = 0; t < tries && !placed; t++) {
      const lo = Math.ceil(margin + r), hi = Math.floor(size - margin - r);
      if (hi < lo) return null;
      const x = rng.int(lo, hi), y = rng.int(lo, hi);
      if (out.every((o) => Math.hypot(o.x - x, o.y - y) >= o.r + r + gap)) {
        out.push({ x, y, r });
        placed = true;
      }
    }
    if (!placed) return null;
  }
  return out.map(({ x, y }) => ({ x, y }));
}
