/**
 * Byte-level BPE training.
 *
 *   1. split out special-token strings, pre-tokenize the rest, count unique pieces ("words");
 *   2. every word -> its UTF-8 bytes, one base symbol per byte (ids 0..255 = the 256 byte tokens);
 *   3. count adjacent symbol pairs over unique words weighted by word count, remember which words
 *      hold each pair;
 *   4. repeat until the vocabulary is full: take the most frequent pair (ties: smallest left id, then
 *      smallest right id), give the merged token the next id, rewrite only the words that hold the
 *      pair and update the pair counts of those words incrementally. A max-heap with lazy deletion
 *      finds the best pair; stale entries are re-pushed with their current count when popped.
 *
 * Layout of the trained vocabulary: ids 0..255 byte tokens (byte order), then merges in order, then
 * the special tokens (like GLM, whose added tokens follow the BPE vocabulary).
 */
import { ConfigError } from '../errors.js';
import { BYTE_TO_CHAR, utf8Bytes } from './byte-level.js';
import { GLM4_PRE_TOKENIZER, PreTokenizer, type PreTokenizerSpec } from './pretokenize.js';
import { GLM_SPECIAL_TOKENS } from './special-tokens.js';
import { Tokenizer, type AddedToken } from './tokenizer.js';

export interface TrainOptions {
  /** Total vocabulary size: 256 byte tokens + merges + special tokens. */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
  /** Added special tokens (default GLM's, docs/methods.md §2). */
  specialTokens?: readonly string[];
  preTokenizer?: PreTokenizerSpec;
}

const MAX_VOCAB = 2 ** 21;

/** Counts of unique pre-tokenized pieces; feed it text chunk by chunk, then call trainBpe. */
export class WordCounter {
  readonly counts = new Map<string, number>();
  private readonly pre: PreTokenizer;
  private readonly specialRe: RegExp | null;

  constructor(preTokenizer: PreTokenizerSpec = GLM4_PRE_TOKENIZER, specialTokens: readonly string[] = GLM_SPECIAL_TOKENS) {
    this.pre = new PreTokenizer(preTokenizer);
    const alts = [...specialTokens].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
    this.specialRe = alts.length > 0 ? new RegExp(alts.join('|')) : null;
  }

  /** Adds the pieces of one text (special-token strings in it are skipped, not learned). */
  add(text: string): void {
    const parts = this.specialRe ? text.split(this.specialRe) : [text];
    const counts = this.counts;
    for (const part of parts) {
      if (part.length === 0) continue;
      this.pre.forEachPiece(part, (p) => counts.set(p, (counts.get(p) ?? 0) + 1));
    }
  }
}

/** Max-heap of (count, pair key): larger count first, then smaller key. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.keys.length;
  }
  private above(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lc = this.counts.pop()!;
    const lk = this.keys.pop()!;
    if (this.keys.length > 0) {
      this.counts[0] = lc;
      this.keys[0] = lk;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.keys.length && this.above(l, m)) m = l;
        if (r < this.keys.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Trains a byte-level BPE tokenizer from word counts (see the file comment). */
export function trainBpe(words: WordCounter | Map<string, number>, opts: TrainOptions): Tokenizer {
  const specials = opts.specialTokens ?? GLM_SPECIAL_TOKENS;
  const minFreq = opts.minFrequency ?? 2;
  const counts = words instanceof WordCounter ? words.counts : words;
  const numMerges = opts.vocabSize - 256 - specials.length;
  if (!Number.isInteger(opts.vocabSize) || numMerges < 0) {
    throw new ConfigError(`tokenizer vocab size must be an integer >= ${256 + specials.length} (256 byte tokens + ${specials.length} special tokens), got ${opts.vocabSize}`);
  }
  if (opts.vocabSize > MAX_VOCAB) throw new ConfigError(`tokenizer vocab size must be at most ${MAX_VOCAB}, got ${opts.vocabSize}`);
  // Pair key = left * SHIFT + right; a power of two >= the vocabulary keeps keys small integers (fast Map keys).
  const SHIFT = 2 ** Math.ceil(Math.log2(Math.max(opts.vocabSize, 256)));

  // Unique words: symbols of word w live in syms[start[w] .. start[w] + len[w]) (rewritten in place,
  // merges only shrink words), with the word's count.
  const nWords = counts.size;
  const wordStart = new Int32Array(nWords);
  const wordLen = new Int32Array(nWords);
  const wordCount = new Float64Array(nWords);
  const byteWords: Uint8Array[] = [];
  let total = 0;
  for (const [w, c] of counts) {
    const bytes = utf8Bytes(w);
    wordStart[byteWords.length] = total;
    wordLen[byteWords.length] = bytes.length;
    wordCount[byteWords.length] = c;
    byteWords.push(bytes);
    total += bytes.length;
  }
  const syms = new Int32Array(total);
  byteWords.forEach((bytes, w) => syms.set(bytes, wordStart[w]));
  byteWords.length = 0;

  // Pair statistics by dense pair index: count, key, and the words holding it (may repeat a word;
  // a stamp per word skips repeats when the pair is merged).
  const pairIndex = new Map<number, number>();
  const pairKey: number[] = [];
  const pairCnt: number[] = [];
  const pairWords: number[][] = [];
  const indexOf = (key: number): number => {
    let idx = pairIndex.get(key);
    if (idx === undefined) {
      idx = pairKey.length;
      pairIndex.set(key, idx);
      pairKey.push(key);
      pairCnt.push(0);
      pairWords.push([]);
    }
    return idx;
  };
  for (let w = 0; w < nWords; w++) {
    const st = wordStart[w];
    for (let i = st; i + 1 < st + wordLen[w]; i++) {
      const idx = indexOf(syms[i] * SHIFT + syms[i + 1]);
      pairCnt[idx] += wordCount[w];
      const ws = pairWords[idx];
      if (ws.length === 0 || ws[ws.length - 1] !== w) ws.push(w);
    }
  }
  const heap = new PairHeap();
  for (let idx = 0; idx < pairKey.length; idx++) heap.push(pairCnt[idx], pairKey[idx]);

  const tokenStr: string[] = BYTE_TO_CHAR.slice();
  const merges: Array<[string, string]> = [];
  const strToId = new Map<string, number>(tokenStr.map((t, i) => [t, i]));
  const targetTokens = 256 + numMerges;
  const stamp = new Int32Array(nWords).fill(-1);
  const grown: number[] = [];
  const pairStamp: number[] = [];
  let step = 0;
  const bump = (key: number, delta: number, w: number) => {
    const idx = indexOf(key);
    pairCnt[idx] += delta;
    if (delta > 0) {
      const ws = pairWords[idx];
      if (ws.length === 0 || ws[ws.length - 1] !== w) ws.push(w);
      if (pairStamp[idx] !== step) {
        pairStamp[idx] = step;
        grown.push(idx);
      }
    }
  };
  while (tokenStr.length < targetTokens && heap.size > 0) {
    const [c, key] = heap.pop();
    const idx = pairIndex.get(key)!;
    const current = pairCnt[idx];
    if (c !== current) {
      if (current > 0) heap.push(current, key);
      continue;
    }
    if (current < minFreq || current <= 0) break;
    const a = Math.floor(key / SHIFT);
    const b = key - a * SHIFT;
    // Two merges can spell the same string ("ab"+"c", "a"+"bc"): the token keeps its first id.
    const merged = tokenStr[a] + tokenStr[b];
    let id = strToId.get(merged);
    if (id === undefined) {
      id = tokenStr.length;
      tokenStr.push(merged);
      strToId.set(merged, id);
    }
    merges.push([tokenStr[a], tokenStr[b]]);
    // Rewrite the words holding (a, b) in place; per occurrence the neighbouring pairs change:
    // (prev, a) -> (prev, id) and (b, next) -> (id, next). Working left to right on the rewritten
    // word keeps back-to-back occurrences ("a b a b") right.
    step = merges.length;
    grown.length = 0;
    for (const w of pairWords[idx]) {
      if (stamp[w] === step) continue;
      stamp[w] = step;
      const st = wordStart[w];
      const len = wordLen[w];
      const wc = wordCount[w];
      let j = 0;
      for (let i = 0; i < len; i++) {
        if (i + 1 < len && syms[st + i] === a && syms[st + i + 1] === b) {
          if (j > 0) {
            const p = syms[st + j - 1];
            bump(p * SHIFT + a, -wc, w);
            bump(p * SHIFT + id, wc, w);
          }
          if (i + 2 < len) {
            const n = syms[st + i + 2];
            bump(b * SHIFT + n, -wc, w);
            bump(id * SHIFT + n, wc, w);
          }
          syms[st + j++] = id;
          i++;
        } else syms[st + j++] = syms[st + i];
      }
      wordLen[w] = j;
    }
    pairWords[idx] = [];
    pairCnt[idx] = 0;
    for (const g of grown) if (pairCnt[g] > 0) heap.push(pairCnt[g], pairKey[g]);
  }

  const vocab = strToId;
  const addedTokens: AddedToken[] = specials.map((content, i) => ({ id: tokenStr.length + i, content, special: true }));
  return new Tokenizer({ vocab, merges, addedTokens, preTokenizer: opts.preTokenizer ?? GLM4_PRE_TOKENIZER });
}

/** Convenience: trains from an iterable of texts. */
export function trainBpeFromTexts(texts: Iterable<string>, opts: TrainOptions): Tokenizer {
  const counter = new WordCounter(opts.preTokenizer, opts.specialTokens);
  for (const t of texts) counter.add(t);
  return trainBpe(counter, opts);
}
