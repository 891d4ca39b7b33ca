/**
 * Measures how glmkit's image resize (Pillow's algorithm reproduced, or sharp/libvips 'cubic') differs from PIL's
 * Image.resize(BICUBIC), which HF's slow Glm4vImageProcessor uses, on a few synthetic images and
 * sizes from smart_resize. Needs a Python with Pillow and NumPy (GLMKIT_PYTHON, default python3). Prints one JSON line per case and a summary; docs/vision.md quotes the figures.
 *   npx tsx scripts/vision-resize-vs-pil.ts [pil|sharp]     (glmkit's default resampler, or sharp's cubic kernel)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.js';
import { decodeRgb, normalizeRgb, smartResize, type Resampler } from '../src/models/glm4v/preprocess.js';
import { defaultImageProcessorConfig } from '../src/models/glm4v/preprocess-config.js';

const python = process.env.GLMKIT_PYTHON ?? 'python3';
const dir = mkdtempSync(join(tmpdir(), 'glmkit-pil-'));

function image(kind: string, w: number, h: number): Buffer {
  const rng = new Rng(kind);
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        let v: number;
        if (kind === 'noise') v = rng.int(256);
        else if (kind === 'gradient') v = Math.round((255 * (x * (c + 1) + y * (3 - c))) / (w * (c + 1) + h * (3 - c)));
        else v = ((Math.floor(x / 7) + Math.floor(y / 5)) % 2 === 0 ? 230 : 20) + (c === 1 ? 10 : 0); // hard edges, like rendered shapes and text
        raw[(y * w + x) * 3 + c] = v;
      }
  return raw;
}

const cfg = defaultImageProcessorConfig();
const tinyCfg = { ...cfg, minPixels: 6272, maxPixels: 25088 };
const cases: [string, number, number, typeof cfg][] = [
  ['noise', 640, 480, cfg], ['gradient', 640, 480, cfg], ['edges', 640, 480, cfg],
  ['noise', 640, 480, tinyCfg], ['edges', 640, 480, tinyCfg], ['gradient', 300, 200, tinyCfg],
  ['edges', 90, 60, tinyCfg], ['noise', 28, 28, cfg], ['edges', 50, 40, cfg],
  ['jpeg:gradient', 640, 480, tinyCfg], ['jpeg:edges', 336, 336, cfg], ['webp:edges', 300, 200, tinyCfg],
];
const resampler = (process.argv[2] ?? 'pil') as Resampler;
let worstU8 = 0, worstNorm = 0;
for (const [kind, w0, h0, c] of cases) {
  const [format, pattern] = kind.includes(':') ? kind.split(':') : ['png', kind];
  const raw = sharp(image(pattern, w0, h0), { raw: { width: w0, height: h0, channels: 3 } });
  const png = await (format === 'jpeg' ? raw.jpeg({ quality: 90 }) : format === 'webp' ? raw.webp({ quality: 90 }) : raw.png()).toBuffer();
  const [h, w] = smartResize(h0, w0, c);
  const ours = await decodeRgb(png, w, h, 'image', resampler);
  const src = join(dir, 'in.png'), out = join(dir, 'out.raw');
  writeFileSync(src, png);
  const py = spawnSync(python, ['-c', `from PIL import Image; im = Image.open(${JSON.stringify(src)}).convert('RGB').resize((${w}, ${h}), resample=Image.BICUBIC); open(${JSON.stringify(out)}, 'wb').write(im.tobytes())`], { encoding: 'utf8' });
  if (py.status !== 0) {
    console.error(`Python with Pillow is needed (${python}): ${py.stderr.trim().split('\n').pop()}`);
    process.exit(2);
  }
  const pil = new Uint8Array(readFileSync(out));
  let max = 0, sum = 0, differ = 0;
  for (let i = 0; i < pil.length; i++) {
    const d = Math.abs(pil[i] - ours[i]);
    max = Math.max(max, d);
    sum += d;
    if (d > 0) differ++;
  }
  const a = normalizeRgb(ours, h, w, c), b = normalizeRgb(pil, h, w, c);
  let maxN = 0;
  for (let i = 0; i < a.length; i++) maxN = Math.max(maxN, Math.abs(a[i] - b[i]));
  worstU8 = Math.max(worstU8, max);
  worstNorm = Math.max(worstNorm, maxN);
  console.log(JSON.stringify({ image: kind, from: `${w0}x${h0}`, to: `${w}x${h}`, maxAbsU8: max, meanAbsU8: +(sum / pil.length).toFixed(3), fractionDiffering: +(differ / pil.length).toFixed(3), maxAbsPixelValues: +maxN.toFixed(4) }));
}
console.log(JSON.stringify({ summary: true, resampler, worstMaxAbsU8: worstU8, worstMaxAbsPixelValues: +worstNorm.toFixed(4) }));
rmSync(dir, { recursive: true, force: true });
