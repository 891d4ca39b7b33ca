/**
 * Agreement between two annotators: Cohen's kappa, (p_o - p_e) / (1 - p_e), where p_o is the share of
 * items both labelled alike and p_e the agreement expected by chance from each annotator's own label
 * frequencies (sum over categories of p1(k) * p2(k)).
 */

/** Cohen's kappa of paired labels; null when it is undefined (no items, or p_e = 1: both always gave one same label). */
export function cohenKappa<T>(pairs: readonly (readonly [T, T])[]): number | null {
  const n = pairs.length;
  if (n === 0) return null;
  const first = new Map<T, number>(), second = new Map<T, number>();
  let agree = 0;
  for (const [a, b] of pairs) {
    if (a === b) agree++;
    first.set(a, (first.get(a) ?? 0) + 1);
    second.set(b, (second.get(b) ?? 0) + 1);
  }
  const po = agree / n;
  let pe = 0;
  for (const [k, c] of first) pe += (c / n) * ((second.get(k) ?? 0) / n);
  if (pe >= 1) return null;
  return (po - pe) / (1 - pe);
}
