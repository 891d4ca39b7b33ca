/**
 * Verifiers for the world's tasks. A model wraps its final answer as
 * `<|begin_of_box|>ANSWER<|end_of_box|>` (docs/methods.md §2); only that boxed part, in the final answer (never
 * in the reasoning), is compared with the reference. The rules are strict on purpose (docs/methods.md §6.3: one
 * weak verifier can collapse RL): several boxes, an empty box, an unclosed or nested box, or a box only
 * inside the thinking part all score as wrong.
 */

export const BOX_OPEN = '<|begin_of_box|>';
export const BOX_CLOSE = '<|end_of_box|>';

/** A model response: raw generated text (possibly with `<think>...</think>`) or a parsed message. */
export type ModelResponse = string | { content: string | null; reasoning_content?: string | null };

/** Wraps an answer in the box markers. */
export function boxed(answer: string | number): string {
  return `${BOX_OPEN}${answer}${BOX_CLOSE}`;
}

/**
 * The final-answer part of a response: for a message, its `content`; for raw text, what follows the
 * last `</think>`. Raw text that opens `<think>` and never closes it has no final answer (null).
 */
export function finalAnswerText(response: ModelResponse): string | null {
  let text: string | null;
  if (typeof response === 'string') text = response;
  else if (response && typeof response === 'object') text = response.content ?? '';
  else return null;
  const close = text.lastIndexOf('</think>');
  if (close >= 0) return text.slice(close + '</think>'.length);
  if (text.includes('<think>')) return null; // reasoning never finished: nothing was answered
  return text;
}

/**
 * The one boxed answer of a response, trimmed, or null when there is not exactly one well-formed,
 * non-empty box in the final answer.
 */
export function extractBoxed(response: ModelResponse): string | null {
  const text = finalAnswerText(response);
  if (text === null) return null;
  const open = text.indexOf(BOX_OPEN);
  if (open < 0) return null;
  const close = text.indexOf(BOX_CLOSE, open + BOX_OPEN.length);
  if (close < 0) return null;
  const inner = text.slice(open + BOX_OPEN.length, close);
  if (inner.includes(BOX_OPEN)) return null; // nested box
  const rest = text.slice(close + BOX_CLOSE.length);
  if (rest.includes(BOX_OPEN) || rest.includes(BOX_CLOSE)) return null; // a second box
  if (text.slice(0, open).includes(BOX_CLOSE)) return null; // stray closer before the box
  const answer = inner.trim();
  return answer.length > 0 ? answer : null;
}

/** Parses an integer answer strictly: optional sign, digits, optional thousands commas. */
export function parseIntegerAnswer(s: string): bigint | null {
  const t = s.trim().replace(/\.$/, '').replace(/^\u2212/, '-');
  if (/^[-+]?\d+$/.test(t)) return BigInt(t);
  if (/^[-+]?\d{1,3}(,\d{3})+$/.test(t)) return BigInt(t.replace(/,/g, ''));
  return null;
}

/** True iff the response's single boxed answer is the integer `answer`. */
export function verifyArithmetic(response: ModelResponse, answer: string | number | bigint): boolean {
  const got = extractBoxed(response);
  if (got === null) return false;
  const value = parseIntegerAnswer(got);
  const want = typeof answer === 'bigint' ? answer : parseIntegerAnswer(String(answer));
  if (want === null) throw new RangeError(`verifyArithmetic: reference answer ${answer} is not an integer`);
  return value !== null && value === want;
}

/** Normalises a short text answer: lower case, no surrounding space/punctuation, no leading article. */
export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[\s"'“”]+|[\s"'“”.!?,;:]+$/g, '')
    .replace(/^(the|a|an) /, '')
    .trim();
}

/** True iff the single boxed answer equals `answer` after `normalizeAnswer`. */
export function verifyExact(response: ModelResponse, answer: string): boolean {
  const got = extractBoxed(response);
  return got !== null && normalizeAnswer(got) === normalizeAnswer(answer);
}

/** The letter of choice i (0 -> "A"). */
export function choiceLetter(i: number): string {
  return String.fromCharCode(65 + i);
}

/**
 * True iff the single boxed answer names choice `answerIndex`: its letter ("B", "(B)", "B.") or its
 * text (normalised). A box naming several choices is wrong.
 */
export function verifyChoice(response: ModelResponse, answerIndex: number, choices: readonly string[]): boolean {
  const got = extractBoxed(response);
  if (got === null) return false;
  const letter = /^\(?([A-Za-z])\)?[.:]?$/.exec(got.trim());
  if (letter) return letter[1].toUpperCase() === choiceLetter(answerIndex);
  const norm = normalizeAnswer(got);
  const matches = choices.map((c, i) => (normalizeAnswer(c) === norm ? i : -1)).filter((i) => i >= 0);
  return matches.length === 1 && matches[0] === answerIndex;
}
