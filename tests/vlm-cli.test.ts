// `glmkit vlm prealign` and `glmkit sft` on a glm4v folder: both train from the command line and
// write loadable folders; a bad image row stops with its file:line:field; wrong models and
// subcommands are usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeVisionTask } from '../src/data/vision/index.js';
import { loadGlm4vModel } from '../src/models/glm4v/checkpoint.js';
import { trainBpeFromTexts } from '../src/tokenizer/bpe-train.js';
import { GLM_SPECIAL_TOKENS } from '../src/tokenizer/special-tokens.js';
import { testCorpus } from '../src/tokenizer/test-fixtures.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { makeFixture } from './fixtures.js';
import { runCli, tempDir } from './helpers.js';

test('glmkit vlm prealign then glmkit sft train a glm4v folder on image chats; bad rows name file and line', async () => {
  const dir = tempDir('vlm-cli-');
  saveTokenizer(trainBpeFromTexts(testCorpus(150), { vocabSize: 256 + 100 + GLM_SPECIAL_TOKENS.length }), join(dir, 'tok'));
  const init = runCli(['init', '--preset', 'tiny-vl', '--tokenizer', join(dir, 'tok'), '--out', join(dir, 'model')]);
  assert.equal(init.code, 0, init.stderr);
  const opts = { size: 56, difficulty: [1], families: ['count' as const] };
  writeVisionTask('caption', { ...opts, n: 4, seed: 1 }, join(dir, 'cap.jsonl'));
  writeVisionTask('sft', { ...opts, n: 4, seed: 2 }, join(dir, 'sft.jsonl'));
  const common = ['--max-steps', '2', '--per-device-train-batch-size', '2', '--warmup-steps', '1'];

  const pa = runCli(['vlm', 'prealign', '--model', join(dir, 'model'), '--data', join(dir, 'cap.jsonl'), '--out', join(dir, 'pa'), ...common]);
  assert.equal(pa.code, 0, pa.stderr);
  assert.match(pa.stderr, /vlm prealign: 4 examples with 4 images/);
  assert.equal(JSON.parse(pa.stdout.trim().split('\n').pop()!).steps, 2);
  assert.equal(JSON.parse(readFileSync(join(dir, 'pa', 'training_config.json'), 'utf8')).method, 'vlm-prealign');
  loadGlm4vModel(join(dir, 'pa', 'final'));

  const sft = runCli(['sft', '--model', join(dir, 'pa', 'final'), '--data', join(dir, 'sft.jsonl'), '--eval-data', join(dir, 'sft.jsonl'), '--out', join(dir, 'sft'), ...common]);
  assert.equal(sft.code, 0, sft.stderr);
  assert.match(sft.stderr, /sft: 4 examples with 4 images/);
  const metrics = readFileSync(join(dir, 'sft', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(Number.isFinite(metrics.at(-1).eval_loss));
  assert.equal(loadGlm4vModel(join(dir, 'sft', 'final')).numParameters(), loadGlm4vModel(join(dir, 'model')).numParameters());

  // the second row names an image that is not there: the run stops before training, naming file:line:field
  const rows = readFileSync(join(dir, 'sft.jsonl'), 'utf8').trim().split('\n');
  rows[1] = rows[1].replace(/sft\.images\/[^"]+\.png/, 'sft.images/missing.png');
  writeFileSync(join(dir, 'bad.jsonl'), rows.join('\n') + '\n');
  const bad = runCli(['sft', '--model', join(dir, 'pa', 'final'), '--data', join(dir, 'bad.jsonl'), '--out', join(dir, 'bad'), ...common]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^glmkit: error\[data\]: .*bad\.jsonl:2: messages\[0\]\.content\[0\]: cannot read image/);

  // prealign needs a glm4v folder; unknown subcommands are usage errors
  const text = await makeFixture(join(dir, 'text'));
  const wrong = runCli(['vlm', 'prealign', '--model', text.model, '--data', join(dir, 'cap.jsonl'), '--out', join(dir, 'w'), ...common]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /expected a GLM-4\.1V folder/);
  assert.equal(runCli(['vlm', 'nope']).code, 2);
});
