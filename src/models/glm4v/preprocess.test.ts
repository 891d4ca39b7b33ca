// Image preprocessing as HF's Glm4vImageProcessor: smart_resize sizes (HF's own table), patch order
// of pixel_values, normalisation, token counts, and the errors for undecodable and oversized images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { DataError } from '../../errors.js';
import { defaultImageProcessorConfig, imageProcessorConfigFromHf } from './preprocess-config.js';
import { imageTokenCount, normalizeRgb, patchify, preprocessImage, smartResize } from './preprocess.js';

test('smart_resize gives HF processor sizes (input W x H -> resized W x H)', () => {
  const cfg = defaultImageProcessorConfig();
  const cases: [number, number, number, number][] = [
    [336, 336, 336, 336], [640, 480, 644, 476], [800, 600, 812, 588], [1024, 1024, 1036, 1036], [1280, 720, 1288, 728],
    [1920, 1080, 1932, 1092], [2048, 2048, 2044, 2044], [3840, 2160, 2912, 1624], [4096, 4096, 2184, 2184], [28, 28, 84, 84], [500, 37, 504, 28],
  ];
  for (const [w, h, w2, h2] of cases) assert.deepEqual(smartResize(h, w, cfg), [h2, w2], `${w}x${h}`);
  // banker's rounding: 42/28 = 1.5 rounds to 2, 70/28 = 2.5 rounds to 2
  assert.deepEqual(smartResize(70, 70, { ...cfg, minPixels: 1 }), [56, 56]);
  assert.deepEqual(smartResize(42, 42, { ...cfg, minPixels: 1 }), [56, 56]);
});

test('pixel_values rows come in 2x2 merge blocks, each row (channel, frame, py, px) with the frame repeated', () => {
  const cfg = { ...defaultImageProcessorConfig(), patchSize: 2 };
  const H = 4, W = 8; // grid 2 x 4 patches, merge blocks 1 x 2
  const frame = Float32Array.from({ length: 3 * H * W }, (_, i) => i); // value = c*H*W + y*W + x
  const { pixelValues, gridThw } = patchify(frame, H, W, cfg);
  assert.deepEqual(gridThw, [1, 2, 4]);
  const rowLen = 3 * 2 * 2 * 2;
  assert.equal(pixelValues.length, 8 * rowLen);
  // row 1 = block (0,0), in-block (ih 0, iw 1) = patch at y 0, x 2; row 2 = (ih 1, iw 0) = y 2, x 0; row 4 = block (0,1) first patch = y 0, x 4
  const at = (row: number, c: number, t: number, py: number, px: number) => pixelValues[row * rowLen + ((c * 2 + t) * 2 + py) * 2 + px];
  assert.equal(at(1, 0, 0, 0, 0), 2);
  assert.equal(at(2, 0, 0, 0, 0), 2 * W);
  assert.equal(at(4, 0, 0, 1, 1), 1 * W + 5);
  assert.equal(at(3, 2, 1, 1, 0), 2 * H * W + 3 * W + 2); // channel 2, second (repeated) frame
  assert.equal(at(3, 2, 0, 1, 0), at(3, 2, 1, 1, 0));
  assert.equal(imageTokenCount(gridThw, 2), 2);
});

test('normalisation is float32 (u8 / 255 - mean) / std with CLIP constants', () => {
  const cfg = defaultImageProcessorConfig();
  const out = normalizeRgb(Uint8Array.from([255, 0, 128]), 1, 1, cfg);
  assert.equal(out[0], Math.fround(Math.fround(1 - Math.fround(0.48145466)) / Math.fround(0.26862954)));
  assert.equal(out[1], Math.fround(Math.fround(0 - Math.fround(0.4578275)) / Math.fround(0.26130258)));
  assert.ok(Math.abs(out[2] - (128 / 255 - 0.40821073) / 0.27577711) < 1e-6);
});

test('preprocessImage decodes PNG, JPEG and WebP, resizes within the limits and returns HF-shaped outputs', async () => {
  const cfg = imageProcessorConfigFromHf({ size: { shortest_edge: 6272, longest_edge: 25088 }, patch_size: 14, merge_size: 2 }, 'test');
  const raw = Buffer.alloc(90 * 60 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 256;
  const img = sharp(raw, { raw: { width: 90, height: 60, channels: 3 } });
  for (const bytes of [await img.clone().png().toBuffer(), await img.clone().jpeg().toBuffer(), await img.clone().webp().toBuffer()]) {
    const r = await preprocessImage(bytes, cfg);
    // 90x60 -> round to 84x56; 2*84*56 = 9408 within [6272, 25088]
    assert.deepEqual(r.gridThw, [1, 4, 6]);
    assert.equal(r.pixelValues.length, 24 * 1176);
    assert.ok(r.pixelValues.every((v) => Number.isFinite(v) && v > -2 && v < 2.2));
  }
  // an exact-size PNG is not resized: the first row is the top-left patch, normalised
  const exact = Buffer.alloc(56 * 56 * 3, 255);
  const r = await preprocessImage(await sharp(exact, { raw: { width: 56, height: 56, channels: 3 } }).png().toBuffer(), cfg);
  assert.deepEqual(r.gridThw, [1, 4, 4]);
  assert.equal(r.pixelValues[0], Math.fround(Math.fround(1 - Math.fround(0.48145466)) / Math.fround(0.26862954)));
});

test('an undecodable image and an image that cannot fit max_pixels each give one DataError saying what to do', async () => {
  const cfg = imageProcessorConfigFromHf({ size: { shortest_edge: 3136, longest_edge: 6272 } }, 'test');
  await assert.rejects(preprocessImage(Buffer.from('not an image at all'), cfg, 'photo.png'), (e: unknown) => e instanceof DataError && /photo\.png: cannot decode the image/.test((e as Error).message));
  const long = await sharp({ create: { width: 4000, height: 28, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer();
  await assert.rejects(preprocessImage(long, cfg, 'strip.png'), (e: unknown) => e instanceof DataError && /strip\.png: 4000x28 cannot be resized within max_pixels 6272/.test((e as Error).message));
  const wide = await sharp({ create: { width: 6000, height: 28, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer();
  await assert.rejects(preprocessImage(wide, cfg), /aspect ratio 6000x28 is over 200/);
});
