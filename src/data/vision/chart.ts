/**
 * Charts and tables.
 * - bars: a bar chart with letter-labelled bars of integer values 1..9 on a 0..10 axis. Level 1 asks
 *   for the tallest or shortest of 2-3 bars that differ by >= 3; level 2 compares two of 4-5 bars that
 *   differ by >= 2; level 3 asks for a bar's value (grid lines every unit, tick labels every 2) among 5-6.
 * - table: a grid of numbers with column letters and row numbers; the question names a cell.
 *   Level 1: 2x2 of one-digit numbers; level 2: 3x3 up to 99; level 3: 4x4 up to 99.
 */
import type { WorldRng } from '../world/rng.js';
import type { Family } from './family.js';
import { drawTextCentered, textWidth } from './font.js';
import { COLORS, type ColorName, COLOR_NAMES, GRID, INK, listJoin } from './palette.js';

const LETTERS = 'ABCDEFGH';

export interface BarScene {
  size: number;
  values: number[];
  color: ColorName;
  /** tallest / shortest: no operands; compare: two bar indices; value: one bar index */
  ask: { kind: 'tallest' } | { kind: 'shortest' } | { kind: 'compare'; a: number; b: number } | { kind: 'value'; a: number };
  /** level 3 draws grid lines and tick labels */
  grid: boolean;
}

/** Geometry of a bar chart in a square of `size`: the plot box and the pixels per unit. */
export function barLayout(scene: Pick<BarScene, 'size' | 'values'>): { left: number; bottom: number; top: number; unit: number; slot: number; width: number } {
  const s = scene.size;
  const left = 16, right = s - 4, top = 6, bottom = s - 14;
  const unit = (bottom - top) / 10;
  const slot = (right - left) / scene.values.length;
  return { left, bottom, top, unit, slot, width: Math.max(3, Math.floor(slot * 0.6)) };
}

function distinctValues(rng: WorldRng, n: number, minGap: number): number[] | null {
  const vals: number[] = [];
  for (let t = 0; t < 200 && vals.length < n; t++) {
    const v = rng.int(1, 9);
    if (vals.every((u) => Math.abs(u - v) >= minGap)) vals.push(v);
  }
  return vals.length === n ? vals : null;
}

export const barsFamily: Family<BarScene> = {
  maxLevel: 3,
  sample(rng, level, size) {
    const color = rng.pick(COLOR_NAMES);
    for (;;) {
      if (level === 1) {
        const values = distinctValues(rng, rng.int(2, 3), 3);
        if (values) return { size, values, color, ask: { kind: rng.pick(['tallest', 'shortest'] as const) }, grid: false };
      } else if (level === 2) {
        const n = rng.int(4, 5);
        const values = Array.from({ length: n }, () => rng.int(1, 9));
        const [a, b] = rng.sample([...values.keys()], 2);
        if (Math.abs(values[a] - values[b]) >= 2) return { size, values, color, ask: { kind: 'compare', a, b }, grid: false };
      } else {
        const values = Array.from({ length: rng.int(5, 6) }, () => rng.int(1, 9));
        return { size, values, color, ask: { kind: 'value', a: rng.int(0, values.length - 1) }, grid: true };
      }
    }
  },
  render(scene, canvas, opts) {
    const L = barLayout(scene);
    if (scene.grid) {
      for (let v = 1; v <= 10; v++) canvas.rect(L.left, Math.round(L.bottom - v * L.unit), scene.size - 4 - L.left, 1, GRID);
      for (let v = 2; v <= 10; v += 2) drawTextCentered(canvas, String(v), L.left / 2, L.bottom - v * L.unit, 1, INK);
    }
    canvas.rect(L.left, L.top, 1, L.bottom - L.top + 1, INK); // y axis
    canvas.rect(L.left, L.bottom, scene.size - 4 - L.left, 1, INK); // x axis
    scene.values.forEach((v, i) => {
      const cx = L.left + (i + 0.5) * L.slot;
      const h = Math.round(v * L.unit);
      canvas.rect(Math.round(cx - L.width / 2), L.bottom - h, L.width, h, COLORS[scene.color], opts);
      drawTextCentered(canvas, LETTERS[i], cx, L.bottom + 7, 1, INK);
    });
  },
  describe(scene) {
    const labels = scene.values.map((_, i) => LETTERS[i]);
    const listed = listJoin(scene.values.map((v, i) => `${labels[i]} is ${v}`));
    const caption = `A bar chart with ${scene.values.length} ${scene.color} bars: ${listed}.`;
    const ask = scene.ask;
    if (ask.kind === 'tallest' || ask.kind === 'shortest') {
      const best = scene.values.indexOf(ask.kind === 'tallest' ? Math.max(...scene.values) : Math.min(...scene.values));
      return {
        question: `Which bar is the ${ask.kind}?`,
        answer: labels[best],
        verifier: 'exact',
        reasoning: `Bar heights: ${listed}. The ${ask.kind} is ${labels[best]} at ${scene.values[best]}.`,
        caption,
      };
    }
    if (ask.kind === 'compare') {
      const { a, b } = ask;
      const taller = scene.values[a] > scene.values[b] ? a : b;
      return {
        question: `Which bar is taller, ${labels[a]} or ${labels[b]}?`,
        answer: labels[taller],
        verifier: 'exact',
        reasoning: `Bar ${labels[a]} reaches ${scene.values[a]} and bar ${labels[b]} reaches ${scene.values[b]}. ${scene.values[taller]} is more, so ${labels[taller]} is taller.`,
        caption,
      };
    }
    const v = scene.values[ask.a];
    return {
      question: `What is the value of bar ${labels[ask.a]}?`,
      answer: String(v),
      verifier: 'numeric',
      reasoning: `Bar ${labels[ask.a]} is the ${ordinal(ask.a + 1)} bar. Its top is on grid line ${v} (${v % 2 === 0 ? `the line labelled ${v}` : `between ${v - 1} and ${v + 1}`}), so its value is ${v}.`,
      caption,
    };
  },
  key(scene) {
    return `bars|${JSON.stringify(scene)}`;
  },
};

function ordinal(n: number): string {
  return ['zeroth', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'][n] ?? `${n}th`;
}

export interface TableScene {
  size: number;
  cells: number[][];
  row: number;
  col: number;
}

const TABLE_LEVELS: Record<number, { n: number; max: number }> = { 1: { n: 2, max: 9 }, 2: { n: 3, max: 99 }, 3: { n: 4, max: 99 } };

/** Geometry of a table: the width and height of a cell (the first row and column hold the labels). */
export function tableLayout(scene: Pick<TableScene, 'size' | 'cells'>): { cellW: number; cellH: number; x0: number; y0: number } {
  const rows = scene.cells.length + 1, cols = scene.cells[0].length + 1;
  const cellW = Math.floor((scene.size - 4) / cols), cellH = Math.floor((scene.size - 4) / rows);
  return { cellW, cellH, x0: Math.floor((scene.size - cellW * cols) / 2), y0: Math.floor((scene.size - cellH * rows) / 2) };
}

export const tableFamily: Family<TableScene> = {
  maxLevel: 3,
  sample(rng, level, size) {
    const { n, max } = TABLE_LEVELS[level];
    const cells = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.int(0, max)));
    return { size, cells, row: rng.int(0, n - 1), col: rng.int(0, n - 1) };
  },
  render(scene, canvas) {
    const L = tableLayout(scene);
    const rows = scene.cells.length + 1, cols = scene.cells[0].length + 1;
    for (let r = 0; r <= rows; r++) canvas.rect(L.x0, L.y0 + r * L.cellH, cols * L.cellW + 1, 1, r === 1 ? INK : GRID);
    for (let c = 0; c <= cols; c++) canvas.rect(L.x0 + c * L.cellW, L.y0, 1, rows * L.cellH + 1, c === 1 ? INK : GRID);
    const scale = textWidth('00', 2) <= L.cellW - 8 && L.cellH >= 20 ? 2 : 1;
    const at = (r: number, c: number, s: string) => drawTextCentered(canvas, s, L.x0 + (c + 0.5) * L.cellW, L.y0 + (r + 0.5) * L.cellH, scale, INK);
    scene.cells[0].forEach((_, c) => at(0, c + 1, LETTERS[c]));
    scene.cells.forEach((row, r) => {
      at(r + 1, 0, String(r + 1));
      row.forEach((v, c) => at(r + 1, c + 1, String(v)));
    });
  },
  describe(scene) {
    const v = scene.cells[scene.row][scene.col];
    const rowText = scene.cells[scene.row].map((x, c) => `${LETTERS[c]} ${x}`).join(', ');
    return {
      question: `What number is in row ${scene.row + 1}, column ${LETTERS[scene.col]} of the table?`,
      answer: String(v),
      verifier: 'numeric',
      reasoning: `Row ${scene.row + 1} reads: ${rowText}. Column ${LETTERS[scene.col]} of that row holds ${v}.`,
      caption: `A table with ${scene.cells.length} rows and ${scene.cells[0].length} columns: ${scene.cells.map((row, r) => `row ${r + 1}: ${row.join(', ')}`).join('; ')}.`,
    };
  },
  key(scene) {
    return `table|${JSON.stringify(scene)}`;
  },
};
