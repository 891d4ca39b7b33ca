/**
 * Resolved configurations compared across runs: a stable hash (key order does not matter) and the
 * keys that differ, so a resumed run can refuse a changed configuration and name what changed.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** sha256 of the stable JSON, hex, first 16 characters. */
export function configHash(v: unknown): string {
  return createHash('sha256').update(stableStringify(v)).digest('hex').slice(0, 16);
}

/** Top-level keys whose values differ between two configurations, sorted, as `key: old -> new`. */
export function configDiff(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].sort().filter((k) => stableStringify(before[k]) !== stableStringify(after[k])).map((k) => `${k}: ${stableStringify(before[k])} -> ${stableStringify(after[k])}`);
}
