import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BYTE_TO_CHAR, bytesToByteLevel } from './byte-level.js';
import { WordCounter, trainBpe, trainBpeFromTexts } from './bpe-train.js';
import { GLM4_PRE_TOKENIZER, PreTokenizer } from './pretokenize.js';
import { GLM_SPECIAL_TOKENS } from './special-tokens.js';
import { testCorpus } from './test-fixtures.js';

/**
 * Reference trainer, written the slow obvious way: every step recounts all pairs of all words,
 * takes the most frequent (ties: smallest left id, then right id), merges it everywhere.
 */
function naiveTrain(texts: string[], numTokens: number, minFreq: number): Array<[string, string]> {
  const pre = new PreTokenizer(GLM4_PRE_TOKENIZER);
  const counts = new Map<string, number>();
  for (const t of texts) for (const p of pre.split(t)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const ids = new Map<string, number>(BYTE_TO_CHAR.map((c, i) => [c, i]));
  const words = [...counts].map(([w, c]) => ({ syms: [...bytesToByteLevel(new TextEncoder().encode(w))], c }));
  const merges: Array<[string, string]> = [];
  while (ids.size < numTokens) {
    const pc = new Map<string, { a: string; b: string; n: number }>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.syms.length; i++) {
        const k = w.syms[i] + '\u0000' + w.syms[i + 1];
        const e = pc.get(k) ?? { a: w.syms[i], b: w.syms[i + 1], n: 0 };
        e.n += w.c;
        pc.set(k, e);
      }
    }
    let best: { a: string; b: string; n: number } | null = null;
    for (const e of pc.values()) {
      if (!best || e.n > best.n || (e.n === best.n && (ids.get(e.a)! < ids.get(best.a)! || (ids.get(e.a) === ids.get(best.a) && ids.get(e.b)! < ids.get(best.b)!)))) best = e;
    }
    if (!best || best.n < minFreq) break;
    merges.push([best.a, best.b]);
    if (!ids.has(best.a + best.b)) ids.set(best.a + best.b, ids.size);
    for (const w of words) {
      const next: string[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === best.a && w.syms[i + 1] === best.b) {
          next.push(best.a + best.b);
          i++;
        } else next.push(w.syms[i]);
      }
      w.syms = next;
    }
  }
  return merges;
}

/** Reference encoder (GPT-2's bpe loop): merge the lowest-ranked bigram everywhere, repeat. */
function naiveEncodeWord(piece: string, merges: Array<[string, string]>): string[] {
  const rank = new Map(merges.map(([a, b], i) => [a + '\u0000' + b, i]));
  let syms = [...bytesToByteLevel(new TextEncoder().encode(piece))];
  for (;;) {
    let best = Infinity;
    let pair: [string, string] | null = null;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = rank.get(syms[i] + '\u0000' + syms[i + 1]);
      if (r !== undefined && r < best) {
        best = r;
        pair = [syms[i], syms[i + 1]];
      }
    }
    if (!pair) return syms;
    const next: string[] = [];
    for (let i = 0; i < syms.length; i++) {
      if (i + 1 < syms.length && syms[i] === pair[0] && syms[i + 1] === pair[1]) {
        next.push(pair[0] + pair[1]);
        i++;
      } else next.push(syms[i]);
    }
    syms = next;
  }
}

test('incremental trainer learns exactly the merges of the recount-everything reference', () => {
  const texts = testCorpus(400);
  const vocabSize = 256 + 150 + GLM_SPECIAL_TOKENS.length;
  const tok = trainBpeFromTexts(texts, { vocabSize, minFrequency: 2 });
  const ref = naiveTrain(texts, 256 + 150, 2);
  assert.deepEqual(tok.spec.merges, ref);
  assert.ok(ref.length > 40, `the corpus should support many merges, got ${ref.length}`);
});

test('encoding equals the reference BPE loop, and decode inverts encode', () => {
  const texts = testCorpus(300, 11);
  const tok = trainBpeFromTexts(texts, { vocabSize: 256 + 120 + GLM_SPECIAL_TOKENS.length });
  const pre = new PreTokenizer(GLM4_PRE_TOKENIZER);
  for (const t of [...testCorpus(50, 99), 'unseen wörds ſ 🙂 tab\there\r\n', '']) {
    const want: number[] = [];
    for (const p of pre.split(t)) for (const s of naiveEncodeWord(p, tok.spec.merges)) want.push(tok.tokenToId(s)!);
    const ids = tok.encode(t);
    assert.deepEqual(ids, want);
    assert.equal(tok.decode(ids), t);
  }
});

test('vocabulary layout: 256 byte tokens, merges, then the special tokens', () => {
  const tok = trainBpeFromTexts(testCorpus(200), { vocabSize: 300 + GLM_SPECIAL_TOKENS.length });
  assert.equal(tok.vocabSize, 300 + GLM_SPECIAL_TOKENS.length);
  for (let b = 0; b < 256; b++) assert.equal(tok.idToToken(b), BYTE_TO_CHAR[b]);
  assert.equal(tok.tokenToId('<|endoftext|>'), 300);
  assert.equal(tok.tokenToId('<|user|>'), 300 + GLM_SPECIAL_TOKENS.indexOf('<|user|>'));
  for (const s of GLM_SPECIAL_TOKENS) assert.equal(tok.isSpecial(tok.tokenToId(s)!), true);
  // A special string in the text is one token only when allowed.
  assert.deepEqual(tok.encode('<|user|>', { allowSpecial: true }), [tok.tokenToId('<|user|>')]);
  assert.ok(tok.encode('<|user|>').length > 1);
  assert.equal(tok.decode(tok.encode('<|user|>')), '<|user|>');
});

test('special-token strings in training text are not learned; too small a vocabulary is a ConfigError', () => {
  const counter = new WordCounter();
  counter.add('<|user|>\nhi<|assistant|>\nhello<|endoftext|>');
  assert.deepEqual([...counter.counts.keys()].sort(), ['\n', 'hello', 'hi'].sort());
  assert.throws(() => trainBpe(counter, { vocabSize: 100 }), (e: Error) => e.name === 'ConfigError' && /vocab size must be an integer >= 282/.test(e.message));
});

test('a corpus too small for the requested size stops early (min frequency)', () => {
  const tok = trainBpeFromTexts(['ab ab ab cd'], { vocabSize: 1000, minFrequency: 2 });
  // Pieces: "ab", " ab" x2, " cd". (a,b) x3 merges first; then (Ġ,a) is gone and (Ġ,ab) x2 merges;
  // every other pair is seen once.
  assert.deepEqual(tok.spec.merges, [['a', 'b'], ['Ġ', 'ab']]);
  assert.equal(tok.vocabSize, 258 + GLM_SPECIAL_TOKENS.length);
});
