// A tokenizer with the pipeline's single-digit number split exports to GGUF (tokenizer.ggml.pre
// "qwen2", the same regex) and llama.cpp tokenizes text with numbers exactly as glmkit does.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateWorldTask } from '../src/data/world/index.js';
import { trainBpeFromTexts } from '../src/tokenizer/bpe-train.js';
import { GLM4_PRE_TOKENIZER, GLM4_SPLIT_PATTERN } from '../src/tokenizer/pretokenize.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { loadLlamaForTests } from '../src/util/test-skip.js';
import { makeFixture } from './fixtures.js';
import { runCli, tempDir } from './helpers.js';

// llama.cpp is optional: where its prebuilt binary cannot load, this test is skipped with the reason.
const { llama, skip } = await loadLlamaForTests();
after(async () => {
  await llama?.dispose();
});

test('single-digit pre-tokenizer: llama.cpp tokenizes like glmkit', { skip }, async () => {
  assert.ok(llama);
  const dir = tempDir();
  const fx = await makeFixture(dir);
  const docs = (generateWorldTask('pretrain', { n: 200, seed: 5 }) as { text: string }[]).map((d) => d.text);
  const pre = { ...GLM4_PRE_TOKENIZER, patterns: [GLM4_SPLIT_PATTERN.replace('\\p{N}{1,3}', '\\p{N}')] };
  const tok = trainBpeFromTexts(docs, { vocabSize: 300, preTokenizer: pre });
  saveTokenizer(tok, fx.model);
  const gguf = join(dir, 'm.gguf');
  const r = runCli(['export', 'gguf', '--model', fx.model, '--out', gguf]);
  assert.equal(r.code, 0, r.stderr);
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
  try {
    for (const text of ['What is 47 + 38? Box it.', '12345 apples and 6 pears', 'tens: 4 + 3 + 1 = 8, write 8', '2026-11-29 3.14159']) {
      assert.deepEqual([...model.tokenize(text)], tok.encode(text), JSON.stringify(text));
    }
    assert.ok(tok.encode('12345').length >= 5, 'digits are split one by one');
  } finally {
    await model.dispose();
  }
});
