/**
 * Reference rotary position embedding (RoPE), docs/methods.md §1.1-1.2.
 *
 * x, out: [rows, heads, headDim]; cos, sin: [rows, rotaryDim/2] (one row per token position).
 * Only the first rotaryDim dims of each head rotate; the rest are copied unchanged.
 *   interleaved (GLM-4):      pair (x[2i], x[2i+1]) uses angle i
 *   half (GLM-4.5, rotate_half): pair (x[i], x[i + rotaryDim/2]) uses angle i
 * For a pair (a, b) and angle θ: a' = a cos θ - b sin θ, b' = b cos θ + a sin θ.
 * `inverse` rotates by -θ (the backward pass: the rotation's transpose). out may alias x.
 */
import type { RopeArgs } from '../backend.js';

export function rope(p: RopeArgs): void {
  const { x, cos, sin, out, rows, heads, headDim, rotaryDim, interleaved, inverse } = p;
  const half = rotaryDim / 2;
  const sign = inverse ? -1 : 1;
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      const base = (r * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[r * half + i];
        const s = sign * sin[r * half + i];
        const ia = base + (interleaved ? 2 * i : i);
        const ib = base + (interleaved ? 2 * i + 1 : i + half);
        const a = x[ia];
        const b = x[ib];
        out[ia] = a * c - b * s;
        out[ib] = b * c + a * s;
      }
      for (let d = rotaryDim; d < headDim; d++) out[base + d] = x[base + d];
    }
  }
}
