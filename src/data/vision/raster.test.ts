import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Canvas, type Rgb } from './raster.js';
import { drawText, inkPixels, textWidth, GLYPH_H } from './font.js';
import { decodePng, encodePng } from './png.js';
import { DataError } from '../../errors.js';

const RED: Rgb = [220, 40, 40];
const WHITE: Rgb = [255, 255, 255];

/** Bounding box of the pixels of colour c. */
function bbox(cv: Canvas, c: Rgb): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < cv.height; y++) {
    for (let x = 0; x < cv.width; x++) {
      const p = cv.get(x, y);
      if (p[0] === c[0] && p[1] === c[1] && p[2] === c[2]) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  return { x0, y0, x1, y1 };
}

test('a rectangle covers exactly its w x h pixels', () => {
  const cv = new Canvas(32, 24);
  cv.rect(3, 4, 10, 6, RED);
  assert.equal(cv.countColor(RED), 60);
  assert.deepEqual(bbox(cv, RED), { x0: 3, y0: 4, x1: 12, y1: 9 });
  assert.equal(cv.countColor(WHITE), 32 * 24 - 60);
  // clipped at the canvas edge
  cv.rect(28, 20, 10, 10, [0, 0, 255]);
  assert.equal(cv.countColor([0, 0, 255]), 4 * 4);
});

test('a disc covers the pixels whose centre lies within the radius (area close to pi r^2)', () => {
  const cv = new Canvas(64, 64);
  cv.circle(32, 32, 10, RED);
  let expected = 0;
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) if ((x + 0.5 - 32) ** 2 + (y + 0.5 - 32) ** 2 <= 100) expected++;
  assert.equal(cv.countColor(RED), expected);
  assert.ok(Math.abs(expected - Math.PI * 100) / (Math.PI * 100) < 0.04, `area ${expected}`);
  assert.deepEqual(bbox(cv, RED), { x0: 22, y0: 22, x1: 41, y1: 41 });
});

test('a triangle has the area of its vertices (within 8%) and stays inside their box', () => {
  const cv = new Canvas(64, 64);
  cv.triangle({ x: 10, y: 50 }, { x: 50, y: 50 }, { x: 30, y: 10 }, RED);
  const area = 0.5 * 40 * 40;
  assert.ok(Math.abs(cv.countColor(RED) - area) / area < 0.08, `count ${cv.countColor(RED)}`);
  const b = bbox(cv, RED);
  assert.ok(b.x0 >= 10 && b.x1 < 50 && b.y0 >= 10 && b.y1 < 50);
  // winding order does not matter
  const cv2 = new Canvas(64, 64);
  cv2.triangle({ x: 30, y: 10 }, { x: 50, y: 50 }, { x: 10, y: 50 }, RED);
  assert.deepEqual(cv2.data, cv.data);
});

test('a horizontal line of width 2 covers 2 rows of its length', () => {
  const cv = new Canvas(32, 32);
  cv.line({ x: 5, y: 10 }, { x: 25, y: 10 }, 2, RED);
  assert.equal(cv.countColor(RED), 40);
  assert.deepEqual(bbox(cv, RED), { x0: 5, y0: 9, x1: 24, y1: 10 });
});

test('anti-aliasing blends edge pixels; without it every pixel is either colour', () => {
  const sharp = new Canvas(40, 40), smooth = new Canvas(40, 40);
  sharp.circle(20, 20, 8.3, RED);
  smooth.circle(20, 20, 8.3, RED, { aa: 4 });
  const mixed = (cv: Canvas) => {
    let n = 0;
    for (let i = 0; i < cv.data.length; i += 3) {
      const p = [cv.data[i], cv.data[i + 1], cv.data[i + 2]];
      if (!(p[0] === 255 && p[1] === 255 && p[2] === 255) && !(p[0] === RED[0] && p[1] === RED[1] && p[2] === RED[2])) n++;
    }
    return n;
  };
  assert.equal(mixed(sharp), 0);
  assert.ok(mixed(smooth) > 20, `blended pixels: ${mixed(smooth)}`);
  assert.throws(() => sharp.circle(1, 1, 1, RED, { aa: 0 }), RangeError);
});

test('bitmap text paints exactly its glyph pixels, scaled', () => {
  const cv = new Canvas(80, 30);
  const w = drawText(cv, '8A', 2, 3, 2, RED);
  assert.equal(w, textWidth('8A', 2));
  assert.equal(w, (2 * 6 - 1) * 2);
  assert.equal(cv.countColor(RED), inkPixels('8A', 2));
  // '8' has 17 ink cells in the 5x7 font, 'A' has 18 (drawn for this repository)
  assert.equal(inkPixels('8', 1), 17);
  const b = bbox(cv, RED);
  assert.equal(b.y1 - b.y0 + 1, GLYPH_H * 2);
  assert.throws(() => drawText(cv, '@', 0, 0, 1, RED), /no glyph/);
});

test('PNG encoding round-trips the pixels and is deterministic', () => {
  const cv = new Canvas(17, 9, [10, 20, 30]);
  cv.circle(8, 4, 3, RED, { aa: 3 });
  const a = encodePng(cv), b = encodePng(cv);
  assert.deepEqual(a, b);
  assert.deepEqual([...a.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  assert.equal(a.readUInt32BE(16), 17);
  assert.equal(a.readUInt32BE(20), 9);
  assert.equal(a[25], 2, 'colour type 2 (RGB)');
  const back = decodePng(a);
  assert.equal(back.width, 17);
  assert.deepEqual(back.data, cv.data);
  assert.throws(() => decodePng(new Uint8Array([1, 2, 3]), 'x.png'), (e: unknown) => e instanceof DataError && /x\.png/.test(e.message));
});
