/**
 * Data of the long-context stage (docs/long-context.md), all from the built-in world's long-document
 * task (`longdoc`: numbered documents of many facts about many people, with needle, multi-hop,
 * aggregation, pronoun and alias questions) and sized in tokens of the model's own tokenizer:
 *   - evaluation items: documents of about L tokens; validation and test draw other seeds than
 *     training, from the world's held-out `test` split;
 *   - continued pre-training text: long documents followed by their question and gold answer,
 *     interleaved with the pipeline's ordinary pre-training documents (packed to the new length);
 *   - long-context SFT chats (the longdoc SFT form: the supporting statements, then the boxed answer),
 *     mixed with a share of the pipeline's ordinary SFT chats so short-context ability is kept.
 */
import { generateWorldTask, longdocGoldAnswer, type LongdocKind, type LongdocRecord } from '../data/world/index.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** The kinds evaluated (and reported) by the stage. */
export const LONG_EVAL_KINDS: readonly LongdocKind[] = ['needle', 'multi_hop', 'aggregation'];
/** The kinds trained on (pronoun and alias questions help reading too). */
export const LONG_TRAIN_KINDS: readonly LongdocKind[] = ['needle', 'multi_hop', 'aggregation', 'pronoun', 'alias'];

const counter = (tok: Tokenizer) => (text: string) => tok.encode(text).length;

/** `n` records per kind with documents of `docTokens` tokens, held out (`test` split) and drawn from `seed`. */
export function evalRecords(n: number, seed: number, tok: Tokenizer, docTokens: number, kinds: readonly LongdocKind[] = LONG_EVAL_KINDS): LongdocRecord[] {
  return kinds.flatMap((kind, i) => generateWorldTask('longdoc', { n, seed: seed + 101 * i, split: 'test', docTokens, longdocKinds: [kind], countTokens: counter(tok) }));
}

/**
 * `n` training records (train split) with document lengths spread over [minTokens, maxTokens] in
 * `buckets` steps, so the model reads questions about facts at every distance.
 */
export function trainRecords(n: number, seed: number, tok: Tokenizer, minTokens: number, maxTokens: number, buckets = 4): LongdocRecord[] {
  const lists: LongdocRecord[][] = [];
  for (let b = 0; b < buckets; b++) {
    const count = Math.floor(n / buckets) + (b < n % buckets ? 1 : 0);
    const docTokens = Math.round(minTokens + ((maxTokens - minTokens) * (b + 1)) / buckets);
    lists.push(count === 0 ? [] : generateWorldTask('longdoc', { n: count, seed: seed + 17 * b, split: 'train', docTokens, longdocKinds: [...LONG_TRAIN_KINDS], countTokens: counter(tok) }));
  }
  const mixed: LongdocRecord[] = []; // round robin over the lengths
  for (let i = 0; i < lists[0].length; i++) for (const l of lists) if (i < l.length) mixed.push(l[i]);
  return mixed;
}

/** The continued pre-training text of a record: the document and question, then the gold answer. */
export function longPretrainText(r: LongdocRecord): string {
  return `${r.messages[0].content}\n${longdocGoldAnswer(r)}`;
}

/** The long-context SFT chat of a record (direct mode: the supporting statements, then the boxed answer). */
export function longSftChat(r: LongdocRecord): Record<string, unknown> {
  return { messages: r.messages, enable_thinking: false };
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
