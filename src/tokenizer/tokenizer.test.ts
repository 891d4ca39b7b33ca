import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BYTE_TO_CHAR, byteLevelToBytes, bytesToByteLevel } from './byte-level.js';
import { parseTokenizerJson } from './tokenizer-json.js';
import { tinyTokenizerJson } from './test-fixtures.js';

test('byte-level alphabet: 256 distinct printable characters, invertible', () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  assert.equal(BYTE_TO_CHAR[0x20], 'Ġ'); // space -> U+0120, as in every GPT-2 style vocabulary
  assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
  assert.equal(BYTE_TO_CHAR[0x41], 'A');
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(byteLevelToBytes(bytesToByteLevel(all)), all);
  assert.equal(byteLevelToBytes('a\u4e00'), null);
});

test('hand-built tokenizer.json: merges applied by rank (worked by hand)', () => {
  for (const form of ['string', 'array'] as const) {
    const tok = parseTokenizerJson(tinyTokenizerJson(form));
    // "hello": h e l l o -> he l l o -> he ll o -> hell o -> hello
    // " world": Ġ w o r l d -> Ġw o r l d -> Ġw or l d -> Ġwor l d -> Ġwor ld -> Ġworld
    assert.deepEqual(tok.encode('hello world'), [11, 16]);
    assert.deepEqual(tok.encode('hold'), [0, 3, 15]); // only "l d" applies
    assert.deepEqual(tok.encode('lll'), [9, 2]); // leftmost pair first
    assert.deepEqual(tok.encode('<|user|>hello', { allowSpecial: true }), [17, 11]);
    assert.equal(tok.decode([17, 11, 16, 18]), '<|user|>hello world<|endoftext|>');
    assert.equal(tok.decode([17, 11, 16, 18], { skipSpecial: true }), 'hello world');
    assert.equal(tok.vocabSize, 19);
    assert.equal(tok.idToToken(16), 'Ġworld');
    assert.equal(tok.tokenToId('<|endoftext|>'), 18);
  }
});

test('special tokens are plain text unless the caller allows them', () => {
  const tok = parseTokenizerJson(tinyTokenizerJson());
  // As plain text only 'e' and 'r' of "<|user|>" are in this tiny vocabulary; the other bytes
  // vanish (HF BPE without unk_token drops them).
  assert.deepEqual(tok.encode('<|user|>'), [1, 6]);
  assert.deepEqual(tok.encode('<|user|>', { allowSpecial: true }), [17]);
  assert.equal(tok.isSpecial(17), true);
  assert.equal(tok.isSpecial(11), false);
});

test('ignore_merges takes whole pieces found in the vocabulary', () => {
  const doc = JSON.parse(tinyTokenizerJson());
  doc.model.vocab.hd = 19; // "hd" exists as a token but no merge builds it
  const plain = parseTokenizerJson(JSON.stringify(doc));
  doc.model.ignore_merges = true;
  const ignoring = parseTokenizerJson(JSON.stringify(doc));
  assert.deepEqual(plain.encode('hd'), [0, 7]);
  assert.deepEqual(ignoring.encode('hd'), [19]);
});

test('TemplateProcessing post-processor adds its tokens only with addSpecialTokens', () => {
  const doc = JSON.parse(tinyTokenizerJson());
  doc.post_processor = {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|user|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|endoftext|>', type_id: 0 } }],
    pair: [],
    special_tokens: { '<|user|>': { id: '<|user|>', ids: [17], tokens: ['<|user|>'] }, '<|endoftext|>': { id: '<|endoftext|>', ids: [18], tokens: ['<|endoftext|>'] } },
  };
  const tok = parseTokenizerJson(JSON.stringify(doc));
  assert.deepEqual(tok.encode('hello'), [11]);
  assert.deepEqual(tok.encode('hello', { addSpecialTokens: true }), [17, 11, 18]);
});

test('decode turns invalid UTF-8 into U+FFFD and rejects unknown ids', () => {
  const doc = JSON.parse(tinyTokenizerJson());
  doc.model.vocab[BYTE_TO_CHAR[0xe6]] = 19; // first byte of a 3-byte character alone
  const tok = parseTokenizerJson(JSON.stringify(doc));
  assert.equal(tok.decode([11, 19]), 'hello\ufffd');
  assert.throws(() => tok.decode([99]), /not in the vocabulary/);
});

test('bad tokenizer.json files are CheckpointErrors that say what is wrong', () => {
  assert.throws(() => parseTokenizerJson('{'), /not valid JSON/);
  assert.throws(() => parseTokenizerJson(JSON.stringify({ model: { type: 'WordPiece', vocab: {} } })), /model.type must be "BPE"/);
  const doc = JSON.parse(tinyTokenizerJson());
  doc.model.merges.push('x y');
  assert.throws(() => parseTokenizerJson(JSON.stringify(doc)), (e: Error) => e.name === 'CheckpointError' && /merges\[9\].*"x", "y", "xy" not in the vocabulary/.test(e.message));
  const norm = JSON.parse(tinyTokenizerJson());
  norm.normalizer = { type: 'NFC' };
  assert.throws(() => parseTokenizerJson(JSON.stringify(norm)), /normalizer "NFC" is not supported/);
});

test('DecodeStream joins characters split across tokens and matches decode', async () => {
  const { trainBpeFromTexts } = await import('./bpe-train.js');
  const { DecodeStream } = await import('./tokenizer.js');
  const tok = trainBpeFromTexts(['日本語 and 😀 text ' + 'naïve '.repeat(3)], { vocabSize: 300 + 23 });
  const text = '日本語 😀 naïve<|user|>';
  const ids = tok.encode(text, { allowSpecial: true });
  const ds = new DecodeStream(tok);
  let out = '';
  const pieces: string[] = [];
  for (const id of ids) {
    const p = ds.push(id);
    pieces.push(p);
    out += p;
  }
  out += ds.finish();
  assert.equal(out, text);
  assert.ok(pieces.every((p) => !p.includes('\ufffd')));
  assert.ok(pieces.some((p) => p === ''), 'a multi-byte character split over tokens yields an empty piece first');
  const skip = new DecodeStream(tok, { skipSpecial: true });
  assert.equal(ids.map((id) => skip.push(id)).join('') + skip.finish(), '日本語 😀 naïve');
});
