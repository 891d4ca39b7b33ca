/**
 * Length groups: a micro-batch of rows of different lengths, run as up to N smaller batches of rows of
 * similar length, each padded only to its own longest row. The loss is the same sum over the same rows
 * (SFT: the same token sum over the whole micro-batch's target tokens; reward model: the same pairwise
 * loss over the same pairs), so the gradient is the same up to float summation order, while the work
 * on padding shrinks: world SFT chats of 16 fill ~43% of a batch padded to its longest chat, reward
 * pairs ~60% (docs/performance.md "The main job").
 */
import { field } from './config.js';

/** The config field of the trainers that pad (SFT, reward model). */
export const lengthGroupsField = {
  length_groups: field('int', 1, 'run each micro-batch as up to N batches of rows of similar length, each padded only to its own longest row (same loss and gradient up to float rounding, less work on padding; 1 = one padded batch)', { min: 1 }),
};

/**
 * Splits row indices into at most `groups` runs of the rows sorted by length (ties by index, so the
 * split is deterministic), with boundaries that minimise the padded area sum(rows x longest). Each
 * run is in ascending length order; runs are never empty. With `groups` 1 the one run keeps the rows'
 * own order.
 */
export function lengthGroups(lengths: readonly number[], groups: number): number[][] {
  const n = lengths.length;
  const k = Math.max(1, Math.min(groups, n));
  if (k === 1) return [lengths.map((_, i) => i)]; // one group: the rows as they came
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const len = order.map((i) => lengths[i]);
  // best[g][j]: least padded area of the first j sorted rows in g runs; the run (i, j] costs (j - i) * len[j - 1]
  const best = Array.from({ length: k + 1 }, () => new Array<number>(n + 1).fill(Infinity));
  const cut = Array.from({ length: k + 1 }, () => new Array<number>(n + 1).fill(0));
  best[0][0] = 0;
  for (let g = 1; g <= k; g++) {
    for (let j = g; j <= n; j++) {
      for (let i = g - 1; i < j; i++) {
        const c = best[g - 1][i] + (j - i) * len[j - 1];
        if (c < best[g][j]) [best[g][j], cut[g][j]] = [c, i];
      }
    }
  }
  // fewer runs when they pad no more (equal lengths): the smallest g reaching the optimum
  let g = 1;
  for (let h = 1; h <= k; h++) if (best[h][n] < best[g][n]) g = h;
  const out: number[][] = [];
  for (let j = n; g > 0; g--) {
    const i = cut[g][j];
    out.unshift(order.slice(i, j));
    j = i;
  }
  return out;
}
