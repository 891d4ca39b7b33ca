import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GLM4_PRE_TOKENIZER, GLM4_SPLIT_PATTERN, PreTokenizer, toJsRegex } from './pretokenize.js';

const glm = new PreTokenizer(GLM4_PRE_TOKENIZER);

test('GLM-4 split pattern cuts text as the cl100k-style regex does (hand-worked example)', () => {
  // Worked by hand through the alternatives in order (contractions, letters with one optional
  // non-letter prefix, 1-3 digits, punctuation runs, newline runs, spaces not followed by text).
  const text = "Hello world's  end\n\n  x=12345 I'LL";
  assert.deepEqual(glm.split(text), ['Hello', ' world', "'s", ' ', ' end', '\n\n', ' ', ' x', '=', '123', '45', ' I', "'LL"]);
  assert.deepEqual(glm.split('a  \n b'), ['a', '  \n', ' b']);
  assert.deepEqual(glm.split('(foo)!!\n'), ['(foo', ')!!\n']);
  assert.deepEqual(glm.split('日本語 テスト'), ['日本語', ' テスト']);
});

test('inline case-insensitive groups become classes, with Oniguruma folds', () => {
  const re = toJsRegex("(?i:'s|'ll)");
  assert.deepEqual("'S 'Ll 'ſ 'x".match(re), ["'S", "'Ll", "'ſ"]);
  assert.throws(() => toJsRegex('(?i:a'), /unbalanced/);
});

test('\\s follows Oniguruma: U+0085 is a space, U+FEFF is not', () => {
  // Oniguruma: \u0085 is whitespace, so "\u0085\u0085b" -> one space piece, then space+letter.
  assert.deepEqual(glm.split('a\u0085\u0085b'), ['a', '\u0085', '\u0085b']);
  // JavaScript's own \s would treat U+FEFF as a space; Oniguruma takes it as a non-letter prefix.
  assert.deepEqual(glm.split('a \ufeffb'), ['a', ' \ufeff', 'b']);
  assert.equal(GLM4_SPLIT_PATTERN.startsWith("(?i:'s|'t|'re|'ve|'m|'ll|'d)"), true);
});

test('pieces always concatenate back to the text (random strings)', () => {
  const alphabet = ['a', 'Z', ' ', '  ', '\n', '\r\n', '\t', '1', '23', "'", 's', '.', '!', 'é', '日', '😀', '\u00a0'];
  let seed = 7;
  for (let n = 0; n < 300; n++) {
    let s = '';
    const len = n % 40;
    for (let i = 0; i < len; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      s += alphabet[seed % alphabet.length];
    }
    const pieces = glm.split(s);
    assert.equal(pieces.join(''), s);
    const viaEach: string[] = [];
    glm.forEachPiece(s, (p) => viaEach.push(p));
    assert.deepEqual(viaEach, pieces);
    for (const p of pieces) assert.ok(p.length > 0);
  }
});
