/**
 * Hugging Face interop: tokenizer.json files glmkit writes load in tokenizers.js
 * (@huggingface/tokenizers) with identical ids, and GLM-style tokenizer.json files (GLM-4's
 * pre-tokenizer, added tokens at GLM-4.5's ids) give the same ids in both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { BYTE_TO_CHAR } from '../src/tokenizer/byte-level.js';
import { trainBpeFromTexts } from '../src/tokenizer/bpe-train.js';
import { renderChat } from '../src/tokenizer/chat.js';
import { GLM_SPECIAL_TOKENS } from '../src/tokenizer/special-tokens.js';
import { testCorpus } from '../src/tokenizer/test-fixtures.js';
import { loadTokenizer, parseTokenizerJson, saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { hfBpeTokenizerDoc } from './hf-writer.js';

/** Texts that exercise every branch of the split pattern and the byte-level mapping. */
const PROBES = [
  ...testCorpus(40, 17),
  "I'M here, you'RE there; we'll see. Don't!",
  'Numbers: 1 12 123 1234 12345678 3.14159 -42 1e10',
  'Whitespace:\t\ttabs   spaces\r\nCRLF\n\n\n  indented\u3000ideographic\u00a0nbsp\u0085nel end   ',
  'Unicode: naïve café 日本語のテキスト 한국어 Ελληνικά 🙂🚀 e\u0301 ﬁ',
  'code: for (let i = 0; i < n; i++) { x[i] += y?.z ?? 0; } // done',
  '<|user|>\nhi<|assistant|>\n<think>reason</think>\nanswer<tool_call>f\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>\n</tool_call><|observation|>[gMASK]<sop>/nothink',
  '',
  ' ',
  '\n',
];

function hfFromFolder(dir: string): HfTokenizer {
  return new HfTokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
}

function assertSameIds(ours: Tokenizer, hf: HfTokenizer, texts: string[]): void {
  for (const text of texts) {
    const a = ours.encode(text, { allowSpecial: true });
    const b = hf.encode(text, { add_special_tokens: false }).ids;
    assert.deepEqual(a, b, `ids differ for ${JSON.stringify(text)}`);
    if (a.length > 0) assert.equal(hf.decode(a), ours.decode(a), `decode differs for ${JSON.stringify(text)}`);
  }
}

test('a glmkit-trained tokenizer folder loads in tokenizers.js with identical ids', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-hf-'));
  try {
    const tok = trainBpeFromTexts([...testCorpus(500), ...PROBES], { vocabSize: 256 + 300 + GLM_SPECIAL_TOKENS.length });
    saveTokenizer(tok, dir);
    const ours = loadTokenizer(dir);
    const hf = hfFromFolder(dir);
    assertSameIds(ours, hf, PROBES);
    for (const s of GLM_SPECIAL_TOKENS) assert.equal(hf.token_to_id(s), ours.tokenToId(s), s);
    // The ids trainers use (chat rendering) are the ids transformers gets from the same text.
    const r = renderChat(ours, { messages: [{ role: 'user', content: 'What is 12+30?' }, { role: 'assistant', reasoning_content: '12+30=42', content: '42' }] });
    assert.deepEqual(r.ids, hf.encode(r.text, { add_special_tokens: false }).ids);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A GLM-4.5-style tokenizer.json written by hand: the same structure as the public file (BPE model
 * with byte-level vocabulary and merges, Split(GLM-4 pattern) + ByteLevel pre-tokenizer, ByteLevel
 * decoder, added tokens from id 151329), with a small vocabulary.
 */
function glmStyleTokenizerJson(): string {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((c, i) => (vocab[c] = i));
  const merges: Array<[string, string]> = [];
  const add = (a: string, b: string) => {
    merges.push([a, b]);
    if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  };
  add('Ġ', 't'); add('h', 'e'); add('Ġt', 'he'); add('i', 'n'); add('Ġ', 'a'); add('e', 'r'); add('o', 'n'); add('Ġ', 'Ġ');
  add('ĠĠ', 'ĠĠ'); add('Ċ', 'Ċ'); add('r', 'e'); add('Ġ', 'w'); add('o', 'r'); add('Ġw', 'or'); add('l', 'd'); add('Ġwor', 'ld');
  add('æ', 'Ĺ'); add('æĹ', '¥'); add('1', '2'); add('12', '3');
  const specials = ['<|endoftext|>', '[MASK]', '[gMASK]', '[sMASK]', '<sop>', '<eop>', '<|system|>', '<|user|>', '<|assistant|>', '<|observation|>'];
  const added = specials.map((content, i) => ({ id: 151329 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  added.push({ id: 151350, content: '<think>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
  added.push({ id: 151351, content: '</think>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
  return JSON.stringify(hfBpeTokenizerDoc(vocab, merges, added));
}

test('a GLM-style tokenizer.json (added tokens at GLM-4.5 ids) gives the same ids in glmkit and tokenizers.js', () => {
  const text = glmStyleTokenizerJson();
  const ours = parseTokenizerJson(text);
  // GLM's tokenizer_config.json sets clean_up_tokenization_spaces false (decode keeps " ?" as is).
  const hf = new HfTokenizer(JSON.parse(text), { eos_token: '<|endoftext|>', clean_up_tokenization_spaces: false });
  assertSameIds(ours, hf, [...PROBES, 'the world 日日 123123 in the world    x\n\n\n']);
  assert.deepEqual(ours.encode('[gMASK]<sop><|user|>\nthe world', { allowSpecial: true }).slice(0, 3), [151331, 151333, 151336]);
  // Non-special added tokens (like <think> here) are matched even without allowSpecial, as in HF.
  assert.ok(ours.encode('a<think>b').includes(151350));
  // Written back by glmkit, the same file still loads in tokenizers.js with the same ids.
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-hf-'));
  try {
    saveTokenizer(ours, dir);
    assertSameIds(loadTokenizer(dir), hfFromFolder(dir), PROBES);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
