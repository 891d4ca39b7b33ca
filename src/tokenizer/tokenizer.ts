/**
 * Byte-level BPE tokenizer (the `BPE` model of Hugging Face tokenizers with a `ByteLevel`
 * pre-tokenizer and decoder), with added tokens.
 *
 * encode(text):
 *   1. split out added tokens (special ones only when the caller allows it),
 *   2. pre-tokenize every other span into pieces (GLM-4's Split regex),
 *   3. each piece -> UTF-8 bytes -> one byte symbol each -> repeatedly merge the adjacent pair with the
 *      lowest merge rank (leftmost on ties), exactly as HF's BPE does; results are cached per piece.
 * decode(ids): tokens -> bytes (byte-level alphabet reversed) -> UTF-8 text (invalid bytes -> U+FFFD).
 */
import { ConfigError, DataError } from '../errors.js';
import { BYTE_TO_CHAR, byteLevelToBytes, bytesToByteLevel, utf8Bytes } from './byte-level.js';
import { PreTokenizer, type PreTokenizerSpec } from './pretokenize.js';

/** An added token as tokenizer.json stores it. */
export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens are matched in text only with allowSpecial, and dropped by decode's skipSpecial. */
  special: boolean;
  /** Kept for round trips; not applied when matching (GLM's added tokens all have it false). */
  single_word?: boolean;
  /** Swallow whitespace on the left / right of the token when matching it in text. */
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
}

/** Everything that defines a tokenizer (what tokenizer.json holds). */
export interface TokenizerSpec {
  /** Model vocabulary: token string -> id. */
  vocab: Map<string, number>;
  /** Merges in rank order: [left, right] token strings. */
  merges: Array<[string, string]>;
  addedTokens: AddedToken[];
  preTokenizer: PreTokenizerSpec;
  /** HF BPE `ignore_merges`: a piece that is itself in the vocabulary becomes that one token. */
  ignoreMerges?: boolean;
  /** Token ids TemplateProcessing adds around a single sequence when addSpecialTokens is set. */
  template?: { prefix: number[]; suffix: number[] };
  /** Parts of a loaded tokenizer.json glmkit passes through unchanged when writing it back. */
  passthrough?: Record<string, unknown>;
}

/** What tokenizer_config.json says besides the vocabulary (glmkit's defaults are GLM's). */
export interface TokenizerConfig {
  eosToken: string;
  padToken: string;
  modelMaxLength: number;
  /** Jinja chat template; null means glmkit's GLM template. */
  chatTemplate: string | null;
}

export interface EncodeOptions {
  /** Match special added tokens written in the text (default false: they are encoded as plain text). */
  allowSpecial?: boolean;
  /** Add the post-processor's template tokens (default false). */
  addSpecialTokens?: boolean;
}

/** Ids must stay below this (pair keys left * shift + right must be exact doubles). */
const MAX_ID = 2 ** 21;
const MAX_CACHE = 1 << 18;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export class Tokenizer {
  readonly spec: TokenizerSpec;
  readonly preTokenizer: PreTokenizer;
  /** tokenizer_config.json settings (saved and loaded with the tokenizer). */
  config: TokenizerConfig = { eosToken: '<|endoftext|>', padToken: '<|endoftext|>', modelMaxLength: 131072, chatTemplate: null };
  /** id -> token string for every id (model vocab and added tokens). */
  private readonly idToTokenTable: string[];
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedById = new Map<number, AddedToken>();
  /** pair key (left id * pairShift + right id) -> merge rank. */
  private readonly mergeRank = new Map<number, number>();
  /** merge rank -> id of the merged token. */
  private readonly mergeResult: Int32Array;
  /** byte -> id of its one-byte token (-1 when the vocabulary lacks it). */
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** Power of two above every id: pair keys stay small integers. */
  private readonly pairShift: number;
  private readonly cache = new Map<string, number[]>();
  private readonly allRegex: RegExp | null;
  private readonly ordinaryRegex: RegExp | null;

  constructor(spec: TokenizerSpec) {
    this.spec = spec;
    this.preTokenizer = new PreTokenizer(spec.preTokenizer);
    this.idToTokenTable = [];
    for (const [tok, id] of spec.vocab) {
      if (!Number.isInteger(id) || id < 0 || id >= MAX_ID) throw new ConfigError(`tokenizer vocab: id of ${JSON.stringify(tok)} must be an integer in [0, ${MAX_ID}), got ${id}`);
      this.idToTokenTable[id] = tok;
    }
    for (const t of spec.addedTokens) {
      this.addedByContent.set(t.content, t);
      this.addedById.set(t.id, t);
      this.idToTokenTable[t.id] = t.content;
    }
    this.pairShift = 2 ** Math.ceil(Math.log2(Math.max(256, this.idToTokenTable.length)));
    this.mergeResult = new Int32Array(spec.merges.length);
    spec.merges.forEach(([a, b], rank) => {
      const ia = spec.vocab.get(a);
      const ib = spec.vocab.get(b);
      const ic = spec.vocab.get(a + b);
      if (ia === undefined || ib === undefined || ic === undefined) {
        throw new ConfigError(`tokenizer merges[${rank}] = ${JSON.stringify([a, b])}: ${[a, b, a + b].filter((t) => !spec.vocab.has(t)).map((t) => JSON.stringify(t)).join(', ')} not in the vocabulary; every merge's parts and result must be vocabulary tokens`);
      }
      const key = ia * this.pairShift + ib;
      if (!this.mergeRank.has(key)) this.mergeRank.set(key, rank);
      this.mergeResult[rank] = ic;
    });
    for (let b = 0; b < 256; b++) {
      const id = spec.vocab.get(spec.preTokenizer.byteLevel ? BYTE_TO_CHAR[b] : String.fromCharCode(b));
      if (id !== undefined) this.byteIds[b] = id;
    }
    const byLength = (xs: AddedToken[]) => [...xs].sort((x, y) => y.content.length - x.content.length).map((t) => escapeRegex(t.content));
    const all = byLength(spec.addedTokens);
    const ordinary = byLength(spec.addedTokens.filter((t) => !t.special));
    this.allRegex = all.length > 0 ? new RegExp(all.join('|'), 'g') : null;
    this.ordinaryRegex = ordinary.length > 0 ? new RegExp(ordinary.join('|'), 'g') : null;
  }

  /** Number of ids (one more than the largest id). */
  get vocabSize(): number {
    return this.idToTokenTable.length;
  }

  /** The added tokens, in id order. */
  get addedTokens(): AddedToken[] {
    return [...this.spec.addedTokens].sort((a, b) => a.id - b.id);
  }

  /** The id of a token string (added token or vocabulary entry), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.spec.vocab.get(token);
  }

  /** The id of a token that must exist (e.g. a special token the chat format needs). */
  requireId(token: string): number {
    const id = this.tokenToId(token);
    if (id === undefined) throw new ConfigError(`tokenizer has no token ${JSON.stringify(token)}; train or load a tokenizer that registers GLM's special tokens (docs/methods.md §2)`);
    return id;
  }

  /** The token string of an id (byte-level form for vocabulary tokens), or undefined. */
  idToToken(id: number): string | undefined {
    return this.idToTokenTable[id];
  }

  /** Whether id is a special added token. */
  isSpecial(id: number): boolean {
    return this.addedById.get(id)?.special === true;
  }

  /** Token ids of text. See the file comment for the steps. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.addSpecialTokens && this.spec.template) out.push(...this.spec.template.prefix);
    const re = opts.allowSpecial ? this.allRegex : this.ordinaryRegex;
    if (re === null) this.encodeOrdinaryInto(text, out);
    else {
      re.lastIndex = 0;
      let last = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        const tok = this.addedByContent.get(m[0])!;
        let start = m.index;
        let end = m.index + m[0].length;
        if (tok.lstrip) while (start > last && /\s/.test(text[start - 1])) start--;
        if (tok.rstrip) while (end < text.length && /\s/.test(text[end])) end++;
        if (start > last) this.encodeOrdinaryInto(text.slice(last, start), out);
        out.push(tok.id);
        last = end;
        re.lastIndex = end;
      }
      if (last < text.length) this.encodeOrdinaryInto(text.slice(last), out);
    }
    if (opts.addSpecialTokens && this.spec.template) out.push(...this.spec.template.suffix);
    return out;
  }

  /** Token ids of text with no added-token matching at all (plain BPE over the pre-tokenized text). */
  encodeOrdinary(text: string): number[] {
    const out: number[] = [];
    this.encodeOrdinaryInto(text, out);
    return out;
  }

  private encodeOrdinaryInto(text: string, out: number[]): void {
    this.preTokenizer.forEachPiece(text, (piece) => {
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = this.bpePiece(piece);
        if (this.cache.size >= MAX_CACHE) this.cache.clear();
        this.cache.set(piece, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    });
  }

  /** BPE over one pre-tokenized piece. */
  private bpePiece(piece: string): number[] {
    let syms: number[];
    if (this.spec.preTokenizer.byteLevel) {
      let ascii = !this.spec.ignoreMerges;
      for (let i = 0; ascii && i < piece.length; i++) if (piece.charCodeAt(i) >= 0x80) ascii = false;
      if (ascii) {
        // Fast path: an ASCII piece's UTF-8 bytes are its char codes.
        syms = [];
        for (let i = 0; i < piece.length; i++) {
          const id = this.byteIds[piece.charCodeAt(i)];
          if (id >= 0) syms.push(id);
        }
        return this.mergeSymbols(syms);
      }
      const bytes = utf8Bytes(piece);
      if (this.spec.ignoreMerges) {
        const whole = this.spec.vocab.get(bytesToByteLevel(bytes));
        if (whole !== undefined) return [whole];
      }
      syms = [];
      for (let i = 0; i < bytes.length; i++) {
        const id = this.byteIds[bytes[i]];
        if (id >= 0) syms.push(id); // HF BPE without unk_token drops symbols missing from the vocabulary
      }
    } else {
      if (this.spec.ignoreMerges && this.spec.vocab.has(piece)) return [this.spec.vocab.get(piece)!];
      syms = [];
      for (const ch of piece) {
        const id = this.spec.vocab.get(ch);
        if (id !== undefined) syms.push(id);
      }
    }
    return this.mergeSymbols(syms);
  }

  /**
   * Repeatedly merges the adjacent pair with the lowest rank (leftmost first). ranks[i] caches the
   * rank of pair (syms[i], syms[i+1]); each step is O(n), fine for the short pieces regexes produce.
   */
  private mergeSymbols(syms: number[]): number[] {
    if (syms.length < 2) return syms;
    const shift = this.pairShift;
    const rankOf = (a: number, b: number): number => this.mergeRank.get(a * shift + b) ?? Infinity;
    const ranks: number[] = new Array(syms.length - 1);
    for (let i = 0; i < syms.length - 1; i++) ranks[i] = rankOf(syms[i], syms[i + 1]);
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i < ranks.length; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          at = i;
        }
      }
      if (at < 0) return syms;
      syms[at] = this.mergeResult[best];
      syms.splice(at + 1, 1);
      ranks.splice(at, 1);
      if (at > 0) ranks[at - 1] = rankOf(syms[at - 1], syms[at]);
      if (at < syms.length - 1) ranks[at] = rankOf(syms[at], syms[at + 1]);
    }
  }

  /** Text of ids. skipSpecial drops special added tokens. Unknown ids are a DataError. */
  decode(ids: ArrayLike<number>, opts: { skipSpecial?: boolean } = {}): string {
    const bytes: number[] = [];
    let text = '';
    const flush = () => {
      if (bytes.length > 0) {
        text += decoder.decode(Uint8Array.from(bytes));
        bytes.length = 0;
      }
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const added = this.addedById.get(id);
      if (added) {
        if (added.special && opts.skipSpecial) continue;
        flush();
        text += added.content;
        continue;
      }
      const tok = this.idToTokenTable[id];
      if (tok === undefined) throw new DataError(`decode: token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
      if (this.spec.preTokenizer.byteLevel) {
        const b = byteLevelToBytes(tok);
        if (b === null) {
          flush();
          text += tok;
        } else for (const x of b) bytes.push(x);
      } else {
        flush();
        text += tok;
      }
    }
    flush();
    return text;
  }

  /** Bytes of one token id (for streaming decoders that must join partial UTF-8). */
  tokenBytes(id: number): Uint8Array {
    const added = this.addedById.get(id);
    if (added) return utf8Bytes(added.content);
    const tok = this.idToTokenTable[id];
    if (tok === undefined) throw new DataError(`token id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    return (this.spec.preTokenizer.byteLevel ? byteLevelToBytes(tok) : null) ?? utf8Bytes(tok);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Incremental detokenizer for generation: push ids one by one and get text as soon as the bytes
 * form whole UTF-8 characters (a character split over two tokens comes out with the second one).
 */
export class DecodeStream {
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false });
  constructor(
    private readonly tok: Tokenizer,
    private readonly opts: { skipSpecial?: boolean } = {},
  ) {}

  /** Text completed by this token (may be empty). */
  push(id: number): string {
    if (this.opts.skipSpecial && this.tok.isSpecial(id)) return '';
    return this.utf8.decode(this.tok.tokenBytes(id), { stream: true });
  }

  /** Flushes bytes of an unfinished character (as U+FFFD). */
  finish(): string {
    return this.utf8.decode();
  }
}
