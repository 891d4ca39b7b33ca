/**
 * The judge's prompts and the parsers of its answers (docs/longreward.md), one pair per call kind:
 *   helpfulness, logicality — question and answer only; a rating `[[n]]`, n in 0..10 (last match wins);
 *   statements              — the factual statements of an answer, one per line "- ...", or "No statements";
 *   support                 — one statement and the retrieved context: `[[Fully supported]]`,
 *                             `[[Partially supported]]` or `[[Not supported]]` (last match wins) -> 1 / 0.5 / 0;
 *   extract                 — one large chunk with its position: the question-relevant information as
 *                             lines "- ...", or "No relevant information";
 *   coverage                — the collected information and the answer; a rating `[[n]]`.
 * A parser returns null for output it cannot read: the caller retries (src/rewards/longreward/caller.ts).
 * `train-judge` writes transcripts in exactly these formats, so a trained judge answers in them.
 */
import type { ChatMessage } from '../../tokenizer/chat-types.js';

export const CALL_KINDS = ['helpfulness', 'logicality', 'statements', 'support', 'extract', 'coverage'] as const;
export type CallKind = (typeof CALL_KINDS)[number];

export const NO_STATEMENTS = 'No statements';
export const NO_RELEVANT = 'No relevant information';
export const SUPPORT_LABELS = { 'Fully supported': 1, 'Partially supported': 0.5, 'Not supported': 0 } as const;
export type SupportLabel = keyof typeof SUPPORT_LABELS;

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];

export function helpfulnessPrompt(question: string, answer: string): ChatMessage[] {
  return user(
    'Rate how helpful the answer is to the question, from 0 to 10: is it relevant, does it meet the need, is it complete enough, and does it follow the format asked for? You do not see the document the question is about; judge the answer as a reply to the question.\n' +
      `[Question]\n${question}\n[Answer]\n${answer}\n` +
      'Give a short reason, then the rating as [[n]].',
  );
}

export function logicalityPrompt(question: string, answer: string): ChatMessage[] {
  return user(
    'Rate the logic of the answer, from 0 to 10: is it consistent with itself, is its reasoning sound, is its arithmetic right? You do not see the document the question is about.\n' +
      `[Question]\n${question}\n[Answer]\n${answer}\n` +
      'Give a short reason, then the rating as [[n]].',
  );
}

export function statementsPrompt(question: string, answer: string): ChatMessage[] {
  return user(
    'List the factual statements the answer makes, one per line starting with "- ", each a complete sentence that can be checked on its own. ' +
      `Leave out opinions, greetings and restatements of the question. If there are none, write "${NO_STATEMENTS}".\n` +
      `[Question]\n${question}\n[Answer]\n${answer}`,
  );
}

export function supportPrompt(statement: string, context: string): ChatMessage[] {
  return user(
    'Is the statement supported by the context? Answer with one of [[Fully supported]], [[Partially supported]] or [[Not supported]].\n' +
      `[Context]\n${context}\n[Statement]\n${statement}`,
  );
}

export function extractPrompt(question: string, chunk: string, position: string): ChatMessage[] {
  return user(
    `Below is a part of a document (at ${position} of it). List the information in it that is needed to answer the question, one per line starting with "- ". ` +
      `If it holds none, write "${NO_RELEVANT}".\n` +
      `[Document part ${position}]\n${chunk}\n[Question]\n${question}`,
  );
}

export function coveragePrompt(question: string, info: string, answer: string): ChatMessage[] {
  return user(
    'Rate from 0 to 10 how completely the answer covers the information below that is needed to answer the question (each line is labelled with its position in the document).\n' +
      `[Question]\n${question}\n[Information]\n${info}\n[Answer]\n${answer}\n` +
      'Give a short reason, then the rating as [[n]].',
  );
}

/** The last `[[n]]` of a text, n in 0..10 (decimals allowed), or null. */
export function parseRating(text: string): number | null {
  const all = [...text.matchAll(/\[\[\s*(\d+(?:\.\d+)?)\s*\]\]/g)];
  if (all.length === 0) return null;
  const n = Number(all[all.length - 1][1]);
  return n >= 0 && n <= 10 ? n : null;
}

/** The "- " lines of a list answer; [] for the explicit empty answer; null when neither. */
export function parseList(text: string, empty: string): string[] | null {
  const lines = text.split('\n').map((l) => l.trim());
  const items = lines.filter((l) => /^[-*]\s+\S/.test(l)).map((l) => l.replace(/^[-*]\s+/, '').trim());
  if (items.length > 0) return items;
  if (text.toLowerCase().includes(empty.toLowerCase())) return [];
  return null;
}

/** 1 / 0.5 / 0 from the last support label of a text, or null. */
export function parseSupport(text: string): number | null {
  const all = [...text.matchAll(/\[\[\s*(Fully supported|Partially supported|Not supported)\s*\]\]/gi)];
  if (all.length === 0) return null;
  const label = all[all.length - 1][1].toLowerCase();
  const hit = (Object.keys(SUPPORT_LABELS) as SupportLabel[]).find((k) => k.toLowerCase() === label)!;
  return SUPPORT_LABELS[hit];
}

/** The support label of a score (for transcripts). */
export function supportLabel(score: number): SupportLabel {
  return score >= 1 ? 'Fully supported' : score > 0 ? 'Partially supported' : 'Not supported';
}
