/**
 * A small, fast, seedable PRNG (xoshiro128**, seeded through splitmix32) with a serialisable state,
 * so training can checkpoint and resume its random stream exactly.
 */
/**
 * The xoshiro128** core (Blackman & Vigna): 128 bits of state filled from one 32-bit seed by
 * splitmix32, 32-bit integer math only, so every platform produces the same stream. `Rng` (training,
 * sampling) and the world generator's `WorldRng` extend it with their own seeding and helpers.
 */
export class Xoshiro128 {
  protected readonly s = new Uint32Array(4);

  constructor(seed32: number) {
    let x = seed32 >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
}

/** The general-purpose generator: a number or string seed, uniform, normal, shuffles, serialisable state. */
export class Rng extends Xoshiro128 {
  private spareNormal: number | null = null;

  constructor(seed: number | string = 0) {
    super(typeof seed === 'string' ? hashString(seed) : seed >>> 0);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** Four state words and the cached normal (null when none); JSON-serialisable. */
  getState(): (number | null)[] {
    return [...this.s, this.spareNormal];
  }

  /** Restores `getState()` (a cached normal saved as NaN, null or absent means none). */
  setState(state: readonly (number | null)[]): void {
    for (let i = 0; i < 4; i++) this.s[i] = (state[i] ?? 0) >>> 0;
    const spare = state[4];
    this.spareNormal = typeof spare === 'number' && !Number.isNaN(spare) ? spare : null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a hash of a string's UTF-16 code units with a final avalanche, as an unsigned 32-bit integer. */
export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}
