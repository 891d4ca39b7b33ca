/**
 * What the labels say: counts, win rates per model, the share of choices for the left side (a blind
 * order shows no position bias), agreement between annotators (Cohen's kappa on the comparisons both
 * labelled), and the export to TRL preference JSONL that `glmkit reward` trains on.
 */
import { cohenKappa } from './agreement.js';
import type { Answer, Choice, ComparisonRow, LabelStore, Message } from './labels-store.js';

export interface LabelStats {
  labels: number;
  comparisons: number;
  queued: number;
  choices: Record<Choice, number>;
  annotators: Record<string, number>;
  /** per model: comparisons against another model decided for or against it (ties counted apart) */
  models: Record<string, { wins: number; losses: number; ties: number; both_bad: number; win_rate: number | null }>;
  /** of the labels that chose a side, the share that chose the left one */
  left_share: number | null;
  agreement: { annotators: [string, string]; items: number; agreed: number; kappa: number | null }[];
}

export function labelStats(store: LabelStore): LabelStats {
  const labels = store.labels();
  const comparisons = new Map(store.comparisons().map((c) => [c.id, c]));
  const choices: Record<Choice, number> = { a: 0, b: 0, tie: 0, both_bad: 0 };
  const annotators: Record<string, number> = {};
  const models: LabelStats['models'] = {};
  const model = (m: string) => (models[m] ??= { wins: 0, losses: 0, ties: 0, both_bad: 0, win_rate: null });
  let sided = 0, left = 0;
  const byComparison = new Map<number, Map<string, Choice>>();
  for (const l of labels) {
    choices[l.choice]++;
    annotators[l.annotator] = (annotators[l.annotator] ?? 0) + 1;
    if (!byComparison.has(l.comparison_id)) byComparison.set(l.comparison_id, new Map());
    byComparison.get(l.comparison_id)!.set(l.annotator, l.choice);
    if (l.choice === 'a' || l.choice === 'b') {
      sided++;
      if ((l.choice === 'a') !== store.swapped(l.comparison_id, l.annotator)) left++;
    }
    const c = comparisons.get(l.comparison_id)!;
    if (c.a.model === c.b.model) continue;
    if (l.choice === 'tie' || l.choice === 'both_bad') {
      model(c.a.model)[l.choice === 'tie' ? 'ties' : 'both_bad']++;
      model(c.b.model)[l.choice === 'tie' ? 'ties' : 'both_bad']++;
    } else {
      model(l.choice === 'a' ? c.a.model : c.b.model).wins++;
      model(l.choice === 'a' ? c.b.model : c.a.model).losses++;
    }
  }
  for (const m of Object.values(models)) m.win_rate = m.wins + m.losses > 0 ? m.wins / (m.wins + m.losses) : null;
  const names = Object.keys(annotators).sort();
  const agreement: LabelStats['agreement'] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const pairs: [Choice, Choice][] = [];
      for (const m of byComparison.values()) {
        const x = m.get(names[i]), y = m.get(names[j]);
        if (x && y) pairs.push([x, y]);
      }
      if (pairs.length === 0) continue;
      agreement.push({ annotators: [names[i], names[j]], items: pairs.length, agreed: pairs.filter(([x, y]) => x === y).length, kappa: cohenKappa(pairs) });
    }
  }
  const p = store.progress(null);
  return { labels: labels.length, comparisons: p.comparisons, queued: p.queued, choices, annotators, models, left_share: sided > 0 ? left / sided : null, agreement };
}

function assistant(a: Answer): Message {
  const m: Message = { role: 'assistant', content: a.content };
  if (a.reasoning) m.reasoning_content = a.reasoning;
  return m;
}

export interface PreferenceRecord {
  prompt: Message[];
  chosen: Message[];
  rejected: Message[];
  comparison_id: number;
  /** who labelled the comparison, and what each chose (a, b, tie, both_bad) */
  labels: { annotator: string; choice: Choice; reasons: string[]; note: string; at: string }[];
  chosen_model: string;
  rejected_model: string;
  sampling: Record<string, unknown>;
}

/**
 * One TRL conversational preference record (prompt / chosen / rejected message lists, plus the labels,
 * models and sampling settings) per comparison whose labels chose an answer: the answer chosen by
 * more annotators wins (ties and both-bad labels abstain). Left out and counted: comparisons whose
 * labels are all ties or both-bad (`ties` when ties are at least as many, else `bothBad`), and those
 * where annotators chose each answer equally often (`disagreed`). Reward training then sees one
 * consistent pair per comparison.
 */
export function preferencePairs(store: LabelStore): { records: PreferenceRecord[]; ties: number; bothBad: number; disagreed: number } {
  const byComparison = new Map<number, ReturnType<LabelStore['labels']>>();
  for (const l of store.labels()) {
    if (!byComparison.has(l.comparison_id)) byComparison.set(l.comparison_id, []);
    byComparison.get(l.comparison_id)!.push(l);
  }
  const records: PreferenceRecord[] = [];
  let ties = 0, bothBad = 0, disagreed = 0;
  for (const c of store.comparisons()) {
    const ls = byComparison.get(c.id);
    if (!ls) continue;
    const n = (k: Choice) => ls.filter((l) => l.choice === k).length;
    const [a, b] = [n('a'), n('b')];
    if (a === 0 && b === 0) {
      if (n('tie') >= n('both_bad')) ties++;
      else bothBad++;
      continue;
    }
    if (a === b) {
      disagreed++;
      continue;
    }
    const [win, lose] = a > b ? [c.a, c.b] : [c.b, c.a];
    records.push({
      prompt: c.messages, chosen: [assistant(win)], rejected: [assistant(lose)], comparison_id: c.id,
      labels: ls.map((l) => ({ annotator: l.annotator, choice: l.choice, reasons: l.reasons, note: l.note, at: l.created_at })),
      chosen_model: win.model, rejected_model: lose.model, sampling: c.sampling,
    });
  }
  return { records, ties, bothBad, disagreed };
}
