/**
 * Question -> declarative prefix for SEQA (docs/embeddings.md "SEQA"): the voters are sampled as
 * continuations of a statement, so a question is rewritten into the start of one.
 *   - COPA-style records {premise, question: "cause" | "effect"}: the premise without its final mark,
 *     then " because" (cause) or " so" (effect);
 *   - SocialIQA-style questions about a person X ("What will X want to do next?", "How would X feel
 *     afterwards?", ...): the context, then a statement start such as "As a result, X wanted to".
 * A record with its own `prefix` (the world's mcq records) keeps it.
 */
import { DataError } from '../errors.js';

/** Sentence-final punctuation dropped, whitespace trimmed. */
function clause(text: string): string {
  return text.trim().replace(/[.!?]+$/, '');
}

/** The COPA prefix of a premise: "<premise> because" for a cause, "<premise> so" for an effect. */
export function copaPrefix(premise: string, kind: 'cause' | 'effect'): string {
  return `${clause(premise)} ${kind === 'cause' ? 'because' : 'so'}`;
}

/** SocialIQA question shapes and the statement start each becomes ($1: the person or "others"). */
const SOCIAL_TEMPLATES: readonly [RegExp, string][] = [
  [/^what will (.+?) want to do next\??$/i, 'As a result, $1 wanted to'],
  [/^what will (.+?) want to do\??$/i, 'As a result, $1 wanted to'],
  [/^what will happen to (.+?)\??$/i, 'As a result, $1 will'],
  [/^what will (.+?) do next\??$/i, 'Then $1 will'],
  [/^how would (.+?) feel (?:afterwards|after|as a result)\??$/i, 'As a result, $1 felt'],
  [/^how would (.+?) feel\??$/i, '$1 felt'],
  [/^what does (.+?) need to do before(?: this)?\??$/i, 'Before that, $1 needed to'],
  [/^why did (.+?) do (?:this|that)\??$/i, '$1 did this because $1 wanted to'],
  [/^how would you describe (.+?)\??$/i, '$1 is seen as'],
];

/** The statement start of a SocialIQA-style question, or null when no template matches. */
export function socialPrefix(question: string): string | null {
  const q = question.trim();
  for (const [re, out] of SOCIAL_TEMPLATES) {
    const m = re.exec(q);
    if (m) return out.replace(/\$1/g, m[1]).replace(/^./, (c) => c.toUpperCase());
  }
  return null;
}

/**
 * The prefix of a question record: its `prefix`; a COPA record's premise + because/so; a social
 * question's context + statement start. `where` names the file and line on error.
 */
export function questionPrefix(rec: Record<string, unknown>, where: { file?: string; line?: number } = {}): string {
  const str = (k: string) => (typeof rec[k] === 'string' && (rec[k] as string).trim() !== '' ? (rec[k] as string) : null);
  const own = str('prefix');
  if (own !== null) return own;
  const premise = str('premise'), question = str('question');
  if (premise !== null) {
    const kind = question?.trim().toLowerCase();
    if (kind !== 'cause' && kind !== 'effect') throw new DataError(`a COPA-style record needs "question": "cause" or "effect", got ${JSON.stringify(rec.question)}`, { ...where, field: 'question' });
    return copaPrefix(premise, kind);
  }
  if (question !== null) {
    const start = socialPrefix(question);
    if (start === null) {
      throw new DataError(`no "prefix" and no rewrite template fits the question ${JSON.stringify(question)}; give the record a declarative "prefix" (e.g. "As a result, Alex wanted to")`, { ...where, field: 'prefix' });
    }
    const context = str('context');
    return context !== null ? `${context.trim()} ${start}` : start;
  }
  throw new DataError('expected a "prefix", a COPA "premise" with "question": "cause"|"effect", or a "question" (with an optional "context")', { ...where, field: 'prefix' });
}
