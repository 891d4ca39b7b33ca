/**
 * Reading: a number (digits family) or a short word (words family) drawn with the bitmap font.
 * Knobs by level: longer strings, smaller glyphs, coloured ink and distractor strokes; level 1 puts one
 * glyph in each 28-pixel token cell of a row where the string fits. The split key is the string
 * itself, so test images show numbers and words never drawn in train.
 */
import type { WorldRng } from '../world/rng.js';
import { type Family, TOKEN_CELL } from './family.js';
import { GLYPH_W, drawText, textHeight, textWidth } from './font.js';
import { BACKGROUND_NAME, COLORS, type ColorName, COLOR_NAMES, INK, GRID } from './palette.js';
import type { Rgb } from './raster.js';

export interface TextScene {
  size: number;
  kind: 'digits' | 'words';
  text: string;
  x: number;
  y: number;
  scale: number;
  /** pixels from one character's left edge to the next; null: the font's spacing */
  advance?: number | null;
  /** null: black ink */
  color: ColorName | null;
  /** light grey distractor strokes: [x0, y0, x1, y1] */
  strokes: Array<[number, number, number, number]>;
}

/** Words by level (3 letters; 4-5 letters; 6-7 letters). */
export const WORDS: Readonly<Record<number, readonly string[]>> = {
  1: ['CAT', 'DOG', 'SUN', 'BOX', 'RED', 'MAP', 'CUP', 'HAT', 'PEN', 'BUS', 'KEY', 'OWL', 'FOX', 'BEE', 'ICE', 'JAM', 'LOG', 'NET', 'OAK', 'PIG',
    'RUG', 'SKY', 'TOY', 'VAN', 'WEB', 'YAK', 'ZIP', 'ANT', 'BAT', 'COW', 'EGG', 'FIG', 'GUM', 'HEN', 'INK', 'JAR', 'KIT', 'LID', 'MUD', 'NUT'],
  2: ['TREE', 'BOOK', 'FISH', 'MOON', 'STAR', 'RAIN', 'DOOR', 'LAMP', 'BIRD', 'CAKE', 'SHIP', 'ROAD', 'KITE', 'FROG', 'MILK', 'SNOW', 'WIND', 'LEAF', 'BELL', 'COIN',
    'APPLE', 'HOUSE', 'WATER', 'CHAIR', 'TABLE', 'BREAD', 'CLOUD', 'RIVER', 'STONE', 'PLANT', 'TRAIN', 'SHEEP', 'MOUSE', 'LIGHT', 'GRASS', 'HORSE', 'SMILE', 'PIANO', 'OCEAN', 'TIGER'],
  3: ['GARDEN', 'WINDOW', 'PENCIL', 'ORANGE', 'BASKET', 'CASTLE', 'DRAGON', 'FOREST', 'GUITAR', 'ISLAND', 'JACKET', 'KITTEN', 'LADDER', 'MARKET', 'NEEDLE', 'PLANET', 'RABBIT', 'SILVER', 'TURTLE', 'VALLEY',
    'BICYCLE', 'BLANKET', 'CABBAGE', 'DOLPHIN', 'FEATHER', 'GIRAFFE', 'HARVEST', 'JOURNEY', 'KITCHEN', 'LANTERN', 'MORNING', 'PICTURE', 'RAINBOW', 'SHELTER', 'TEACHER', 'VILLAGE', 'WEATHER', 'CRYSTAL', 'BALLOON', 'PUMPKIN'],
};

const DIGITS: Record<number, [number, number]> = { 1: [1, 2], 2: [3, 4], 3: [5, 6] };
const SCALES: Record<number, readonly number[]> = { 1: [3, 4], 2: [2, 3], 3: [2] };

function sampleText(rng: WorldRng, kind: TextScene['kind'], level: number): string {
  if (kind === 'words') return rng.pick(WORDS[level]);
  const len = rng.int(...DIGITS[level]);
  let s = String(rng.int(1, 9)); // no leading zero: the number reads the same as a string
  for (let i = 1; i < len; i++) s += String(rng.int(0, 9));
  return s;
}

function textFamily(kind: TextScene['kind']): Family<TextScene> {
  return {
    maxLevel: 3,
    sample(rng, level, size) {
      const text = sampleText(rng, kind, level);
      const cells = level === 1 ? Math.floor(size / TOKEN_CELL) : 0;
      if (text.length <= cells) {
        // one glyph per token cell: scale 3 (15 x 21 pixels) centred in each cell of a row
        const scale = 3, col = rng.int(0, cells - text.length), row = rng.int(0, cells - 1);
        const x = col * TOKEN_CELL + Math.floor((TOKEN_CELL - GLYPH_W * scale) / 2), y = row * TOKEN_CELL + Math.floor((TOKEN_CELL - textHeight(scale)) / 2);
        return { size, kind, text, x, y, scale, advance: TOKEN_CELL, color: null, strokes: [] };
      }
      const scales = SCALES[level].filter((s) => textWidth(text, s) <= size - 8);
      const scale = scales.length > 0 ? rng.pick(scales) : 1;
      const w = textWidth(text, scale), h = textHeight(scale);
      const x = rng.int(4, Math.max(4, size - 4 - w)), y = rng.int(4, Math.max(4, size - 4 - h));
      const color = level >= 2 && rng.chance(0.5) ? rng.pick(COLOR_NAMES.filter((c) => c !== 'yellow')) : null;
      const strokes: TextScene['strokes'] = [];
      for (let i = 0; i < (level === 3 ? rng.int(1, 3) : 0); i++) strokes.push([rng.int(0, size), rng.int(0, size), rng.int(0, size), rng.int(0, size)]);
      return { size, kind, text, x, y, scale, color, strokes };
    },
    render(scene, canvas, opts) {
      for (const [x0, y0, x1, y1] of scene.strokes) canvas.line({ x: x0, y: y0 }, { x: x1, y: y1 }, 1, GRID, opts);
      const ink: Rgb = scene.color === null ? INK : COLORS[scene.color];
      drawText(canvas, scene.text, scene.x, scene.y, scene.scale, ink, scene.advance ?? undefined);
    },
    describe(scene) {
      const chars = scene.text.split('');
      const what = kind === 'digits' ? 'number' : 'word';
      return {
        question: kind === 'digits' ? 'What number is written in the image?' : 'What word is written in the image?',
        answer: scene.text,
        verifier: kind === 'digits' ? 'numeric' : 'exact',
        reasoning: `There is one line of ${scene.color ?? 'black'} text. Reading it from left to right: ${chars.join(', ')}. That is ${chars.length} ${kind === 'digits' ? 'digit' : 'letter'}${chars.length === 1 ? '' : 's'}, so the ${what} is ${scene.text}.`,
        caption: `The ${what} "${scene.text}" written in ${scene.color ?? 'black'} on a ${BACKGROUND_NAME} background.`,
      };
    },
    key(scene) {
      return `${kind}|${scene.text}`;
    },
  };
}

export const digitsFamily = textFamily('digits');
export const wordsFamily = textFamily('words');
