/**
 * 3-D M-RoPE positions of GLM-4.1V (HF `Glm4vModel.get_rope_index`) and the rotary tables they give.
 * Text tokens get the same position on all three rows (temporal, height, width); a run of image
 * placeholders gets (start, start + row, start + col) over the merged patch grid, and the text after
 * it resumes at start + max(t, h/merge, w/merge). docs/vision.md.
 */
import { ShapeError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import type { GridThw } from './vision.js';

export interface RopeIndexInput {
  /** [B * T] token ids, row-major */
  ids: Int32Array;
  batch: number;
  seq: number;
  /** one grid per image, in order of appearance over the batch (row-major) */
  grids: readonly GridThw[];
  /** [B * T] 1 = token, 0 = padding; null = all real */
  attentionMask: Int32Array | null;
  imageTokenId: number;
  videoStartTokenId: number;
  videoEndTokenId: number;
  spatialMergeSize: number;
}

export interface RopeIndex {
  /** [3 * B * T]: row r (0 = temporal, 1 = height, 2 = width) at r * B * T + b * T + t */
  positions: Int32Array;
  /** [B]: max position + 1 - T (T counts left padding); decode steps use absolute index + delta */
  deltas: Int32Array;
}

/** get_rope_index for images (v4.57 semantics: padded positions are 1). */
export function ropeIndex(inp: RopeIndexInput): RopeIndex {
  const { ids, batch: B, seq: T, grids, attentionMask: mask, spatialMergeSize: m } = inp;
  if (ids.length !== B * T) throw new ShapeError(`ropeIndex: ${ids.length} ids, expected B*T = ${B * T}`);
  const positions = new Int32Array(3 * B * T).fill(1);
  const deltas = new Int32Array(B);
  let img = 0;
  for (let b = 0; b < B; b++) {
    const real: number[] = [];
    for (let t = 0; t < T; t++) if (!mask || mask[b * T + t]) real.push(t);
    let next = 0; // st_idx of the next group
    let inVideo = false;
    let maxPos = -1;
    const put = (t: number, p0: number, p1: number, p2: number) => {
      positions[b * T + t] = p0;
      positions[B * T + b * T + t] = p1;
      positions[2 * B * T + b * T + t] = p2;
      maxPos = Math.max(maxPos, p0, p1, p2);
    };
    let i = 0;
    while (i < real.length) {
      const id = ids[b * T + real[i]];
      if (id === inp.videoStartTokenId) inVideo = true;
      else if (id === inp.videoEndTokenId) inVideo = false;
      if (id === inp.imageTokenId) {
        if (inVideo) throw new ShapeError('ropeIndex: video input (image tokens inside <|begin_of_video|>...<|end_of_video|>) is not supported; pass images');
        let j = i;
        while (j < real.length && ids[b * T + real[j]] === inp.imageTokenId) j++;
        const grid = grids[img];
        if (!grid) throw new ShapeError(`ropeIndex: the prompt holds more image runs than the ${grids.length} image grid(s) given`);
        const [gt, gh, gw] = grid;
        const lh = gh / m, lw = gw / m;
        if (j - i !== gt * lh * lw) {
          throw new ShapeError(`ropeIndex: image ${img} (grid [${gt}, ${gh}, ${gw}]) needs ${gt * lh * lw} consecutive image tokens, the prompt has ${j - i}`);
        }
        let k = i;
        for (let a = 0; a < gt; a++) for (let r = 0; r < lh; r++) for (let c = 0; c < lw; c++, k++) put(real[k], next + a, next + r, next + c);
        next = maxPos + 1;
        img++;
        i = j;
        continue;
      }
      let j = i;
      while (j < real.length && ids[b * T + real[j]] !== inp.imageTokenId) j++;
      for (let k = i; k < j; k++) put(real[k], next + k - i, next + k - i, next + k - i);
      next = maxPos + 1;
      i = j;
    }
    deltas[b] = maxPos + 1 - T;
  }
  if (img !== grids.length) throw new ShapeError(`ropeIndex: ${grids.length} image grid(s) given but the prompt holds ${img} image run(s)`);
  return { positions, deltas };
}

/** Positions for a decode step: every row is absolute index + delta (HF: cache_position + rope_deltas). */
export function decodePositions(start: number, B: number, T: number, deltas: Int32Array): Int32Array {
  const positions = new Int32Array(3 * B * T);
  for (let r = 0; r < 3; r++) for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[r * B * T + b * T + t] = start + t + deltas[b];
  return positions;
}

/**
 * Interleaved-pair rotary tables [B*T, rotaryDim/2] for 3-row positions: pair j turns by
 * pos[axis(j)] * theta^(-2j/rotaryDim), axis 0 for the first `sections[0]` pairs, 1 for the next
 * `sections[1]`, 2 for the rest (HF apply_multimodal_rotary_pos_emb over GLM-4's interleaved pairs).
 */
export function mropeTables(positions: Int32Array, rows: number, rotaryDim: number, theta: number, sections: readonly [number, number, number], dtype: 'f32' | 'f64'): { cos: Tensor; sin: Tensor } {
  const half = rotaryDim / 2;
  if (sections[0] + sections[1] + sections[2] !== half) throw new ShapeError(`mropeTables: sections ${JSON.stringify(sections)} must sum to rotaryDim/2 = ${half}`);
  const cos = Tensor.zeros([rows, half], dtype), sin = Tensor.zeros([rows, half], dtype);
  for (let j = 0; j < half; j++) {
    const axis = j < sections[0] ? 0 : j < sections[0] + sections[1] ? 1 : 2;
    const inv = Math.pow(theta, (-2 * j) / rotaryDim);
    for (let p = 0; p < rows; p++) {
      const angle = positions[axis * rows + p] * inv;
      cos.data[p * half + j] = Math.cos(angle);
      sin.data[p * half + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
