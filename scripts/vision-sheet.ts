/**
 * Draws a contact sheet of the visual world (docs/images/vision-world.png): one row per family, two
 * images per level 1..3 (the second of each pair anti-aliased), and prints each image's question,
 * answer and reasoning. Run: npx tsx scripts/vision-sheet.ts [OUT.png]
 */
import { writeFileSync } from 'node:fs';
import { VISION_FAMILIES, sampleVisionProblem } from '../src/data/vision/index.js';
import { encodePng } from '../src/data/vision/png.js';
import { Canvas } from '../src/data/vision/raster.js';
import { WorldRng } from '../src/data/world/rng.js';

const out = process.argv[2] ?? 'docs/images/vision-world.png';
const S = 112, pad = 4, cols = 6;
const sheet = new Canvas(cols * (S + pad), VISION_FAMILIES.length * (S + pad), [120, 120, 120]);
const rng = new WorldRng(11, 'sheet');
VISION_FAMILIES.forEach((family, r) => {
  for (let c = 0; c < cols; c++) {
    const level = 1 + Math.floor(c / 2);
    const p = sampleVisionProblem(rng, family, level, 'all', S, c % 2 === 1 ? 3 : 1);
    for (let y = 0; y < S; y++) {
      const from = y * S * 3;
      sheet.data.set(p.canvas.data.subarray(from, from + S * 3), ((r * (S + pad) + y) * sheet.width + c * (S + pad)) * 3);
    }
    console.log(`${family} level ${level}: ${p.question} -> ${p.answer}\n  ${p.reasoning}`);
  }
});
writeFileSync(out, encodePng(sheet));
console.log(`wrote ${out}`);
