/**
 * The world generator's seeded PRNG: xoshiro128** (Blackman & Vigna) with its 128-bit state filled by
 * splitmix32. Same seed -> same stream on every platform (only 32-bit integer math, no Math.random).
 *
 * The world keeps its own seeding and helpers on the shared xoshiro core (util/rng.ts), so the bytes
 * of generated data never change when another module's use of `Rng` changes.
 */
import { Xoshiro128, hashString } from '../../util/rng.js';

export { hashString };

export class WorldRng extends Xoshiro128 {
  /**
   * `seed`: a non-negative safe integer; `labels` derive independent streams from one seed
   * (e.g. `new WorldRng(7, 'sft')` and `new WorldRng(7, 'rl')` do not overlap in practice).
   */
  constructor(seed: number, ...labels: string[]) {
    super(WorldRng.fold(seed, labels));
  }

  /** Folds the 53-bit seed and the labels into one 32-bit seed for the splitmix fill. */
  private static fold(seed: number, labels: string[]): number {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`WorldRng: expected a non-negative safe integer seed, got ${seed}`);
    }
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x9e3779b1);
    for (const label of labels) x = (Math.imul(x ^ hashString(label), 0x85ebca6b) + 0x2545f491) >>> 0;
    return x;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) {
      throw new RangeError(`WorldRng.int: expected integers lo <= hi, got ${lo}, ${hi}`);
    }
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('WorldRng.pick: expected a non-empty array');
    return items[Math.floor(this.next() * items.length)];
  }

  /** An element chosen with probability proportional to its (non-negative) weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    if (!(total > 0)) throw new RangeError('WorldRng.weighted: expected a positive total weight');
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1][0];
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** `k` distinct elements of `items` in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    if (k > items.length) throw new RangeError(`WorldRng.sample: asked for ${k} of ${items.length} items`);
    return this.shuffle(items.slice()).slice(0, k);
  }

  /** The four state words (for checkpoints). */
  getState(): number[] {
    return Array.from(this.s);
  }

  /** Restores a state from `getState()`. */
  setState(state: readonly number[]): void {
    if (state.length !== 4) throw new RangeError(`WorldRng.setState: expected 4 words, got ${state.length}`);
    for (let i = 0; i < 4; i++) this.s[i] = state[i] >>> 0;
  }
}

/** Which split a problem belongs to: 'test' for about 10% of keys, chosen by hash; 'train' for the rest. */
export function splitOf(key: string): 'train' | 'test' {
  return hashString(key) % 10 === 0 ? 'test' : 'train';
}

export type Split = 'train' | 'test' | 'all';

/** Whether an item with `key` belongs to `split`. */
export function inSplit(key: string, split: Split): boolean {
  return split === 'all' || splitOf(key) === split;
}
