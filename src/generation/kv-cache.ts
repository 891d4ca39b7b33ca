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

  /**
   * Drops the slots from `length` on (speculative decoding's rejected drafts): their keys are masked
   * out and each sequence's next RoPE position steps back over its dropped real tokens.
   */
  rollback(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.length) throw new ShapeError(`KVCache.rollback: expected a length in [0, ${this.length}], got ${length}`);
    for (let b = 0; b < this.batch; b++) {
      for (let t = length; t < this.length; t++) {
        const i = b * this.capacity + t;
        if (this.keyMask[i]) this.nextPos[b]--;
        this.keyMask[i] = 0;
      }
    }
    this.length = length;
  }

  /**
   * Fills this empty cache with row `row` of `src` in every batch row (a prefix prefilled once and
   * shared by B sequences): each row gets src's filled slots, key mask and next RoPE position.
   */
  broadcastFrom(src: KVCache, row = 0): void {
    if (this.length !== 0) throw new ShapeError(`KVCache.broadcastFrom: the target cache already holds ${this.length} slots; start from an empty one`);
    if (src.layers.length !== this.layers.length || src.headsKv !== this.headsKv || src.headDim !== this.headDim) {
      throw new ShapeError(`KVCache.broadcastFrom: source has ${src.layers.length} layers x ${src.headsKv} kv heads x ${src.headDim}, target ${this.layers.length} x ${this.headsKv} x ${this.headDim}`);
    }
    if (!Number.isInteger(row) || row < 0 || row >= src.batch) throw new ShapeError(`KVCache.broadcastFrom: expected a source row in [0, ${src.batch}), got ${row}`);
    if (src.length > this.capacity) throw new ShapeError(`KVCache.broadcastFrom: ${src.length} source slots exceed the capacity ${this.capacity}`);
    const width = this.headsKv * this.headDim, n = src.length * width;
    for (let l = 0; l < this.layers.length; l++) {
      const from = row * src.capacity * width;
      const k = src.layers[l].k.subarray(from, from + n), v = src.layers[l].v.subarray(from, from + n);
      for (let b = 0; b < this.batch; b++) {
        this.layers[l].k.set(k, b * this.capacity * width);
        this.layers[l].v.set(v, b * this.capacity * width);
      }
    }
    const mask = src.keyMask.subarray(row * src.capacity, row * src.capacity + src.length);
    for (let b = 0; b < this.batch; b++) {
      this.keyMask.set(mask, b * this.capacity);
      this.nextPos[b] = src.nextPos[row];
    }
    this.length = src.length;
  }

  /**
   * A new cache holding only `rows` of this one (in that order): their filled slots, key masks and
   * next RoPE positions, with the same capacity. Decoding drops finished sequences this way, so the
   * steps after most rows stopped run on the rows still going.
   */
  keepRows(rows: readonly number[]): KVCache {
    for (const r of rows) if (!Number.isInteger(r) || r < 0 || r >= this.batch) throw new ShapeError(`KVCache.keepRows: expected rows in [0, ${this.batch}), got ${r}`);
    const out = new KVCache(rows.length, this.capacity, this.layers.length, this.headsKv, this.headDim);
    const width = this.headsKv * this.headDim, n = this.length * width, stride = this.capacity * width;
    rows.forEach((r, i) => {
      for (let l = 0; l < this.layers.length; l++) {
        out.layers[l].k.set(this.layers[l].k.subarray(r * stride, r * stride + n), i * stride);
        out.layers[l].v.set(this.layers[l].v.subarray(r * stride, r * stride + n), i * stride);
      }
      out.keyMask.set(this.keyMask.subarray(r * this.capacity, r * this.capacity + this.length), i * this.capacity);
      out.nextPos[i] = this.nextPos[r];
    });
    out.length = this.length;
    return out;
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
