/**
 * Verifiable rewards (docs/methods.md §6.3, GLM-4.1V's reward system): strict checks that map a model response
 * to a reward in [0, 1]. One weak verifier can collapse RL for every domain, so each check refuses
 * anything ambiguous rather than guessing:
 *
 * - the answer is the one `<|begin_of_box|>...<|end_of_box|>` of the final answer (after `</think>`);
 *   several boxes, an empty box, a nested or unclosed box, or a box only inside the reasoning -> null;
 * - in GLM-4.1V's format, `<think>...</think><answer>...</answer>`, only the box inside the one
 *   `<answer>` block counts (a missing `</answer>` is allowed: generation may stop on it); a box
 *   outside the block, several blocks or a stray `</answer>` -> null;
 * - clock times are H:MM with H in 1..12 (a leading zero allowed);
 * - numbers are parsed strictly (sign, digits, optional thousands commas, decimals, exponent, a/b);
 *   NaN, Infinity, more than `MAX_NUMBER_CHARS` characters or several numbers in one box -> no match;
 * - tool calls match only when the name and every argument (no more, no fewer) are equal.
 */

export const BOX_OPEN = '<|begin_of_box|>';
export const BOX_CLOSE = '<|end_of_box|>';
export const ANSWER_OPEN = '<answer>';
export const ANSWER_CLOSE = '</answer>';
/** Longest number text a numeric verifier accepts (a wall of digits is not an answer). */
export const MAX_NUMBER_CHARS = 64;

/** A response: raw generated text (maybe with `<think>...</think>`) or a parsed assistant message. */
export type Response = string | { content: string | null; reasoning_content?: string | null };

/**
 * The final-answer text: a message's `content`, or for raw text what follows the last `</think>`;
 * raw text that opens `<think>` and never closes it answered nothing (null).
 */
export function answerPart(response: Response): string | null {
  let text: string;
  if (typeof response === 'string') text = response;
  else if (response !== null && typeof response === 'object') text = response.content ?? '';
  else return null;
  const end = text.lastIndexOf('</think>');
  if (end >= 0) return answerBlock(text.slice(end + '</think>'.length));
  return text.includes('<think>') ? null : answerBlock(text);
}

/**
 * GLM-4.1V's answer block: the inside of the one `<answer>...</answer>` of `text` (to the end when
 * `</answer>` is missing), `text` itself when it has no answer tags, null when the tags are malformed.
 */
export function answerBlock(text: string): string | null {
  const opens = count(text, ANSWER_OPEN), closes = count(text, ANSWER_CLOSE);
  if (opens === 0) return closes === 0 ? text : null;
  if (opens > 1 || closes > 1) return null;
  const open = text.indexOf(ANSWER_OPEN);
  const close = closes === 1 ? text.indexOf(ANSWER_CLOSE) : text.length;
  return close < open ? null : text.slice(open + ANSWER_OPEN.length, close);
}

/** Non-overlapping occurrences of `needle` in `text`. */
function count(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** The single boxed answer of the final answer, trimmed; null unless exactly one non-empty box. */
export function extractBoxedAnswer(response: Response): string | null {
  const text = answerPart(response);
  if (text === null) return null;
  if (count(text, BOX_OPEN) !== 1 || count(text, BOX_CLOSE) !== 1) return null;
  const open = text.indexOf(BOX_OPEN), close = text.indexOf(BOX_CLOSE);
  if (close < open) return null;
  const inner = text.slice(open + BOX_OPEN.length, close).trim();
  return inner.length > 0 ? inner : null;
}

/** Normalises a short text answer: case, inner whitespace, surrounding quotes/punctuation, articles. */
export function normalizeText(s: string): string {
  return s
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^["'“”‘’\s]+|["'“”‘’\s.!?,;:]+$/g, '')
    .replace(/^(the|a|an) /, '')
    .trim();
}

/** 1 iff the boxed answer equals `reference` after `normalizeText`, else 0. */
export function exactMatchReward(response: Response, reference: string): number {
  const got = extractBoxedAnswer(response);
  return got !== null && normalizeText(got) === normalizeText(reference) ? 1 : 0;
}

const DECIMAL = /^[-+]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?(?:[eE][-+]?\d{1,3})?$/;
const FRACTION = /^([-+]?\d+)\s*\/\s*(\d+)$/;

/**
 * Parses one number strictly: `-1,234.5`, `3e-4`, `7/8`, a trailing period or `\u2212` minus allowed.
 * Returns null for anything else (words, two numbers, empty, too long, not finite, x/0).
 */
export function parseNumber(text: string): number | null {
  const t = text.trim().replace(/^\u2212/, '-').replace(/\.$/, '');
  if (t.length === 0 || t.length > MAX_NUMBER_CHARS) return null;
  let v: number;
  const frac = FRACTION.exec(t);
  if (frac) {
    const den = Number(frac[2]);
    if (den === 0) return null;
    v = Number(frac[1]) / den;
  } else if (DECIMAL.test(t)) v = Number(t.replace(/,/g, ''));
  else return null;
  return Number.isFinite(v) ? v : null;
}

/** Exact integer value of a number text (BigInt), or null when it is not a plain integer. */
function parseExactInteger(text: string): bigint | null {
  const t = text.trim().replace(/^\u2212/, '-').replace(/\.$/, '');
  if (t.length > MAX_NUMBER_CHARS) return null;
  if (/^[-+]?\d+$/.test(t)) return BigInt(t);
  if (/^[-+]?\d{1,3}(,\d{3})+$/.test(t)) return BigInt(t.replace(/,/g, ''));
  return null;
}

export interface NumericOptions {
  /** relative tolerance |got - ref| <= rel * max(1, |ref|) (default 0: exact) */
  relTol?: number;
  /** absolute tolerance (default 0) */
  absTol?: number;
}

/**
 * 1 iff the boxed answer is a number within tolerance of `reference`, else 0. Two integers are
 * compared exactly as BigInts (no float rounding lets 10^17 + 1 pass as 10^17) unless a tolerance
 * is given.
 */
export function numericMatchReward(response: Response, reference: string | number, opts: NumericOptions = {}): number {
  const got = extractBoxedAnswer(response);
  if (got === null) return 0;
  const relTol = opts.relTol ?? 0, absTol = opts.absTol ?? 0;
  const refText = String(reference);
  if (relTol === 0 && absTol === 0) {
    const a = parseExactInteger(got), b = parseExactInteger(refText);
    if (a !== null && b !== null) return a === b ? 1 : 0;
  }
  const g = parseNumber(got), r = parseNumber(refText);
  if (r === null) throw new RangeError(`numericMatchReward: reference ${JSON.stringify(refText)} is not a number; pass a plain number such as 42 or 0.5`);
  if (g === null) return 0;
  return Math.abs(g - r) <= Math.max(absTol, relTol * Math.max(1, Math.abs(r))) ? 1 : 0;
}

/** Parses a clock time `H:MM` (H in 1..12, optional leading zero, MM in 00..59) to minutes past 12; null otherwise. */
export function parseClockTime(text: string): number | null {
  const m = /^(\d{1,2}):(\d{2})\.?$/.exec(text.trim());
  if (!m) return null;
  const h = Number(m[1]), min = Number(m[2]);
  if (h < 1 || h > 12 || min > 59) return null;
  return (h % 12) * 60 + min;
}

/** 1 iff the boxed answer is the clock time `reference` ("3:05" and "03:05" are the same time), else 0. */
export function clockMatchReward(response: Response, reference: string): number {
  const want = parseClockTime(reference);
  if (want === null) throw new RangeError(`clockMatchReward: reference ${JSON.stringify(reference)} is not a time H:MM with H in 1..12`);
  const got = extractBoxedAnswer(response);
  return got !== null && parseClockTime(got) === want ? 1 : 0;
}

/** Levenshtein distance between two strings (by UTF-16 code unit), O(|a|·|b|) time, O(|b|) memory. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * OCR-style reward `1 - edit_distance / max(len)` between the boxed answer and the reference (both
 * trimmed, whitespace collapsed); 0 without a single box; 1 for two empty strings cannot happen since
 * an empty box is no answer.
 */
export function editDistanceReward(response: Response, reference: string): number {
  const got = extractBoxedAnswer(response);
  if (got === null) return 0;
  const a = got.replace(/\s+/g, ' '), b = reference.trim().replace(/\s+/g, ' ');
  const len = Math.max(a.length, b.length);
  return len === 0 ? 0 : 1 - editDistance(a, b) / len;
}

/** Structural equality of JSON values (object key order does not matter, types do). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ka = Object.keys(a as object), kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** A tool call as the parser returns it (OpenAI shape) or a plain `{name, arguments}`. */
export interface ToolCallLike {
  function?: { name: string; arguments: string | Record<string, unknown> };
  name?: string;
  arguments?: string | Record<string, unknown>;
}

/** Name and argument object of a call; null when arguments are not a JSON object. */
export function normalizeToolCall(call: ToolCallLike): { name: string; args: Record<string, unknown> } | null {
  const name = call.function?.name ?? call.name;
  let args = call.function?.arguments ?? call.arguments;
  if (typeof name !== 'string' || name.length === 0) return null;
  if (typeof args === 'string') {
    try {
      args = JSON.parse(args) as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  if (args === undefined) args = {};
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return null;
  return { name, args };
}

/**
 * Strict function-call reward: 1 iff the output has no malformed call, exactly as many calls as
 * expected, and each call (in order) has the expected name and exactly the expected arguments.
 */
export function toolCallReward(output: { tool_calls: ToolCallLike[]; malformed?: unknown[] }, expected: ToolCallLike[]): number {
  if (output.malformed && output.malformed.length > 0) return 0;
  if (output.tool_calls.length !== expected.length || expected.length === 0) return 0;
  for (let i = 0; i < expected.length; i++) {
    const got = normalizeToolCall(output.tool_calls[i]), want = normalizeToolCall(expected[i]);
    if (!want) throw new RangeError(`toolCallReward: expected call ${i} has no name or non-object arguments`);
    if (!got || got.name !== want.name || !jsonEqual(got.args, want.args)) return 0;
  }
  return 1;
}
