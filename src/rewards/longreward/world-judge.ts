/**
 * A judge for the built-in world (docs/longreward.md "train-judge"): the world knows the truth of its
 * long documents, so for any answer it can write what an ideal judge says in each of the judge's
 * prompts (prompts.ts) — the answer's statements, the support label of each, the question-relevant
 * facts of each chunk and the four ratings. `candidateAnswers` makes answers of spread quality for a
 * longdoc record (gold, wrong final answer, a hallucinated fact, missing facts, no box, rambling, an
 * irrelevant fact); `judgeTranscripts` turns them into SFT chats in the judge's exact formats, and
 * `judgeAgreement` compares a judge's scores with the gold ones (Spearman per dimension, accuracy
 * of support labels, agreement on which of two answers is better).
 *
 * Gold targets, from the gold rubric (src/data/world/longdoc-rubric.ts, each in [0, 1]):
 *   helpfulness = 10 x mean(correctness, completeness, style);  logicality = 10 x mean(correctness, faithfulness);
 *   faithfulness = 10 x faithfulness;  completeness (coverage rating) = 10 x completeness; ratings rounded.
 */
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { spearman } from '../../embed/data.js';
import { answerClaims, longdocFacts, scoreLongdocAnswer, sentenceFacts } from '../../data/world/longdoc-rubric.js';
import { type LongdocRecord, longdocGoldAnswer, longdocPrompt } from '../../data/world/longdoc.js';
import { type LongdocClaim, type LongdocFact, factKey, parseLongdocStatement } from '../../data/world/longdoc-facts.js';
import type { WorldRng } from '../../data/world/rng.js';
import { boxed } from '../../data/world/verify.js';
import { type Chunk, chunkDocument, ChunkRetriever } from './chunks.js';
import {
  NO_RELEVANT, NO_STATEMENTS, coveragePrompt, extractPrompt, helpfulnessPrompt, logicalityPrompt, statementsPrompt, supportLabel, supportPrompt,
} from './prompts.js';
import { DIMENSIONS, type Dimension, type LongRewardScore, collectInfo } from './scorer.js';

export const CANDIDATE_KINDS = ['gold', 'wrong_answer', 'hallucinated', 'partial', 'bare', 'no_box', 'rambling', 'irrelevant'] as const;
export type CandidateKind = (typeof CANDIDATE_KINDS)[number];

export interface GoldJudgement {
  helpfulness: number;
  logicality: number;
  faithfulness: number;
  completeness: number;
  /** mean of the four (0..10) */
  reward: number;
  statements: { statement: string; support: number }[];
}

/** The judge's view of a longdoc record: context = document, question = question + instruction. */
export function judgeItem(r: LongdocRecord, answer: string): { context: string; question: string; answer: string } {
  const prompt = longdocPrompt(r);
  return { context: r.document, question: prompt.slice(r.document.length).trim(), answer };
}

/** An answer of the given kind to a longdoc record (deterministic for the rng state). */
export function candidateAnswer(rng: WorldRng, r: LongdocRecord, kind: CandidateKind): string {
  const st = r.statements;
  const wrong = (a: string) => (/^\d+$/.test(a) ? String(Number(a) + rng.int(1, 3)) : rng.pick(['Brightwater', 'Oakridge', 'Stonebrook', 'Millford', 'Ashvale', 'Redcliff', 'Pinehurst', 'Larkspur', 'Dunmore', 'Fairhaven', 'Glenrock', 'Westmarsh'].filter((t) => t !== a)));
  switch (kind) {
    case 'gold': return longdocGoldAnswer(r);
    case 'wrong_answer': return `${st.join(' ')} ${boxed(wrong(r.answer))}`;
    case 'hallucinated': {
      const bad = wrong(r.answer);
      const i = st.findIndex((s) => s.includes(r.answer));
      const lie = i >= 0 ? st[i].split(r.answer).join(bad) : `${st[0]}`;
      return `${st.filter((_, j) => j !== i).join(' ')} ${lie} ${boxed(bad)}`.trim();
    }
    case 'partial': return `${st.slice(0, Math.max(0, Math.floor(st.length / 2))).join(' ')} ${boxed(r.answer)}`.trim();
    case 'bare': return boxed(r.answer);
    case 'no_box': return `${st.join(' ')} The answer is ${r.answer}.`;
    case 'rambling': return `${st.join(' ')} ${'I read the whole document very carefully. '.repeat(rng.int(10, 20))}${boxed(r.answer)}`;
    case 'irrelevant': {
      const other = r.sentences.filter((s) => { // visits stated by name (not by pronoun or alias), either visit style
        const c = parseLongdocStatement(s);
        return c?.type === 'fact' && c.fact.relation === 'visited';
      });
      return `${other.length > 0 ? rng.pick(other) : ''} ${boxed(wrong(r.answer))}`.trim();
    }
  }
}

/** What an ideal judge concludes about `answer` (the world's truth). */
export function goldJudgement(r: LongdocRecord, answer: string): GoldJudgement {
  const g = scoreLongdocAnswer(r, answer);
  const helpfulness = Math.round((10 * (g.correctness + g.completeness + g.style)) / 3);
  const logicality = Math.round((10 * (g.correctness + g.faithfulness)) / 2);
  const faithfulness = 10 * g.faithfulness;
  const completeness = Math.round(10 * g.completeness);
  return { helpfulness, logicality, faithfulness, completeness, reward: (helpfulness + logicality + faithfulness + completeness) / 4, statements: g.claims.map((c) => ({ statement: c.statement, support: c.supported ? 1 : 0 })) };
}

export interface TranscriptOptions {
  faithChunkTokens: number;
  compChunkTokens: number;
  topK: number;
  countTokens: (s: string) => number;
}

const chat = (messages: ChatMessage[], reply: string): { messages: ChatMessage[] } => ({ messages: [...messages, { role: 'assistant', content: reply }] });

/** SFT chats teaching a judge every call kind on `answers` to `r` (ideal outputs in the parsers' formats). */
export async function judgeTranscripts(r: LongdocRecord, answers: readonly string[], opts: TranscriptOptions): Promise<{ messages: ChatMessage[] }[]> {
  const out: { messages: ChatMessage[] }[] = [];
  const facts = longdocFacts(r);
  const resolved = new Map(r.resolved.map((x) => [x.id, x.statement]));
  // extraction: the support sentences of each large chunk (shared by the answers)
  const q = judgeItem(r, '').question;
  let offset = 0;
  const starts = r.sentences.map((s, i) => {
    const at = r.document.indexOf(`[${i + 1}] ${s}`, offset);
    offset = at + 1;
    return at;
  });
  const bigChunks = chunkDocument(r.document, opts.compChunkTokens, opts.countTokens);
  const lists = bigChunks.map((c) => r.support.filter((i) => starts[i] >= c.start && starts[i] < c.end).map((i) => resolved.get(i) ?? r.sentences[i]));
  bigChunks.forEach((c, k) => out.push(chat(extractPrompt(q, c.text, c.position), lists[k].length === 0 ? `${NO_RELEVANT}.` : lists[k].map((x) => `- ${x}`).join('\n'))));
  const info = collectInfo(bigChunks, lists);
  const faithChunks = chunkDocument(r.document, opts.faithChunkTokens, opts.countTokens);
  const retriever = new ChunkRetriever(null);
  const docFacts = sentenceFacts(r);
  const stated = new Set<string>();
  for (const a of answers) {
    const g = goldJudgement(r, a);
    const item = judgeItem(r, a);
    out.push(chat(helpfulnessPrompt(item.question, a), `The answer is ${g.helpfulness >= 7 ? 'helpful' : g.helpfulness >= 4 ? 'partly helpful' : 'not helpful'}. [[${g.helpfulness}]]`));
    out.push(chat(logicalityPrompt(item.question, a), `The reasoning is ${g.logicality >= 7 ? 'sound' : 'flawed'}. [[${g.logicality}]]`));
    const claims = answerClaims(a).map((c) => c.statement);
    for (const c of claims) stated.add(c);
    out.push(chat(statementsPrompt(item.question, a), claims.length === 0 ? `${NO_STATEMENTS}.` : claims.map((s) => `- ${s}`).join('\n')));
    out.push(...(await supportChats(claims)));
    out.push(chat(coveragePrompt(item.question, info, a), `The answer covers ${g.completeness >= 10 ? 'all' : g.completeness > 0 ? 'part' : 'none'} of the information. [[${g.completeness}]]`));
  }
  // near misses: each supported fact the answers state, with a neighbouring entry's value (the policy's kind of mistake)
  out.push(...(await supportChats(nearMisses(r, [...stated]))));
  return out;

  async function supportChats(statements: readonly string[]): Promise<{ messages: ChatMessage[] }[]> {
    const picks = await retriever.retrieve(statements.map((s) => ({ query: s, chunks: faithChunks })), opts.topK);
    return statements.map((s, j) => {
      const c = parseLongdocStatement(s);
      const supported = c !== null && facts.supports(c);
      const context = picks[j].map((k) => faithChunks[k]);
      return chat(supportPrompt(s, context.map((x) => x.text).join('\n')), supportReply(r, docFacts, c, supported, context));
    });
  }
}

/** Whether two facts ask the same thing (subject and relation, and the day of a visit; friendship either way). */
function sameKeys(a: LongdocFact, b: LongdocFact): boolean {
  if (a.relation !== b.relation) return false;
  if (a.relation === 'friend_of') return [a.subject, a.object].includes(b.subject);
  return a.subject === b.subject && a.day === b.day;
}

/**
 * The transcript's support answer: the context's entry for the statement's keys, the statement's
 * value said again with "too" or "instead", then the label (`The context says: On day 21, she
 * Ashvale. The statement says Redcliff instead. [[Not supported]]`). The tiny judge looks the entry
 * up as it learnt to in pre-training, and the value written just after it makes the comparison one of
 * two nearby words. The entry is the supporting sentence when the retrieved chunks hold it, else one
 * with the same keys; a statement whose entry the chunks do not hold, and a count, get the label
 * alone. The label is the world's truth.
 */
export function supportReply(r: LongdocRecord, docFacts: readonly (LongdocFact | null)[], c: LongdocClaim | null, supported: boolean, context: readonly Chunk[]): string {
  const label = `[[${supportLabel(supported ? 1 : 0)}]]`;
  if (c?.type !== 'fact') return label;
  const ids = context.flatMap((x) => [...x.text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]) - 1)).filter((i) => docFacts[i]);
  const key = factKey(c.fact);
  const exact = ids.find((i) => factKey(docFacts[i]!) === key);
  const near = ids.find((i) => sameKeys(c.fact, docFacts[i]!));
  const entry = supported ? exact : (exact ?? near);
  return entry === undefined ? label : `The context says: ${r.sentences[entry]} The statement says ${c.fact.object} ${supported ? 'too' : 'instead'}. ${label}`;
}

/**
 * Unsupported variants of the supported facts among `statements`: the object replaced by the one of
 * the nearest document sentence of the same relation that states another (a visit of the same
 * person on another day, another person's town); variants the document happens to support are left out.
 */
export function nearMisses(r: LongdocRecord, statements: readonly string[]): string[] {
  const facts = longdocFacts(r);
  const docFacts = sentenceFacts(r);
  const out: string[] = [];
  for (const s of statements) {
    const c = parseLongdocStatement(s);
    if (c?.type !== 'fact' || !facts.supports(c)) continue;
    const at = docFacts.findIndex((f) => f !== null && factKey(f) === factKey(c.fact));
    if (at < 0) continue;
    let best = -1;
    docFacts.forEach((f, i) => {
      if (f && f.relation === c.fact.relation && f.object !== c.fact.object && !s.includes(f.object) && (best < 0 || Math.abs(i - at) < Math.abs(best - at))) best = i;
    });
    if (best < 0) continue;
    const variant = s.split(c.fact.object).join(docFacts[best]!.object);
    const v = parseLongdocStatement(variant);
    if (v && !facts.supports(v)) out.push(variant);
  }
  return out;
}

export interface AgreementReport {
  n: number;
  /** Spearman of judge vs gold per dimension and for the reward (answers the judge scored fully) */
  spearman: Record<Dimension | 'reward', number>;
  /** share of the judge's support labels equal to the truth (statements that parse) */
  support_accuracy: number;
  support_labels: number;
  /** share of answers with a recorded failure */
  failure_rate: number;
  /** per record: does the judge's best-vs-worst order agree with the gold order (ties in gold skipped) */
  order_agreement: number;
  order_pairs: number;
}

/** The judge's support labels checked against the world's truth: all, and those of statements the document does not support. */
export interface SupportCounts {
  labels: number;
  right: number;
  unsupported: number;
  unsupported_right: number;
}

export const emptySupportCounts = (): SupportCounts => ({ labels: 0, right: 0, unsupported: 0, unsupported_right: 0 });

/** Adds to `into` the support labels in `scores` (answers to `record`) of statements that parse under the longdoc grammar. */
export function countSupport(record: LongdocRecord, scores: readonly LongRewardScore[], into: SupportCounts = emptySupportCounts()): SupportCounts {
  const facts = longdocFacts(record);
  for (const s of scores) {
    for (const st of s.rationale.statements ?? []) {
      const c = parseLongdocStatement(st.statement);
      if (!c || st.support === null) continue;
      const truth = facts.supports(c) ? 1 : 0;
      into.labels++;
      if (st.support === truth) into.right++;
      if (truth === 0) {
        into.unsupported++;
        if (st.support === 0) into.unsupported_right++;
      }
    }
  }
  return into;
}

/** Agreement of judge scores with the gold ones; `groups` gives the answers (indices) of each record. */
export function judgeAgreement(records: readonly LongdocRecord[], answers: readonly string[], recordOf: readonly number[], scores: readonly LongRewardScore[]): AgreementReport {
  const gold = answers.map((a, i) => goldJudgement(records[recordOf[i]], a));
  const ok = scores.map((s, i) => (s.reward !== null ? i : -1)).filter((i) => i >= 0);
  const sp = {} as Record<Dimension | 'reward', number>;
  for (const d of [...DIMENSIONS, 'reward'] as const) sp[d] = ok.length >= 3 ? spearman(ok.map((i) => scores[i][d] as number), ok.map((i) => gold[i][d])) : NaN;
  const support = emptySupportCounts();
  scores.forEach((s, i) => countSupport(records[recordOf[i]], [s], support));
  const { right, labels } = support;
  let agree = 0, pairs = 0;
  for (let r = 0; r < records.length; r++) {
    const idx = ok.filter((i) => recordOf[i] === r);
    if (idx.length < 2) continue;
    const best = idx.reduce((a, b) => (scores[b].reward! > scores[a].reward! ? b : a));
    const worst = idx.reduce((a, b) => (scores[b].reward! < scores[a].reward! ? b : a));
    if (best === worst || gold[best].reward === gold[worst].reward) continue;
    pairs++;
    if (gold[best].reward > gold[worst].reward) agree++;
  }
  return {
    n: answers.length, spearman: sp, support_accuracy: labels ? right / labels : NaN, support_labels: labels,
    failure_rate: answers.length ? scores.filter((s) => s.reward === null).length / answers.length : 0, order_agreement: pairs ? agree / pairs : NaN, order_pairs: pairs,
  };
}
