/**
 * Pre-tokenization: the text is cut into pieces ("words") before BPE, and BPE merges never cross a
 * piece boundary. glmkit implements the pre-tokenizers GLM checkpoints use in `tokenizer.json`:
 * `Split` (regex, behaviour `Isolated`) followed by `ByteLevel` (bytes -> printable characters).
 *
 * Hugging Face tokenizers compile the regex with Oniguruma; JavaScript's RegExp differs in two places
 * that matter here, and `toJsRegex` translates them:
 * - inline case-insensitive groups `(?i:'s|'t)` do not exist in Node 20: letters inside become
 *   classes (`[sSſ]`: Oniguruma folds U+017F LONG S and U+212A KELVIN SIGN onto s and k, so we do too);
 * - `\s` is Oniguruma's Unicode space set (it holds U+0085 and not U+FEFF, unlike JavaScript's).
 */
import { ConfigError } from '../errors.js';

/** GLM-4 / GLM-4.5's Split pattern (the cl100k-style pattern), as written in their tokenizer.json. */
export const GLM4_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The pattern `ByteLevel` uses when `use_regex` is true (GPT-2's). */
export const GPT2_SPLIT_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** Oniguruma's `\s` for Unicode strings, as the inside of a character class. */
const ONIG_SPACE = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Extra case-fold partners Oniguruma uses for ASCII letters under (?i). */
const FOLD_EXTRA: Record<string, string> = { s: '\u017f', k: '\u212a' };

/**
 * Translates an Oniguruma pattern as found in tokenizer.json into an equivalent JavaScript RegExp
 * (flags `gu`). Supports the constructs tokenizer patterns use; throws ConfigError on `\S` inside a
 * class and on unbalanced `(?i:` groups.
 */
export function toJsRegex(pattern: string): RegExp {
  let out = '';
  let inClass = false;
  let caseDepth = 0; // > 0 while inside a (?i: ... ) group
  const groupStack: boolean[] = []; // true for groups that opened a case-insensitive region
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === 's') out += inClass ? ONIG_SPACE : `[${ONIG_SPACE}]`;
      else if (next === 'S') {
        if (inClass) throw new ConfigError(`pre-tokenizer regex: \\S inside a character class is not supported (pattern ${pattern})`);
        out += `[^${ONIG_SPACE}]`;
      } else if (next === 'p' || next === 'P') {
        const close = pattern.indexOf('}', i);
        out += pattern.slice(i, close + 1);
        i = close;
        continue;
      } else out += ch + next;
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      out += ch;
      if (pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
      continue;
    }
    if (ch === '(') {
      if (pattern.startsWith('(?i:', i)) {
        groupStack.push(true);
        caseDepth++;
        out += '(?:';
        i += 3;
        continue;
      }
      groupStack.push(false);
      out += ch;
      continue;
    }
    if (ch === ')') {
      const opened = groupStack.pop();
      if (opened === undefined) throw new ConfigError(`pre-tokenizer regex: unbalanced ')' in ${pattern}`);
      if (opened) caseDepth--;
      out += ch;
      continue;
    }
    if (caseDepth > 0 && /[a-zA-Z]/.test(ch)) {
      const lo = ch.toLowerCase();
      out += `[${lo}${lo.toUpperCase()}${FOLD_EXTRA[lo] ?? ''}]`;
      continue;
    }
    out += ch;
  }
  if (groupStack.length > 0) throw new ConfigError(`pre-tokenizer regex: unbalanced '(' in ${pattern}`);
  return new RegExp(out, 'gu');
}

/** What glmkit runs before BPE: a sequence of isolating regex splits, then optional byte-level mapping. */
export interface PreTokenizerSpec {
  /** Oniguruma patterns, applied in order; every match and every gap between matches becomes a piece. */
  patterns: string[];
  /** ByteLevel step present (pieces are turned into byte-level strings before BPE). */
  byteLevel: boolean;
  /** ByteLevel add_prefix_space: a space is prepended to the text when it does not start with one. */
  addPrefixSpace: boolean;
}

/** GLM-4's pre-tokenizer: Split(GLM4_SPLIT_PATTERN, Isolated) + ByteLevel(add_prefix_space=false, use_regex=false). */
export const GLM4_PRE_TOKENIZER: PreTokenizerSpec = { patterns: [GLM4_SPLIT_PATTERN], byteLevel: true, addPrefixSpace: false };

/** A compiled pre-tokenizer: `split(text)` returns the pieces (before byte-level mapping). */
export class PreTokenizer {
  readonly spec: PreTokenizerSpec;
  private readonly regexes: RegExp[];

  constructor(spec: PreTokenizerSpec) {
    this.spec = spec;
    this.regexes = spec.patterns.map(toJsRegex);
  }

  /** Cuts text into pieces; concatenating the pieces gives back the text (plus a prefix space if configured). */
  split(text: string): string[] {
    if (this.spec.addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
    let pieces = [text];
    for (const re of this.regexes) {
      const next: string[] = [];
      for (const p of pieces) splitIsolated(re, p, next);
      pieces = next;
    }
    return pieces;
  }

  /** Calls fn for every piece of text without building arrays (the encoder's hot path). */
  forEachPiece(text: string, fn: (piece: string) => void): void {
    if (this.regexes.length !== 1 || this.spec.addPrefixSpace) {
      for (const p of this.split(text)) fn(p);
      return;
    }
    const re = this.regexes[0];
    re.lastIndex = 0;
    let last = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      if (m.index > last) fn(text.slice(last, m.index));
      fn(m[0]);
      last = m.index + m[0].length;
    }
    if (last < text.length) fn(text.slice(last));
  }
}

/** Isolated split: matches and the gaps between them, in order, empty strings dropped. */
function splitIsolated(re: RegExp, text: string, out: string[]): void {
  re.lastIndex = 0;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
}
