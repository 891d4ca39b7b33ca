/**
 * LongReward preference pairs (`glmkit longreward score`, docs/longreward.md): sample K answers per
 * prompt from a policy, score them with the judge, keep prompts with at least `minScored` fully
 * scored answers, and write the best against the worst in TRL's conversational preference format
 * (`prompt` / `chosen` / `rejected`), with the four sub-scores and the judge's rationale of both
 * answers in extra fields (and, for world longdoc prompts, their gold rubric scores). Pairs are
 * appended as each group of prompts is done, so an interrupted run keeps them; the judge cache makes
 * the rerun cheap (the policy's samples are seeded per prompt, so they come back the same).
 */
import { appendFileSync } from 'node:fs';
import { DataError } from '../../errors.js';
import { readJsonl } from '../../data/jsonl.js';
import { type LongdocRecord } from '../../data/world/longdoc.js';
import { scoreLongdocAnswer } from '../../data/world/longdoc-rubric.js';
import { rollout, renderPromptIds } from '../../generation/rollout.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { LongRewardScore, LongRewardScorer } from './scorer.js';
import { countSupport, judgeItem, type SupportCounts } from './world-judge.js';

export interface ScorePrompt {
  /** what the policy is asked */
  prompt: ChatMessage[];
  /** what the judge sees */
  context: string;
  question: string;
  /** world longdoc records: gold scores are added to the pairs */
  record?: LongdocRecord;
  line: number;
}

/**
 * Prompts of a JSONL file: world longdoc records (`document`, `question`, `sentences`, ...), or
 * `{"context", "question", "prompt"?}` (prompt: a string or messages; default context + question).
 */
export function loadScorePrompts(file: string): ScorePrompt[] {
  return readJsonl(file).map(({ value: v, line }) => {
    const where = (field: string) => ({ file, line, field });
    if (typeof v.document === 'string' && Array.isArray(v.sentences) && typeof v.question === 'string' && Array.isArray(v.messages)) {
      const r = v as unknown as LongdocRecord;
      const it = judgeItem(r, '');
      return { prompt: [r.messages[0]], context: it.context, question: it.question, record: r, line };
    }
    if (typeof v.context !== 'string' || v.context.trim() === '') throw new DataError('expected the long context as a non-empty string (or a world longdoc record)', where('context'));
    if (typeof v.question !== 'string' || v.question.trim() === '') throw new DataError('expected the question as a non-empty string', where('question'));
    let prompt: ChatMessage[];
    if (v.prompt === undefined) prompt = [{ role: 'user', content: `${v.context}\n\n${v.question}` }];
    else if (typeof v.prompt === 'string') prompt = [{ role: 'user', content: v.prompt }];
    else if (Array.isArray(v.prompt) && v.prompt.length > 0 && v.prompt.every((m) => m && typeof m === 'object' && typeof (m as ChatMessage).role === 'string')) prompt = v.prompt as ChatMessage[];
    else throw new DataError('expected a string or a list of chat messages', where('prompt'));
    return { prompt, context: v.context, question: v.question, line };
  });
}

export interface ScoreRunOptions {
  k: number;
  minScored: number;
  /**
   * least judge reward gap (0-10 scale) between best and worst for a pair to be written (default 0:
   * every pair but a tie); a small gap is often the judge's noise, not a better answer
   */
  minMargin?: number;
  maxNewTokens: number;
  temperature: number;
  seed: number;
  /** prompts sampled and scored together (default 4) */
  groupSize?: number;
  batchSize?: number;
  /** output files (appended) */
  out: string;
  scoresOut?: string | null;
  log?: (line: string) => void;
}

export interface ScoreRunSummary {
  prompts: number;
  pairs: number;
  dropped_few_scored: number;
  dropped_ties: number;
  /** best - worst under minMargin (ties not counted here) */
  dropped_small_margin: number;
  dropped_too_long: number;
  answers: number;
  failed_answers: number;
  /**
   * World longdoc prompts only: the judge's support labels of the policy's own statements against the
   * world's truth (statements that parse under the longdoc grammar), all and those the document does
   * not support.
   */
  gold_support?: SupportCounts;
}

const dims = (s: LongRewardScore) => ({ helpfulness: s.helpfulness, logicality: s.logicality, faithfulness: s.faithfulness, completeness: s.completeness, reward: s.reward });

/** Samples, scores and writes pairs; returns the counts. */
export async function scorePairs(policy: GlmForCausalLM, tok: Tokenizer, scorer: LongRewardScorer, prompts: readonly ScorePrompt[], o: ScoreRunOptions): Promise<ScoreRunSummary> {
  const sum: ScoreRunSummary = { prompts: prompts.length, pairs: 0, dropped_few_scored: 0, dropped_ties: 0, dropped_small_margin: 0, dropped_too_long: 0, answers: 0, failed_answers: 0 };
  const ctx = policy.config.maxPositionEmbeddings;
  const fits = prompts.filter((p) => {
    const n = renderPromptIds(tok, p.prompt).length;
    if (n + o.maxNewTokens <= ctx) return true;
    sum.dropped_too_long++;
    o.log?.(`longreward score: line ${p.line}: prompt of ${n} tokens + ${o.maxNewTokens} new tokens exceeds the policy's context of ${ctx}; skipped (counted as dropped_too_long)`);
    return false;
  });
  const g = o.groupSize ?? 4;
  for (let s = 0; s < fits.length; s += g) {
    const group = fits.slice(s, s + g);
    const answers: string[][] = group.map(() => []);
    group.forEach((p, i) => {
      const rs = rollout(policy, tok, [p.prompt], { numSamples: o.k, maxNewTokens: o.maxNewTokens, temperature: o.temperature, seed: o.seed + p.line, batchSize: o.batchSize ?? 8 });
      for (const r of rs) answers[i].push(r.parsed.content ?? r.text);
    });
    const items = group.flatMap((p, i) => answers[i].map((a) => ({ context: p.context, question: p.question, answer: a })));
    const scores = await scorer.score(items);
    let at = 0;
    for (const [i, p] of group.entries()) {
      const mine = answers[i].map((a, j) => ({ answer: a, score: scores[at + j] }));
      at += answers[i].length;
      sum.answers += mine.length;
      if (p.record) sum.gold_support = countSupport(p.record, mine.map((m) => m.score), sum.gold_support);
      const ok = mine.filter((m) => m.score.reward !== null);
      sum.failed_answers += mine.length - ok.length;
      if (o.scoresOut) {
        appendFileSync(o.scoresOut, mine.map((m) => JSON.stringify({ line: p.line, answer: m.answer, ...dims(m.score), failures: m.score.failures, ...(p.record ? { gold: scoreLongdocAnswer(p.record, m.answer).overall } : {}) }) + '\n').join(''));
      }
      if (ok.length < o.minScored) {
        sum.dropped_few_scored++;
        continue;
      }
      const best = ok.reduce((a, b) => (b.score.reward! > a.score.reward! ? b : a));
      const worst = ok.reduce((a, b) => (b.score.reward! < a.score.reward! ? b : a));
      if (best.score.reward === worst.score.reward) {
        sum.dropped_ties++;
        continue;
      }
      if (best.score.reward! - worst.score.reward! < (o.minMargin ?? 0)) {
        sum.dropped_small_margin++;
        continue;
      }
      const row: Record<string, unknown> = {
        prompt: p.prompt,
        chosen: [{ role: 'assistant', content: best.answer }],
        rejected: [{ role: 'assistant', content: worst.answer }],
        score_chosen: best.score.reward! / 10,
        score_rejected: worst.score.reward! / 10,
        scores_chosen: dims(best.score),
        scores_rejected: dims(worst.score),
        rationale_chosen: best.score.rationale,
        rationale_rejected: worst.score.rationale,
        n_scored: ok.length,
        source_line: p.line,
      };
      if (p.record) {
        row.gold_chosen = scoreLongdocAnswer(p.record, best.answer).overall;
        row.gold_rejected = scoreLongdocAnswer(p.record, worst.answer).overall;
      }
      appendFileSync(o.out, JSON.stringify(row) + '\n');
      sum.pairs++;
    }
    o.log?.(`longreward score: ${Math.min(s + g, fits.length)}/${fits.length} prompts, ${sum.pairs} pairs`);
  }
  return sum;
}
