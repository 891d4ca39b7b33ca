// A model folder whose tokenizer has more ids than the model's vocab_size (e.g. after
// `glmkit tokenizer train --out MODEL_DIR` with another size) refuses to load, naming both numbers,
// so generate/sft/export never run on the mismatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask } from '../src/data/world/index.js';
import { CheckpointError } from '../src/errors.js';
import { trainBpeFromTexts } from '../src/tokenizer/bpe-train.js';
import { loadTokenizer, saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { makeFixture } from './fixtures.js';
import { runCli, tempDir } from './helpers.js';

test('a tokenizer larger than the model vocabulary is a CheckpointError naming both sizes', async () => {
  const fx = await makeFixture(tempDir());
  const ok = loadTokenizer(fx.model); // the fixture's own tokenizer fits
  const docs = generateWorldTask('pretrain', { n: 200, seed: 4 }) as { text: string }[];
  const bigger = trainBpeFromTexts(docs.map((d) => d.text), { vocabSize: ok.vocabSize + 64 });
  saveTokenizer(bigger, fx.model);
  assert.throws(() => loadTokenizer(fx.model), (e: unknown) => e instanceof CheckpointError && new RegExp(`tokenizer has ${bigger.vocabSize} ids but the model's config.json has vocab_size ${ok.vocabSize}`).test((e as Error).message));
  const r = runCli(['generate', '--model', fx.model, '--prompt', 'hi', '--max-new-tokens', '2']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^glmkit: error\[checkpoint\]: .*vocab_size/);
});
