/**
 * PNG encoding and decoding of canvases through `pngjs` (8-bit RGB, no interlace). Encoding is
 * deterministic: the same canvas gives the same bytes.
 */
import { PNG } from 'pngjs';
import { DataError } from '../../errors.js';
import { Canvas } from './raster.js';

/** PNG bytes of a canvas (colour type 2: RGB, 8 bits per channel). */
export function encodePng(canvas: Canvas): Buffer {
  const png = new PNG({ width: canvas.width, height: canvas.height, colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(canvas.data.buffer, canvas.data.byteOffset, canvas.data.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 9 });
}

/** A canvas from PNG bytes (alpha, if any, is composited over white); `source` names the image in errors. */
export function decodePng(bytes: Uint8Array, source = 'image'): Canvas {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new DataError(`cannot decode ${source} as PNG (${(e as Error).message}); expected a PNG file`);
  }
  const canvas = new Canvas(png.width, png.height);
  for (let i = 0, j = 0; i < png.data.length; i += 4, j += 3) {
    const a = png.data[i + 3] / 255;
    for (let k = 0; k < 3; k++) canvas.data[j + k] = Math.round(png.data[i + k] * a + 255 * (1 - a));
  }
  return canvas;
}
