/**
 * Named colours and shapes of the visual world, and drawing of one shape item. Colours are far apart
 * in RGB so that a colour name is never ambiguous to the eye (or to a pixel count).
 */
import type { Canvas, DrawOptions, Rgb } from './raster.js';

export const COLORS = {
  red: [220, 40, 40],
  green: [30, 150, 60],
  blue: [40, 80, 220],
  yellow: [235, 200, 20],
  purple: [140, 50, 180],
  orange: [245, 130, 20],
} as const satisfies Record<string, Rgb>;

export type ColorName = keyof typeof COLORS;
export const COLOR_NAMES = Object.keys(COLORS) as ColorName[];

/** Ink of text, axes, hands and outlines. */
export const INK: Rgb = [20, 20, 20];
export const WHITE: Rgb = [255, 255, 255];
/**
 * Background of every world image: mid grey, near the CLIP normalisation mean, so an empty patch
 * normalises to small inputs and the drawn items carry the signal. On white (which normalises to
 * ~1.9 in every input) the tiny tower learnt one image-independent vector (docs/vision.md).
 */
export const BACKGROUND: Rgb = [128, 128, 128];
/** The background's colour word in captions. */
export const BACKGROUND_NAME = 'grey';
/** Light grey of grid lines. */
export const GRID: Rgb = [200, 200, 200];

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export type ShapeName = (typeof SHAPES)[number];

/** One shape: centre (x, y), size r (the radius of a circle, half the side of a square, the circumradius of a triangle). */
export interface ShapeItem {
  shape: ShapeName;
  color: ColorName;
  x: number;
  y: number;
  r: number;
}

/** Radius of the smallest disc around a shape of size r centred on its (x, y) (a square's corners reach r * sqrt 2). */
export function shapeExtent(shape: ShapeName, r: number): number {
  return shape === 'square' ? Math.ceil(r * Math.SQRT2) : r;
}

/** The plural of a shape name ("circles"). */
export function plural(shape: ShapeName, n: number): string {
  return n === 1 ? shape : `${shape}s`;
}

/** Draws one shape item. */
export function drawShape(canvas: Canvas, it: ShapeItem, opts: DrawOptions = {}): void {
  const c = COLORS[it.color];
  switch (it.shape) {
    case 'circle':
      canvas.circle(it.x, it.y, it.r, c, opts);
      break;
    case 'square':
      canvas.rect(it.x - it.r, it.y - it.r, 2 * it.r, 2 * it.r, c, opts);
      break;
    case 'triangle': {
      // upright equilateral triangle with circumradius r
      const h = it.r * Math.sqrt(3) / 2;
      canvas.triangle({ x: it.x, y: it.y - it.r }, { x: it.x - h, y: it.y + it.r / 2 }, { x: it.x + h, y: it.y + it.r / 2 }, c, opts);
      break;
    }
  }
}

/** A word for a position within the image: "top left", "centre", "bottom right", ... */
export function regionName(x: number, y: number, size: number): string {
  const col = x < size / 3 ? 'left' : x < (2 * size) / 3 ? '' : 'right';
  const row = y < size / 3 ? 'top' : y < (2 * size) / 3 ? '' : 'bottom';
  const name = [row, col].filter((s) => s.length > 0).join(' ');
  return name.length > 0 ? name : 'centre';
}

/** English number words for small counts (used in captions and reasoning). */
export function countWord(n: number): string {
  const words = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
  return n < words.length ? words[n] : String(n);
}

/** "a" or "an" before a word. */
export function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

/** "a, b and c". */
export function listJoin(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
