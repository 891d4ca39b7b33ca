/**
 * Data of the long-context stage (docs/long-context.md), all from the built-in world's long-document
 * task (`longdoc`: numbered documents of many facts about many people, with needle, multi-hop,
 * aggregation, pronoun and alias questions) and sized in tokens of the model's own tokenizer:
 *   - evaluation items: documents of about L tokens; validation and test draw other seeds than
 *     training, from the world's held-out `test` split;
 *   - continued pre-training sequences: one long document with its question, gold answer and
 *     follow-up questions and answers at the start of each, filled up with the pipeline's ordinary
 *     pre-training documents (packLongSequences);
 *   - long-context SFT chats (the longdoc SFT form: the supporting statements, then the boxed answer;
 *     each follow-up a further turn, as many as fit the context), mixed with a share of the
 *     pipeline's ordinary SFT chats so short-context ability is kept.
 */
import { generateWorldTask, longdocGoldAnswer, type LongdocKind, type LongdocRecord, type VisitStyle } from '../data/world/index.js';
import { ConfigError } from '../errors.js';
import { EOS_TOKEN } from '../tokenizer/special-tokens.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { renderChat } from '../tokenizer/chat.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';

/** The kinds evaluated (and reported) by the stage. */
export const LONG_EVAL_KINDS: readonly LongdocKind[] = ['needle', 'multi_hop', 'aggregation'];
/** The kinds trained on (pronoun and alias questions help reading too). */
export const LONG_TRAIN_KINDS: readonly LongdocKind[] = ['needle', 'multi_hop', 'aggregation', 'pronoun', 'alias'];

const counter = (tok: Tokenizer) => (text: string) => tok.encode(text).length;

/** `n` records per kind with documents of `docTokens` tokens, held out (`test` split) and drawn from `seed`. */
export function evalRecords(n: number, seed: number, tok: Tokenizer, docTokens: number, kinds: readonly LongdocKind[] = LONG_EVAL_KINDS, visitStyle: VisitStyle = 'sentence'): LongdocRecord[] {
  return kinds.flatMap((kind, i) => generateWorldTask('longdoc', { n, seed: seed + 101 * i, split: 'test', docTokens, longdocKinds: [kind], countTokens: counter(tok), longdocVisitStyle: visitStyle }));
}

/**
 * `n` training records (train split) with document lengths spread over [minTokens, maxTokens] in
 * `buckets` steps, so the model reads questions about facts at every distance.
 */
export function trainRecords(n: number, seed: number, tok: Tokenizer, minTokens: number, maxTokens: number, buckets = 4, followUps = 0, visitStyle: VisitStyle = 'sentence'): LongdocRecord[] {
  const lists: LongdocRecord[][] = [];
  for (let b = 0; b < buckets; b++) {
    const count = Math.floor(n / buckets) + (b < n % buckets ? 1 : 0);
    const docTokens = Math.round(minTokens + ((maxTokens - minTokens) * (b + 1)) / buckets);
    lists.push(count === 0 ? [] : generateWorldTask('longdoc', { n: count, seed: seed + 17 * b, split: 'train', docTokens, longdocKinds: [...LONG_TRAIN_KINDS], countTokens: counter(tok), longdocFollowUps: followUps, longdocVisitStyle: visitStyle }));
  }
  const mixed: LongdocRecord[] = []; // round robin over the lengths
  for (let i = 0; i < lists[0].length; i++) for (const l of lists) if (i < l.length) mixed.push(l[i]);
  return mixed;
}

/** Tokens the follow-ups of a text or chat take beyond its document (55-70 per question and answer with the pipeline's tokenizer, a few more in chat form), kept free below the context. */
export function followUpRoom(followUps: number): number {
  return 80 * followUps;
}

/**
 * The length curriculum's bands before the stage's SFT, as fractions of the context L: document
 * tokens from lo * L to hi * L. For L = 4096 they are 819-1638 and 1638-2867 tokens; the SFT
 * then trains on documents from 0.7 * L up to the longest that fits (docs/long-context.md "The pair
 * layout").
 */
export const CURRICULUM_BANDS: readonly (readonly [number, number])[] = [[0.2, 0.4], [0.4, 0.7]];

export interface CurriculumBand {
  minTokens: number;
  maxTokens: number;
  followUps: number;
}

/**
 * The curriculum's bands for context `L`, each with as many follow-up questions (at most
 * `maxFollowUps`) as leave the chat within L after `reserve` tokens of question and template.
 */
export function curriculumBands(L: number, maxFollowUps: number, reserve: number): CurriculumBand[] {
  return CURRICULUM_BANDS.map(([lo, hi]) => {
    const maxTokens = Math.round(hi * L);
    return { minTokens: Math.round(lo * L), maxTokens, followUps: Math.max(0, Math.min(maxFollowUps, Math.floor((L - reserve - maxTokens) / followUpRoom(1)))) };
  });
}

/** The continued pre-training text of a record: the document and question, then the gold answer; then each follow-up question and its answer. */
export function longPretrainText(r: LongdocRecord): string {
  // a follow-up is asked by its question alone: the document and the instruction are already in context
  const more = (r.follow_ups ?? []).map((f) => `\n\n${f.question}\n${longdocGoldAnswer(f)}`);
  return `${r.messages[0].content}\n${longdocGoldAnswer(r)}${more.join('')}`;
}

/**
 * Continued pre-training sequences of L + 1 tokens, one per long record: the record's text
 * (longPretrainText, with trailing follow-ups dropped until it fits) starts the sequence, never split
 * across two (an answer whose document is cut off would teach guessing), and ordinary short documents
 * fill the rest, taken in order from `shortTexts`.
 */
export function packLongSequences(records: readonly LongdocRecord[], shortTexts: readonly string[], tok: Tokenizer, L: number): Int32Array[] {
  const eos = tok.requireId(EOS_TOKEN);
  let si = 0;
  let pending: number[] = [];
  return records.map((r, i) => {
    let follow = r.follow_ups ?? [];
    let ids = tok.encode(longPretrainText(r));
    while (ids.length + 1 > L + 1 && follow.length > 0) {
      follow = follow.slice(0, -1);
      ids = tok.encode(longPretrainText({ ...r, follow_ups: follow }));
    }
    if (ids.length + 1 > L + 1) throw new ConfigError(`longctx: long training record ${i} has ${ids.length} tokens, more than the context ${L}; its document target is too long`);
    const seq = [...ids, eos];
    while (seq.length < L + 1) {
      if (pending.length === 0) {
        if (si >= shortTexts.length) throw new ConfigError(`longctx: ${shortTexts.length} ordinary documents are too few to fill ${records.length} sequences of ${L} tokens; raise pretrain_docs`);
        pending = [...tok.encode(shortTexts[si++]), eos];
      }
      const take = Math.min(pending.length, L + 1 - seq.length);
      seq.push(...pending.slice(0, take));
      pending = pending.slice(take);
    }
    return Int32Array.from(seq);
  });
}

/**
 * The long-context SFT chat of a record (direct mode: the supporting statements, then the boxed
 * answer); each follow-up adds a user turn with its question alone and an assistant turn with its
 * answer, so one read of the document trains several answers.
 */
export function longSftChat(r: LongdocRecord): Record<string, unknown> {
  const more = (r.follow_ups ?? []).flatMap((f) => [{ role: 'user', content: f.question }, { role: 'assistant', content: longdocGoldAnswer(f) }]);
  return { messages: [...r.messages, ...more], enable_thinking: false };
}

/**
 * longSftChat with as many of the record's follow-ups as leave the rendered chat within `maxTokens`
 * (the SFT drops longer chats): a document as long as the evaluation's keeps its first question
 * and loses trailing follow-ups instead. Throws when the first question alone does not fit.
 */
export function fittedLongSftChat(r: LongdocRecord, tok: Tokenizer, maxTokens: number): Record<string, unknown> {
  let follow = r.follow_ups ?? [];
  for (;;) {
    const chat = longSftChat({ ...r, follow_ups: follow });
    const n = renderChat(tok, { messages: chat.messages as ChatMessage[], enable_thinking: false }).ids.length - 1; // a chat of n + 1 ids is n training positions
    if (n <= maxTokens) return chat;
    if (follow.length === 0) throw new ConfigError(`longctx: a long training chat of ${n} tokens (a document of ${r.doc_tokens}) does not fit the context ${maxTokens}; its document target is too long`);
    follow = follow.slice(0, -1);
  }
}

/**
 * Interleaves `a` and `b` so that `b` makes up about `shareB` of the result (deterministic: the
 * i-th output takes from b when floor((i+1) * shareB) grows).
 */
export function interleave<T>(a: readonly T[], b: readonly T[], shareB: number): T[] {
  const out: T[] = [];
  let ia = 0, ib = 0;
  for (let i = 0; ia < a.length || ib < b.length; i++) {
    const takeB = Math.floor((i + 1) * shareB) > Math.floor(i * shareB);
    if ((takeB && ib < b.length) || ia >= a.length) out.push(b[ib++]);
    else out.push(a[ia++]);
  }
  return out;
}
