/**
 * Image preprocessing as HF's `Glm4vImageProcessor`: decode (PNG, JPEG, WebP, ... through sharp),
 * convert to RGB, smart-resize to multiples of patch_size * merge_size within the min/max pixel
 * limits (bicubic), rescale by 1/255, normalise with mean/std, repeat the frame to
 * temporal_patch_size, and lay the patches out as `pixel_values` rows in HF's order with the image's
 * `[t, h, w]` grid. docs/vision.md says where sharp's resize differs from PIL's.
 */
import sharp from 'sharp';
import { DataError } from '../../errors.js';
import type { ImageProcessorConfig } from './preprocess-config.js';
import { resizeBicubicPil } from './resize.js';

export type { ImageProcessorConfig } from './preprocess-config.js';
export { defaultImageProcessorConfig, imageProcessorConfigFromHf, imageProcessorConfigToHf, readImageProcessorConfig } from './preprocess-config.js';

/** Largest decoded image accepted (pixels), before any resizing: larger inputs are refused, not decoded. */
export const MAX_INPUT_PIXELS = 178_956_970; // PIL's decompression-bomb limit (2 * Image.MAX_IMAGE_PIXELS)

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * HF smart_resize for an image (num_frames = temporal_patch_size): the resized [height, width],
 * both multiples of factor = patch_size * merge_size, with t * h * w within [minPixels, maxPixels].
 * Images with a side below the factor are scaled up first (transformers 5.x; 4.57 refused them).
 * Throws DataError for an aspect ratio over 200 and where no size fits max_pixels.
 */
export function smartResize(height: number, width: number, cfg: ImageProcessorConfig, what = 'image'): [number, number] {
  const factor = cfg.patchSize * cfg.mergeSize;
  const frames = cfg.temporalPatchSize;
  if (Math.max(height, width) / Math.min(height, width) > 200) {
    throw new DataError(`${what}: aspect ratio ${width}x${height} is over 200; crop or pad the image (the processor accepts at most 200:1)`);
  }
  if (height < factor || width < factor) {
    const scale = Math.max(factor / height, factor / width);
    height = Math.floor(height * scale);
    width = Math.floor(width * scale);
  }
  let h = roundHalfEven(height / factor) * factor;
  let w = roundHalfEven(width / factor) * factor;
  const t = frames; // t_bar = round(frames / temporal_factor) * temporal_factor with both = temporal_patch_size
  if (t * h * w > cfg.maxPixels) {
    const beta = Math.sqrt((frames * height * width) / cfg.maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (t * h * w < cfg.minPixels) {
    const beta = Math.sqrt(cfg.minPixels / (frames * height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  if (t * h * w > cfg.maxPixels) {
    throw new DataError(
      `${what}: ${width}x${height} cannot be resized within max_pixels ${cfg.maxPixels} (the smallest fitting size ${w}x${h} gives ${t}*${h}*${w} = ${t * h * w}); ` +
        'crop the image or raise size.longest_edge in preprocessor_config.json',
    );
  }
  return [h, w];
}

/** Number of `<|image|>` placeholders one image becomes: t * h * w / merge^2. */
export function imageTokenCount(gridThw: readonly [number, number, number], mergeSize: number): number {
  return (gridThw[0] * gridThw[1] * gridThw[2]) / (mergeSize * mergeSize);
}

/**
 * Normalised frame [3, H, W] (float32, channels first) from RGB uint8 pixels [H, W, 3], as HF:
 * x = float32(u8 * rescale_factor), then (x - mean) / std in float32.
 */
export function normalizeRgb(rgb: Uint8Array, height: number, width: number, cfg: ImageProcessorConfig): Float32Array {
  const out = new Float32Array(3 * height * width);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const mean = f(cfg.imageMean[c]), std = f(cfg.imageStd[c]);
    for (let i = 0; i < height * width; i++) {
      let x = cfg.doRescale ? f(rgb[i * 3 + c] * cfg.rescaleFactor) : rgb[i * 3 + c];
      if (cfg.doNormalize) x = f(f(x - mean) / std);
      out[c * height * width + i] = x;
    }
  }
  return out;
}

/**
 * pixel_values rows of one image from its normalised frame [3, H, W]: the frame repeated to
 * temporal_patch_size, rows in (t, block row, block col, row in block, col in block) order, each row
 * (channel, frame, py, px) = 3 * T * p * p values.
 */
export function patchify(frame: Float32Array, height: number, width: number, cfg: ImageProcessorConfig): { pixelValues: Float32Array; gridThw: [number, number, number] } {
  const p = cfg.patchSize, m = cfg.mergeSize, T = cfg.temporalPatchSize;
  const gh = height / p, gw = width / p;
  const rowLen = 3 * T * p * p;
  const out = new Float32Array(gh * gw * rowLen);
  let r = 0;
  for (let bh = 0; bh < gh / m; bh++)
    for (let bw = 0; bw < gw / m; bw++)
      for (let ih = 0; ih < m; ih++)
        for (let iw = 0; iw < m; iw++, r++) {
          const y0 = (bh * m + ih) * p, x0 = (bw * m + iw) * p;
          let o = r * rowLen;
          for (let c = 0; c < 3; c++)
            for (let t = 0; t < T; t++)
              for (let py = 0; py < p; py++) {
                const src = c * height * width + (y0 + py) * width + x0;
                out.set(frame.subarray(src, src + p), o);
                o += p;
              }
        }
  return { pixelValues: out, gridThw: [1, gh, gw] };
}

/** How decoded images are resized: Pillow's bicubic reproduced (default, HF's slow processor), or sharp's cubic kernel. */
export type Resampler = 'pil' | 'sharp';

/**
 * Decodes an image to RGB uint8 [height, width, 3] with sharp (alpha dropped, grey expanded, as
 * PIL's convert('RGB')), resized when its size differs: by default with Pillow's bicubic algorithm
 * (resize.ts), or with sharp's 'cubic' kernel (docs/vision.md compares the two with Pillow).
 */
export async function decodeRgb(bytes: Uint8Array, width: number, height: number, what = 'image', resampler: Resampler = 'pil'): Promise<Uint8Array> {
  try {
    let img = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).toColourspace('srgb').removeAlpha();
    if (resampler === 'sharp') img = img.resize(width, height, { kernel: 'cubic', fit: 'fill', fastShrinkOnLoad: false });
    const res = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const { width: w0, height: h0, channels } = res.info;
    if (channels !== 3) throw new Error(`decoded to ${channels} channels, expected RGB`);
    const rgb = new Uint8Array(res.data.buffer, res.data.byteOffset, res.data.length);
    return w0 === width && h0 === height ? rgb : resizeBicubicPil(rgb, w0, h0, 3, width, height);
  } catch (e) {
    throw new DataError(`${what}: cannot decode the image (${(e as Error).message}); expected PNG, JPEG, WebP, GIF, TIFF or AVIF bytes`);
  }
}

/**
 * Decodes and preprocesses one image (PNG, JPEG, WebP, GIF, TIFF, AVIF bytes). Throws DataError
 * for bytes that are not a decodable image and for images over MAX_INPUT_PIXELS or max_pixels.
 * `what` names the image in errors (a file name, a message part).
 */
export async function preprocessImage(bytes: Uint8Array, cfg: ImageProcessorConfig, what = 'image'): Promise<{ pixelValues: Float32Array; gridThw: [number, number, number] }> {
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new DataError(`${what}: cannot decode the image (${(e as Error).message}); expected PNG, JPEG, WebP, GIF, TIFF or AVIF bytes`);
  }
  const w0 = meta.width ?? 0, h0 = meta.height ?? 0;
  if (!(w0 > 0 && h0 > 0)) throw new DataError(`${what}: cannot decode the image (no width/height in its header); expected PNG, JPEG, WebP, GIF, TIFF or AVIF bytes`);
  if (w0 * h0 > MAX_INPUT_PIXELS) {
    throw new DataError(`${what}: ${w0}x${h0} = ${w0 * h0} pixels is over the decode limit of ${MAX_INPUT_PIXELS}; downscale the image before sending it`);
  }
  const [h, w] = smartResize(h0, w0, cfg, what);
  const rgb = await decodeRgb(bytes, w, h, what);
  return patchify(normalizeRgb(rgb, h, w, cfg), h, w, cfg);
}

/** Several images: pixel_values concatenated in order, one grid each. */
export async function preprocessImages(images: readonly Uint8Array[], cfg: ImageProcessorConfig): Promise<{ pixelValues: Float32Array; gridThw: [number, number, number][] }> {
  const parts = [];
  for (let i = 0; i < images.length; i++) parts.push(await preprocessImage(images[i], cfg, `image ${i}`));
  const total = parts.reduce((s, p) => s + p.pixelValues.length, 0);
  const pixelValues = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    pixelValues.set(p.pixelValues, o);
    o += p.pixelValues.length;
  }
  return { pixelValues, gridThw: parts.map((p) => p.gridThw) };
}

/** This processor as the chat side takes it (`ImageProcessorLike` of src/data/image-chat.ts). */
export function imageProcessor(cfg: ImageProcessorConfig): { preprocess(bytes: Uint8Array): Promise<{ pixelValues: Float32Array; gridThw: [number, number, number] }>; tokenCount(gridThw: readonly [number, number, number]): number } {
  return { preprocess: (bytes) => preprocessImage(bytes, cfg), tokenCount: (g) => imageTokenCount(g, cfg.mergeSize) };
}
