/** Fixtures shared by the tokenizer tests (hand-built, no downloads). */

/** A hand-built tokenizer.json in Hugging Face's format (GLM-style pre-tokenizer, two added tokens). */
export function tinyTokenizerJson(mergeForm: 'string' | 'array' = 'string', extraModel: Record<string, unknown> = {}): string {
  const merges = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or', 'l d', 'Ġwor ld'];
  return JSON.stringify({
    version: '1.0',
    added_tokens: [
      { id: 17, content: '<|user|>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false },
      { id: 18, content: '<|endoftext|>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false },
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      ...extraModel,
      vocab: { h: 0, e: 1, l: 2, o: 3, 'Ġ': 4, w: 5, r: 6, d: 7, he: 8, ll: 9, hell: 10, hello: 11, 'Ġw': 12, or: 13, 'Ġwor': 14, ld: 15, 'Ġworld': 16 },
      merges: mergeForm === 'string' ? merges : merges.map((m) => m.split(' ')),
    },
  });
}

/** Small deterministic corpus with repeated words, numbers, code, Unicode and whitespace runs. */
export function testCorpus(lines: number, seed = 3): string[] {
  const words = ['the', 'then', 'there', 'cat', 'cats', 'sat', 'on', 'mat', "don't", 'naïve', '日本語', 'x=1;', '  return', '42', '123456', 'Hello', 'WORLD', '😀'];
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    let line = '';
    const n = 3 + Math.floor(rnd() * 12);
    for (let j = 0; j < n; j++) line += words[Math.floor(words.length * rnd() * rnd())] + (rnd() < 0.85 ? ' ' : rnd() < 0.5 ? '\n' : '\n\n  ');
    out.push(line);
  }
  return out;
}

