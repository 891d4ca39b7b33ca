/**
 * KV cache for incremental decoding. Per layer, keys and values live in [B, capacity, Hkv, D]
 * buffers (after RoPE). Sequences of a batch advance in lockstep (prompts are left-padded), and a
 * key mask [B, capacity] marks padding, so a batch of prompts of different lengths decodes together.
 * Each sequence also tracks its next RoPE position (padding does not advance it).
 */
import { ShapeError } from '../errors.js';

export interface LayerKV {
  k: Float32Array;
  v: Float32Array;
}

export class KVCache {
  readonly layers: LayerKV[];
  /** [B, capacity]: 1 for a real token, 0 for padding or an unfilled slot */
  readonly keyMask: Int32Array;
  /** next RoPE position per sequence */
  readonly nextPos: Int32Array;
  /** number of filled slots (the same for every sequence) */
  length = 0;

  constructor(
    readonly batch: number,
    readonly capacity: number,
    numLayers: number,
    readonly headsKv: number,
    readonly headDim: number,
  ) {
    const n = batch * capacity * headsKv * headDim;
    this.layers = Array.from({ length: numLayers }, () => ({ k: new Float32Array(n), v: new Float32Array(n) }));
    this.keyMask = new Int32Array(batch * capacity);
    this.nextPos = new Int32Array(batch);
  }

  /**
   * Reserves T new slots for every sequence with their token mask ([B, T], 1 = real; null = all real)
   * and returns the RoPE positions of the new tokens ([B*T]). Call once per forward step, before
   * the layers write their keys and values with `write`.
   */
  advance(T: number, mask: Int32Array | null): Int32Array {
    if (this.length + T > this.capacity) {
      throw new ShapeError(`KVCache: ${this.length} + ${T} tokens exceed the capacity ${this.capacity}; create the cache with a larger capacity (max new tokens + prompt)`);
    }
    if (mask && mask.length !== this.batch * T) throw new ShapeError(`KVCache: mask has ${mask.length} entries, expected ${this.batch * T}`);
    const positions = new Int32Array(this.batch * T);
    for (let b = 0; b < this.batch; b++) {
      for (let t = 0; t < T; t++) {
        const real = mask ? mask[b * T + t] : 1;
        this.keyMask[b * this.capacity + this.length + t] = real ? 1 : 0;
        positions[b * T + t] = this.nextPos[b];
        if (real) this.nextPos[b]++;
      }
    }
    this.length += T;
    return positions;
  }

  /** Writes the new tokens' k, v ([B, T, Hkv, D]) of one layer into the slots reserved by the last advance(T). */
  write(layer: number, k: Float32Array, v: Float32Array, T: number): void {
    const row = this.headsKv * this.headDim;
    const start = this.length - T;
    const { k: K, v: V } = this.layers[layer];
    for (let b = 0; b < this.batch; b++) {
      const dst = (b * this.capacity + start) * row;
      K.set(k.subarray(b * T * row, (b + 1) * T * row), dst);
      V.set(v.subarray(b * T * row, (b + 1) * T * row), dst);
    }
  }

  /**
   * The whole cache of one layer when batch row b is cache row b: k, v [B, capacity, Hkv, D] and the
   * key mask [B, capacity], of which the first `length` slots are filled. Null when rows are mapped.
   */
  batchView(layer: number): { k: Float32Array; v: Float32Array; keyMask: Int32Array; capacity: number } | null {
    const { k, v } = this.layers[layer];
    return { k, v, keyMask: this.keyMask, capacity: this.capacity };
  }

  /** Contiguous views of sequence b's filled keys and values ([1, length, Hkv, D]) and key mask ([1, length]). */
  view(layer: number, b: number): { k: Float32Array; v: Float32Array; keyMask: Int32Array } {
    const row = this.headsKv * this.headDim;
    const start = b * this.capacity * row, end = start + this.length * row;
    const { k, v } = this.layers[layer];
    return {
      k: k.subarray(start, end),
      v: v.subarray(start, end),
      keyMask: this.keyMask.subarray(b * this.capacity, b * this.capacity + this.length),
    };
  }
}

/** RoPE positions for a [B, T] attention mask (left or right padding): count of real tokens before each. */
export function positionsFromMask(mask: Int32Array | null, B: number, T: number): Int32Array {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let p = 0;
    for (let t = 0; t < T; t++) {
      pos[b * T + t] = p;
      if (!mask || mask[b * T + t]) p++;
    }
  }
  return pos;
}
