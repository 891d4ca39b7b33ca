/**
 * Bicubic resize of 8-bit images as Pillow's Image.resize(size, Image.BICUBIC) computes it (the
 * resize HF's Glm4vImageProcessor uses): a separable convolution with the cubic kernel a = -0.5,
 * its support widened by the scale when shrinking (antialiasing), weights normalised per output
 * pixel and rounded to 22-bit fixed point, a horizontal pass into an 8-bit intermediate over the
 * rows the vertical pass needs, then the vertical pass; each pass rounds and clips to 0..255.
 * Written from the algorithm's description; it reproduces Pillow's bytes (docs/vision.md).
 */

const PRECISION_BITS = 32 - 8 - 2;
const SUPPORT = 2;

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coeffs {
  ksize: number;
  /** [out * 2]: first input index and tap count of each output */
  bounds: Int32Array;
  /** [out * ksize] fixed-point weights */
  k: Float64Array;
}

function coeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2), k = new Float64Array(outSize * ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    const w = new Float64Array(xmax);
    for (let x = 0; x < xmax; x++) {
      w[x] = bicubic((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, k };
}

function clip8(v: number): number {
  if (v >= 1 << (PRECISION_BITS + 8)) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / (1 << PRECISION_BITS));
}

/** Resizes interleaved 8-bit pixels [h0, w0, channels] to [h, w, channels] as Pillow's BICUBIC. */
export function resizeBicubicPil(src: Uint8Array, w0: number, h0: number, channels: number, w: number, h: number): Uint8Array {
  if (w === w0 && h === h0) return src.slice();
  const cx = coeffs(w0, w), cy = coeffs(h0, h);
  const needH = w !== w0, needV = h !== h0;
  let img = src, iw = w0;
  const yFirst = cy.bounds[0], yLast = cy.bounds[h * 2 - 2] + cy.bounds[h * 2 - 1];
  const vBounds = cy.bounds.slice();
  if (needH) {
    const rows = needV ? yLast - yFirst : h0;
    const first = needV ? yFirst : 0;
    if (needV) for (let i = 0; i < h; i++) vBounds[i * 2] -= yFirst;
    const tmp = new Uint8Array(rows * w * channels);
    for (let y = 0; y < rows; y++) {
      const rowIn = (y + first) * w0 * channels;
      for (let xx = 0; xx < w; xx++) {
        const xmin = cx.bounds[xx * 2], n = cx.bounds[xx * 2 + 1], kb = xx * cx.ksize;
        for (let c = 0; c < channels; c++) {
          let s = 1 << (PRECISION_BITS - 1);
          for (let x = 0; x < n; x++) s += src[rowIn + (x + xmin) * channels + c] * cx.k[kb + x];
          tmp[(y * w + xx) * channels + c] = clip8(s);
        }
      }
    }
    img = tmp;
    iw = w;
  }
  if (!needV) return img;
  const out = new Uint8Array(h * iw * channels);
  for (let yy = 0; yy < h; yy++) {
    const ymin = vBounds[yy * 2], n = vBounds[yy * 2 + 1], kb = yy * cy.ksize;
    for (let x = 0; x < iw * channels; x++) {
      let s = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < n; y++) s += img[(y + ymin) * iw * channels + x] * cy.k[kb + y];
      out[yy * iw * channels + x] = clip8(s);
    }
  }
  return out;
}
