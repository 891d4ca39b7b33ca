/**
 * Chance levels for the visual world's held-out accuracy: per family, the accuracy of always giving
 * that family's most common answer (the majority baseline) on a set of records. A model "well above
 * chance" must beat this, which for yes/no and A/B questions is about 0.5 and for counting or
 * reading much lower.
 */

export interface FamilyBaseline {
  /** records of the family */
  n: number;
  /** the most common answer (ties: the first in sorted order) */
  majority: string;
  /** share of records whose answer is `majority` */
  accuracy: number;
}

/** Majority-answer baseline per family of records `{family, answer}` (families in sorted order). */
export function majorityBaseline(records: Iterable<{ family: string; answer: string }>): Record<string, FamilyBaseline> {
  const counts = new Map<string, Map<string, number>>();
  for (const r of records) {
    const m = counts.get(r.family) ?? new Map<string, number>();
    m.set(r.answer, (m.get(r.answer) ?? 0) + 1);
    counts.set(r.family, m);
  }
  const out: Record<string, FamilyBaseline> = {};
  for (const family of [...counts.keys()].sort()) {
    const m = counts.get(family)!;
    let n = 0;
    let best = '';
    let bestCount = -1;
    for (const [answer, c] of [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      n += c;
      if (c > bestCount) {
        best = answer;
        bestCount = c;
      }
    }
    out[family] = { n, majority: best, accuracy: bestCount / n };
  }
  return out;
}
