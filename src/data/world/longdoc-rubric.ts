/**
 * The gold rubric of longdoc answers (docs/longreward.md): four scores in [0, 1] that the world knows
 * the truth of, so a judge's scores can be compared with them.
 *   correctness  — 1 when the boxed answer (or, without a box, the whole final text) equals the gold
 *                  answer after normalisation, else 0;
 *   faithfulness — the share of the answer's statements that the document supports: each sentence of
 *                  the answer is parsed with the longdoc grammar (longdoc-facts.ts) and checked
 *                  against the document's facts (its sentences, pronoun/alias sentences resolved);
 *                  counts are checked by counting those facts. Sentences that state nothing under the
 *                  grammar are not statements; an answer with no statement scores 1 (nothing unfaithful);
 *   completeness — the share of the record's required statements the answer states (same parse);
 *   style        — 1, less 0.5 without exactly one box, less 0.25 when longer than
 *                  3 x the gold answer + 200 characters, less 0.25 when a sentence repeats.
 * `overall` is the mean of the four.
 */
import { splitSentences } from './reading.js';
import { BOX_CLOSE, BOX_OPEN, extractBoxed, finalAnswerText, normalizeAnswer, type ModelResponse } from './verify.js';
import { type LongdocClaim, type LongdocFact, LongdocFacts, claimKey, parseLongdocStatement } from './longdoc-facts.js';
import { type LongdocRecord, longdocGoldAnswer } from './longdoc.js';

export interface LongdocScores {
  correctness: number;
  faithfulness: number;
  completeness: number;
  style: number;
  /** Mean of the four. */
  overall: number;
  /** The answer's parsed statements and whether the document supports each. */
  claims: { statement: string; supported: boolean }[];
}

/** The fact each sentence of a longdoc document states (pronoun and alias sentences resolved), or null. */
export function sentenceFacts(r: Pick<LongdocRecord, 'sentences' | 'resolved'>): (LongdocFact | null)[] {
  const resolved = new Map(r.resolved.map((x) => [x.id, x.statement]));
  return r.sentences.map((s, i) => {
    const c = parseLongdocStatement(resolved.get(i) ?? s);
    return c?.type === 'fact' ? c.fact : null;
  });
}

/** The structured facts a longdoc record's document states (pronoun and alias sentences resolved). */
export function longdocFacts(r: Pick<LongdocRecord, 'sentences' | 'resolved'>): LongdocFacts {
  return new LongdocFacts(sentenceFacts(r).filter((f): f is LongdocFact => f !== null));
}

/** The statements of a text under the longdoc grammar (boxes removed first). */
export function answerClaims(text: string): { statement: string; claim: LongdocClaim }[] {
  const plain = text.split(BOX_OPEN).map((part, i) => (i === 0 ? part : part.slice(part.indexOf(BOX_CLOSE) + BOX_CLOSE.length))).join(' ');
  const out: { statement: string; claim: LongdocClaim }[] = [];
  for (const s of splitSentences(plain)) {
    const claim = parseLongdocStatement(s);
    if (claim) out.push({ statement: s.trim(), claim });
  }
  return out;
}

const cache = new WeakMap<object, LongdocFacts>();

/** Scores `response` to `record` with the gold rubric. */
export function scoreLongdocAnswer(record: LongdocRecord, response: ModelResponse): LongdocScores {
  let facts = cache.get(record);
  if (!facts) {
    facts = longdocFacts(record);
    cache.set(record, facts);
  }
  const text = finalAnswerText(response) ?? '';
  const box = extractBoxed(response);
  const given = box ?? text;
  const correctness = normalizeAnswer(given) === normalizeAnswer(record.answer) ? 1 : 0;
  const parsed = answerClaims(text);
  const claims = parsed.map((p) => ({ statement: p.statement, supported: facts.supports(p.claim) }));
  const faithfulness = claims.length === 0 ? 1 : claims.filter((c) => c.supported).length / claims.length;
  const stated = new Set(parsed.filter((_, i) => claims[i].supported).map((p) => claimKey(p.claim)));
  const required = record.statements.map((s) => parseLongdocStatement(s)).filter((c): c is LongdocClaim => c !== null);
  const completeness = required.length === 0 ? 1 : required.filter((c) => stated.has(claimKey(c))).length / required.length;
  let style = 1;
  if (box === null) style -= 0.5;
  if (text.length > 3 * longdocGoldAnswer(record).length + 200) style -= 0.25;
  const sentences = splitSentences(text).map((s) => s.trim());
  if (new Set(sentences).size < sentences.length) style -= 0.25;
  const overall = (correctness + faithfulness + completeness + style) / 4;
  return { correctness, faithfulness, completeness, style, overall, claims };
}
