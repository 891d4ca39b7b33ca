/**
 * Held-out items split into a validation half (where settings and models are chosen) and a test half
 * (where results are reported), by a hash of each item: stable across runs and orders, and an item
 * never lands in both.
 */
import { configHash } from '../util/config-hash.js';

export function validationTestSplit<T>(items: readonly T[], key: (item: T) => unknown = (x) => x): { validation: T[]; test: T[] } {
  const out = { validation: [] as T[], test: [] as T[] };
  for (const it of items) (parseInt(configHash(key(it)).slice(0, 8), 16) % 2 === 0 ? out.validation : out.test).push(it);
  return out;
}
