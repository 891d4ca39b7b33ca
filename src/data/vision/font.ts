/**
 * A 5x7 bitmap font (digits, capital letters and a little punctuation) drawn into a Canvas, each font
 * pixel as a `scale` x `scale` block. Glyphs are 5 columns wide, 7 rows high, one column of spacing.
 */
import type { Canvas, Rgb } from './raster.js';

export const GLYPH_W = 5;
export const GLYPH_H = 7;

// One string per row, '#' = ink. Drawn for this repository.
const GLYPHS: Record<string, readonly string[]> = {
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['####.', '....#', '....#', '.###.', '....#', '....#', '####.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['###..', '#..#.', '#...#', '#...#', '#...#', '#..#.', '###..'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  ':': ['.....', '..#..', '..#..', '.....', '..#..', '..#..', '.....'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  '-': ['.....', '.....', '.....', '.###.', '.....', '.....', '.....'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
};

/** The characters the font can draw. */
export const FONT_CHARS: readonly string[] = Object.keys(GLYPHS);

/** The 7 rows of a character's glyph; a RangeError for characters the font lacks. */
export function glyph(ch: string): readonly string[] {
  const g = GLYPHS[ch.toUpperCase()];
  if (!g) throw new RangeError(`font: no glyph for ${JSON.stringify(ch)}; the font has ${FONT_CHARS.join('')}`);
  return g;
}

/** Width in pixels of `text` at `scale` (glyphs plus one empty column between them). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_W + 1) - 1) * scale;
}

/** Height in pixels of a line of text at `scale`. */
export function textHeight(scale: number): number {
  return GLYPH_H * scale;
}

/** Number of ink pixels `text` covers at `scale` (what drawText paints when nothing is clipped). */
export function inkPixels(text: string, scale: number): number {
  let n = 0;
  for (const ch of text) for (const row of glyph(ch)) for (const c of row) if (c === '#') n++;
  return n * scale * scale;
}

/**
 * Draws `text` with its top-left corner at (x, y); returns the width drawn. `advance`: pixels from
 * one glyph's left edge to the next (default the font's: glyph and one empty column, scaled).
 */
export function drawText(canvas: Canvas, text: string, x: number, y: number, scale: number, color: Rgb, advance = (GLYPH_W + 1) * scale): number {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`font: expected a positive integer scale, got ${scale}`);
  let cx = Math.round(x);
  const top = Math.round(y);
  for (const ch of text) {
    const g = glyph(ch);
    for (let r = 0; r < GLYPH_H; r++) {
      for (let c = 0; c < GLYPH_W; c++) if (g[r][c] === '#') canvas.rect(cx + c * scale, top + r * scale, scale, scale, color);
    }
    cx += advance;
  }
  return text.length === 0 ? 0 : (text.length - 1) * advance + GLYPH_W * scale;
}

/** Draws `text` centred on (cx, cy). */
export function drawTextCentered(canvas: Canvas, text: string, cx: number, cy: number, scale: number, color: Rgb): void {
  drawText(canvas, text, Math.round(cx - textWidth(text, scale) / 2), Math.round(cy - textHeight(scale) / 2), scale, color);
}
