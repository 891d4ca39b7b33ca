/**
 * A small in-process rasteriser for the visual world: an RGB canvas (8 bits per channel, row-major,
 * no alpha) with filled rectangles, circles, triangles (any convex polygon) and thick line segments.
 *
 * Every shape is an inside test evaluated at sample points: one sample at each pixel centre
 * (x + 0.5, y + 0.5) without anti-aliasing, or an `aa` x `aa` grid of sub-pixel samples with
 * anti-aliasing, where the pixel is blended towards the colour by the share of samples inside. With
 * `aa` = 1 a shape therefore covers exactly the pixels whose centre it contains, which the tests rely on.
 */

/** An RGB colour, each channel 0..255. */
export type Rgb = readonly [number, number, number];

export interface Point {
  x: number;
  y: number;
}

export interface DrawOptions {
  /** Sub-pixel samples per axis (1 = no anti-aliasing, the default). */
  aa?: number;
}

export class Canvas {
  readonly data: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`Canvas: expected a positive integer width and height, got ${width}x${height}`);
    }
    this.data = new Uint8Array(width * height * 3);
    this.clear(background);
  }

  /** Fills the whole canvas with one colour. */
  clear(c: Rgb): void {
    for (let i = 0; i < this.data.length; i += 3) {
      this.data[i] = c[0];
      this.data[i + 1] = c[1];
      this.data[i + 2] = c[2];
    }
  }

  /** The colour at pixel (x, y). */
  get(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  /** Sets pixel (x, y), blended towards `c` by `alpha` in [0, 1]; pixels outside the canvas are ignored. */
  blend(x: number, y: number, c: Rgb, alpha = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const i = (y * this.width + x) * 3;
    if (alpha >= 1) {
      this.data[i] = c[0];
      this.data[i + 1] = c[1];
      this.data[i + 2] = c[2];
      return;
    }
    for (let k = 0; k < 3; k++) this.data[i + k] = Math.round(this.data[i + k] * (1 - alpha) + c[k] * alpha);
  }

  /** Number of pixels whose colour is exactly `c`. */
  countColor(c: Rgb): number {
    let n = 0;
    for (let i = 0; i < this.data.length; i += 3) if (this.data[i] === c[0] && this.data[i + 1] === c[1] && this.data[i + 2] === c[2]) n++;
    return n;
  }

  /**
   * Fills the region where `inside(px, py)` holds, within the box [x0, x1) x [y0, y1) (clipped to the
   * canvas); `px`, `py` are sample positions in canvas coordinates.
   */
  fillRegion(box: { x0: number; y0: number; x1: number; y1: number }, inside: (px: number, py: number) => boolean, c: Rgb, opts: DrawOptions = {}): void {
    const aa = opts.aa ?? 1;
    if (!Number.isInteger(aa) || aa < 1 || aa > 16) throw new RangeError(`Canvas: expected aa to be an integer in 1..16, got ${aa}`);
    const xs = Math.max(0, Math.floor(box.x0)), xe = Math.min(this.width, Math.ceil(box.x1));
    const ys = Math.max(0, Math.floor(box.y0)), ye = Math.min(this.height, Math.ceil(box.y1));
    const total = aa * aa;
    for (let y = ys; y < ye; y++) {
      for (let x = xs; x < xe; x++) {
        let hits = 0;
        for (let sy = 0; sy < aa; sy++) for (let sx = 0; sx < aa; sx++) if (inside(x + (sx + 0.5) / aa, y + (sy + 0.5) / aa)) hits++;
        if (hits > 0) this.blend(x, y, c, hits / total);
      }
    }
  }

  /** An axis-aligned rectangle covering [x, x + w) x [y, y + h). */
  rect(x: number, y: number, w: number, h: number, c: Rgb, opts: DrawOptions = {}): void {
    this.fillRegion({ x0: x, y0: y, x1: x + w, y1: y + h }, (px, py) => px >= x && px < x + w && py >= y && py < y + h, c, opts);
  }

  /** A filled disc of radius r around (cx, cy). */
  circle(cx: number, cy: number, r: number, c: Rgb, opts: DrawOptions = {}): void {
    const r2 = r * r;
    this.fillRegion({ x0: cx - r, y0: cy - r, x1: cx + r + 1, y1: cy + r + 1 }, (px, py) => (px - cx) ** 2 + (py - cy) ** 2 <= r2, c, opts);
  }

  /** A ring (circle outline) of the given stroke width, centred on radius r. */
  ring(cx: number, cy: number, r: number, width: number, c: Rgb, opts: DrawOptions = {}): void {
    const lo = Math.max(0, r - width / 2) ** 2, hi = (r + width / 2) ** 2;
    this.fillRegion({ x0: cx - r - width, y0: cy - r - width, x1: cx + r + width + 1, y1: cy + r + width + 1 }, (px, py) => {
      const d = (px - cx) ** 2 + (py - cy) ** 2;
      return d >= lo && d <= hi;
    }, c, opts);
  }

  /** A filled convex polygon (vertices in either winding order); triangles are the usual case. */
  polygon(points: readonly Point[], c: Rgb, opts: DrawOptions = {}): void {
    if (points.length < 3) throw new RangeError(`Canvas.polygon: expected at least 3 points, got ${points.length}`);
    const box = { x0: Math.min(...points.map((p) => p.x)), y0: Math.min(...points.map((p) => p.y)), x1: Math.max(...points.map((p) => p.x)) + 1, y1: Math.max(...points.map((p) => p.y)) + 1 };
    const n = points.length;
    this.fillRegion(box, (px, py) => {
      let pos = false, neg = false;
      for (let i = 0; i < n; i++) {
        const a = points[i], b = points[(i + 1) % n];
        const cross = (b.x - a.x) * (py - a.y) - (b.y - a.y) * (px - a.x);
        if (cross > 0) pos = true;
        else if (cross < 0) neg = true;
        if (pos && neg) return false;
      }
      return true;
    }, c, opts);
  }

  /** A filled triangle. */
  triangle(a: Point, b: Point, c: Point, color: Rgb, opts: DrawOptions = {}): void {
    this.polygon([a, b, c], color, opts);
  }

  /** A line segment of the given width with flat ends (the set of points within width/2 of the segment, cut at its ends). */
  line(a: Point, b: Point, width: number, c: Rgb, opts: DrawOptions = {}): void {
    const dx = b.x - a.x, dy = b.y - a.y;
    const len2 = dx * dx + dy * dy;
    const hw = width / 2;
    const box = { x0: Math.min(a.x, b.x) - hw, y0: Math.min(a.y, b.y) - hw, x1: Math.max(a.x, b.x) + hw + 1, y1: Math.max(a.y, b.y) + hw + 1 };
    this.fillRegion(box, (px, py) => {
      if (len2 === 0) return Math.abs(px - a.x) <= hw && Math.abs(py - a.y) <= hw;
      const t = ((px - a.x) * dx + (py - a.y) * dy) / len2;
      if (t < 0 || t > 1) return false;
      const qx = a.x + t * dx - px, qy = a.y + t * dy - py;
      return qx * qx + qy * qy <= hw * hw;
    }, c, opts);
  }
}
