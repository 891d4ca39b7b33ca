import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorldRng, splitOf } from '../world/rng.js';
import { type VisionFamily, VISION_FAMILIES, generateVisionTask, sampleVisionProblem, visionKey } from './index.js';
import type { Canvas, Rgb } from './raster.js';
import { BACKGROUND, COLORS, INK, type ShapeItem } from './palette.js';
import { TOKEN_CELL } from './family.js';
import { type CountScene, isCountTarget } from './count.js';
import { inkPixels } from './font.js';
import type { TextScene } from './text.js';
import { WORDS } from './text.js';
import { type BarScene, barLayout, type TableScene } from './chart.js';
import { type ClockScene, clockTime, handAngles } from './clock.js';
import { type SpatialScene, holds } from './spatial.js';
import type { GeometryScene } from './geometry.js';

const SIZE = 112;

function same(p: Rgb, c: Rgb): boolean {
  return p[0] === c[0] && p[1] === c[1] && p[2] === c[2];
}

/** Number of 4-connected components of pixels of exactly colour c. */
function components(cv: Canvas, c: Rgb): number {
  const seen = new Uint8Array(cv.width * cv.height);
  let n = 0;
  for (let s = 0; s < seen.length; s++) {
    if (seen[s] || !same(cv.get(s % cv.width, Math.floor(s / cv.width)), c)) continue;
    n++;
    const stack = [s];
    seen[s] = 1;
    while (stack.length > 0) {
      const i = stack.pop()!;
      const x = i % cv.width, y = Math.floor(i / cv.width);
      for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
        const nx = x + dx, ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= cv.width || ny >= cv.height) continue;
        const j = ny * cv.width + nx;
        if (!seen[j] && same(cv.get(nx, ny), c)) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
  }
  return n;
}

function problems(family: VisionFamily, level: number, n: number, seed = 1) {
  const rng = new WorldRng(seed, 'test', family, String(level));
  return Array.from({ length: n }, () => sampleVisionProblem(rng, family, level, 'all', SIZE));
}

test('count: the answer recounts the scene, and each colour shows as one blob per shape', () => {
  for (const level of [1, 2, 3]) {
    for (const p of problems('count', level, 15)) {
      const s = p.scene as CountScene;
      assert.equal(p.answer, String(s.items.filter((it) => isCountTarget(s, it)).length));
      const ofColour = s.items.filter((it) => it.color === s.target.color).length;
      assert.equal(components(p.canvas, COLORS[s.target.color]), ofColour, `level ${level}: ${p.caption}`);
      assert.match(p.question, new RegExp(`^How many ${s.target.color} `));
      assert.ok(p.reasoning.endsWith('.') && p.reasoning.includes(s.target.color));
    }
  }
  // level 1 counts a colour; levels 2-3 a colour and a shape
  assert.ok(problems('count', 1, 5).every((p) => (p.scene as CountScene).target.shape === null));
  assert.ok(problems('count', 3, 5).every((p) => (p.scene as CountScene).target.shape !== null));
});

test('digits and words: the answer is the drawn string, and its ink covers exactly the glyph pixels', () => {
  for (const family of ['digits', 'words'] as const) {
    for (const level of [1, 2, 3]) {
      for (const p of problems(family, level, 10)) {
        const s = p.scene as TextScene;
        assert.equal(p.answer, s.text);
        const ink = s.color === null ? INK : COLORS[s.color];
        assert.equal(p.canvas.countColor(ink), inkPixels(s.text, s.scale), `${family} ${s.text}`);
        if (family === 'digits') assert.match(s.text, level === 1 ? /^[1-9]\d?$/ : level === 2 ? /^[1-9]\d{2,3}$/ : /^[1-9]\d{4,5}$/);
        else assert.ok(WORDS[level].includes(s.text));
      }
    }
  }
});

test('bars: bar heights measured in the image give the answer', () => {
  for (const level of [1, 2, 3]) {
    for (const p of problems('bars', level, 10)) {
      const s = p.scene as BarScene;
      const L = barLayout(s);
      const heights = s.values.map((_, i) => {
        const x = Math.round(L.left + (i + 0.5) * L.slot);
        let h = 0;
        for (let y = 0; y < SIZE; y++) if (same(p.canvas.get(x, y), COLORS[s.color])) h++;
        return h;
      });
      assert.deepEqual(heights, s.values.map((v) => Math.round(v * L.unit)));
      const letter = (i: number) => 'ABCDEFGH'[i];
      if (s.ask.kind === 'tallest') assert.equal(p.answer, letter(heights.indexOf(Math.max(...heights))));
      else if (s.ask.kind === 'shortest') assert.equal(p.answer, letter(heights.indexOf(Math.min(...heights))));
      else if (s.ask.kind === 'compare') assert.equal(p.answer, letter(heights[s.ask.a] > heights[s.ask.b] ? s.ask.a : s.ask.b));
      else assert.equal(p.answer, String(Math.round(heights[s.ask.a] / L.unit)));
    }
  }
});

test('clock: the answer is H:MM of the scene and the minute hand is drawn where it points', () => {
  for (const level of [1, 2, 3]) {
    for (const p of problems('clock', level, 12)) {
      const s = p.scene as ClockScene;
      assert.equal(p.answer, clockTime(s.hour, s.minute));
      assert.match(p.answer, /^(1[0-2]|[1-9]):[0-5][05]$/);
      if (level === 1) assert.equal(s.minute, 0);
      const a = (handAngles(s.hour, s.minute).minute * Math.PI) / 180;
      const x = Math.floor(s.cx + Math.sin(a) * s.radius * 0.75), y = Math.floor(s.cy - Math.cos(a) * s.radius * 0.75);
      // some pixel of the 3x3 neighbourhood is the minute hand's colour
      const hand = s.minuteColor === null ? INK : COLORS[s.minuteColor];
      let hit = false;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) hit ||= same(p.canvas.get(x + dx, y + dy), hand);
      assert.ok(hit, `minute hand of ${p.answer} not found at (${x}, ${y})`);
    }
  }
});

test('table, spatial and geometry answers follow from the scene', () => {
  for (const level of [1, 2, 3]) {
    for (const p of problems('table', level, 8)) {
      const s = p.scene as TableScene;
      assert.equal(p.answer, String(s.cells[s.row][s.col]));
      assert.equal(s.cells.length, level + 1);
    }
    for (const p of problems('spatial', level, 8)) {
      const s = p.scene as SpatialScene;
      assert.equal(p.answer, holds(s.items[s.a], s.items[s.b], s.relation) ? 'yes' : 'no');
      const kinds = new Set(s.items.map((it: ShapeItem) => `${it.color} ${it.shape}`));
      assert.equal(kinds.size, s.items.length, 'every object is named uniquely');
    }
    for (const p of problems('geometry', level, 8)) {
      const s = p.scene as GeometryScene;
      assert.equal(p.answer, s.values[0] > s.values[1] ? 'A' : 'B');
      if (s.kind === 'length' && level <= 2) {
        // the longer (blue = A, red = B) line has more pixels
        const blue = p.canvas.countColor(COLORS.blue), red = p.canvas.countColor(COLORS.red);
        assert.equal(blue > red ? 'A' : 'B', p.answer, `${s.values}`);
      }
    }
  }
});

test('both answers occur in the yes/no and A/B families (no constant answer)', () => {
  const answers = (f: VisionFamily) => new Set(problems(f, 2, 40).map((p) => p.answer));
  assert.deepEqual([...answers('spatial')].sort(), ['no', 'yes']);
  assert.deepEqual([...answers('geometry')].sort(), ['A', 'B']);
});

test('splits: test scenes hash to test, train scenes to train, and held-out words are never drawn in train', () => {
  for (const family of VISION_FAMILIES) {
    const train = [...generateVisionTask(family, { n: 30, seed: 2, split: 'train' })];
    const testSet = [...generateVisionTask(family, { n: 10, seed: 2, split: 'test' })];
    assert.ok(train.every((p) => splitOf(visionKey(family, p.scene)) === 'train'), family);
    assert.ok(testSet.every((p) => splitOf(visionKey(family, p.scene)) === 'test'), family);
    const trainKeys = new Set(train.map((p) => visionKey(family, p.scene)));
    assert.ok(testSet.every((p) => !trainKeys.has(visionKey(family, p.scene))), family);
  }
  // scene-keyed families hold out scenes, not answers: level-1 clocks of the test split show most hours
  const hours = new Set([...generateVisionTask('clock', { n: 120, seed: 4, split: 'test', difficulty: [1] })].map((p) => p.answer));
  assert.ok(hours.size >= 10, `test clocks show only ${[...hours].join(', ')}`);
  // every word level keeps some words for test, and they are never in train
  for (const level of [1, 2, 3]) {
    const held = WORDS[level].filter((w) => splitOf(`words|${w}`) === 'test');
    assert.ok(held.length >= 1, `level ${level} has no held-out word`);
    const trainWords = new Set([...generateVisionTask('words', { n: 150, seed: 3, split: 'train', difficulty: [level] })].map((p) => p.answer));
    assert.ok(held.every((w) => !trainWords.has(w)));
  }
});

test('generation is deterministic for (task, n, seed, split) and changes with the seed', () => {
  const a = [...generateVisionTask('sft', { n: 12, seed: 5, split: 'train' })];
  const b = [...generateVisionTask('sft', { n: 12, seed: 5, split: 'train' })];
  const c = [...generateVisionTask('sft', { n: 12, seed: 6, split: 'train' })];
  assert.deepEqual(a.map((p) => [p.question, p.answer, p.canvas.data]), b.map((p) => [p.question, p.answer, p.canvas.data]));
  assert.notDeepEqual(a.map((p) => p.canvas.data), c.map((p) => p.canvas.data));
  assert.ok(new Set(a.map((p) => p.family)).size >= 4, 'the mixed formats draw from several families');
  const only = [...generateVisionTask('rl', { n: 10, families: ['clock', 'bars'], difficulty: [3] })];
  assert.ok(only.every((p) => (p.family === 'clock' || p.family === 'bars') && p.difficulty === 3));
});

test('level 1 of count and digits sits on the token grid: each item inside its own 28-pixel cell', () => {
  const cellOf = (x: number, y: number) => `${Math.floor(x / TOKEN_CELL)},${Math.floor(y / TOKEN_CELL)}`;
  for (const p of problems('count', 1, 30)) {
    const s = p.scene as CountScene;
    const cells = s.items.map((it) => {
      // every pixel of the item's colour within its reach lies in the cell of its centre
      assert.equal(it.x % TOKEN_CELL, TOKEN_CELL / 2, 'centred in its cell');
      assert.equal(it.y % TOKEN_CELL, TOKEN_CELL / 2, 'centred in its cell');
      assert.ok(it.r <= 10, `size ${it.r} stays inside the cell`);
      return cellOf(it.x, it.y);
    });
    assert.equal(new Set(cells).size, cells.length, 'one shape per cell');
  }
  for (const p of problems('digits', 1, 30)) {
    const s = p.scene as TextScene;
    // each glyph's ink lies in one cell, a different one per glyph, all in one row
    const inkCells = new Map<string, number>();
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) if (same(p.canvas.get(x, y), INK)) inkCells.set(cellOf(x, y), (inkCells.get(cellOf(x, y)) ?? 0) + 1);
    assert.equal(inkCells.size, s.text.length, `${s.text}: ink in ${[...inkCells.keys()].join(' ')}`);
    const cells = [...inkCells.keys()].map((k) => k.split(',').map(Number)).sort((a, b) => a[0] - b[0]);
    assert.ok(cells.every((c, i) => c[1] === cells[0][1] && c[0] === cells[0][0] + i), 'adjacent cells of one row');
    cells.forEach((c, i) => assert.equal(inkCells.get(c.join(',')), inkPixels(s.text[i], s.scale), `glyph ${s.text[i]} whole in its cell`));
  }
});

test('every world image is drawn on the grey background', () => {
  for (const family of VISION_FAMILIES) {
    const p = problems(family, 1, 1)[0];
    assert.ok(same(p.canvas.get(0, 0), BACKGROUND) || same(p.canvas.get(SIZE - 1, SIZE - 1), BACKGROUND), family);
  }
});
