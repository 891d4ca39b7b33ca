/**
 * Rejection sampling for expert distillation (GLM-4.5's expert iteration): which of the experts'
 * samples become training data for the unified student.
 *
 *   verifiable domains (reasoning, tool use): keep a sample only when the verifier says it is right;
 *   scored domains (chat): keep a sample whose reward-model score is at least the domain's
 *     `scoreQuantile` quantile of all its samples' scores (and above `minScore`);
 *   every domain: drop a sample that is not well formed (a malformed tool call, a response cut at
 *     the token limit, an empty answer), then keep one copy of each (prompt, response) text.
 */
import type { ChatMessage } from '../../tokenizer/chat-types.js';

export interface DistillSample {
  domain: string;
  /** the prompt's index within its domain */
  prompt: number;
  /** the prompt messages, then the expert's turns (transcript) */
  messages: ChatMessage[];
  tools?: unknown[];
  /** the verifier's verdict (verifiable domains), else null */
  correct: boolean | null;
  /** the reward model's score (scored domains), else null */
  score: number | null;
  /** false for a malformed tool call, a response cut at the token limit, or an empty answer */
  wellFormed: boolean;
}

export interface FilterRule {
  /** scored domains: keep samples scoring at least this quantile of the domain's scores (0..1) */
  scoreQuantile: number;
  /** scored domains: and at least this score */
  minScore: number;
}

export interface FilterStats {
  samples: number;
  malformed: number;
  wrong: number;
  below_quantile: number;
  duplicates: number;
  kept: number;
  /** the score threshold of each scored domain */
  thresholds: Record<string, number>;
}

/** The q-quantile of xs (linear interpolation between order statistics; NaN when empty). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = Math.min(Math.max(q, 0), 1) * (s.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Whitespace- and case-normalised text of the turns after the prompt: the deduplication key's tail. */
function responseKey(s: DistillSample, promptLength: number): string {
  const norm = (t: string) => t.replace(/\s+/g, ' ').trim().toLowerCase();
  return s.messages
    .slice(promptLength)
    .map((m) => `${m.role}:${norm(m.reasoning_content ?? '')}|${norm(m.content ?? '')}|${JSON.stringify(m.tool_calls ?? [])}`)
    .join('\n');
}

/**
 * Applies the rule to one round's samples (any mix of domains). `promptLength(s)` is the number of
 * prompt messages of a sample (the rest are the expert's). Returns the kept samples, in input order.
 */
export function rejectionFilter(samples: readonly DistillSample[], rule: FilterRule, promptLength: (s: DistillSample) => number): { kept: DistillSample[]; stats: FilterStats } {
  const stats: FilterStats = { samples: samples.length, malformed: 0, wrong: 0, below_quantile: 0, duplicates: 0, kept: 0, thresholds: {} };
  for (const d of new Set(samples.filter((s) => s.score !== null).map((s) => s.domain))) {
    const scores = samples.filter((s) => s.domain === d && s.wellFormed && s.score !== null).map((s) => s.score as number);
    stats.thresholds[d] = Math.max(rule.minScore, quantile(scores, rule.scoreQuantile));
  }
  const seen = new Set<string>();
  const kept: DistillSample[] = [];
  for (const s of samples) {
    if (!s.wellFormed) {
      stats.malformed++;
      continue;
    }
    if (s.correct === false) {
      stats.wrong++;
      continue;
    }
    if (s.score !== null && !(s.score >= stats.thresholds[s.domain])) {
      stats.below_quantile++;
      continue;
    }
    const key = `${s.domain}\u0000${s.prompt}\u0000${responseKey(s, promptLength(s))}`;
    if (seen.has(key)) {
      stats.duplicates++;
      continue;
    }
    seen.add(key);
    kept.push(s);
  }
  stats.kept = kept.length;
  return { kept, stats };
}
