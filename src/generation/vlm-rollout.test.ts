// rolloutWithImages: chats with image parts (HF and OpenAI forms) are rendered with their images and
// sampled by generateWithImages; rows are prompt-major and carry their prompt's images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { presetDir } from '../models/glm/config.js';
import { initGlm4vForTokenizer } from '../models/glm4v/init-model.js';
import { imageProcessor, imageProcessorConfigFromHf } from '../models/glm4v/preprocess.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { GLM_SPECIAL_TOKENS } from '../tokenizer/special-tokens.js';
import { testCorpus } from '../tokenizer/test-fixtures.js';
import { Rng } from '../util/rng.js';
import { stopTokenIds, padTokenId } from './rollout.js';
import { generateWithImages } from './vlm-generate.js';
import { renderImagePrompts, rolloutWithImages } from './vlm-rollout.js';

test('rolloutWithImages: prompt-major rows with their images, the tokens generateWithImages gives the rendered prompts', async () => {
  const tok = trainBpeFromTexts(testCorpus(150), { vocabSize: 256 + 100 + GLM_SPECIAL_TOKENS.length });
  const model = initGlm4vForTokenizer('tiny-vl', tok, 5);
  const pre = imageProcessorConfigFromHf(JSON.parse(readFileSync(join(presetDir(), 'tiny-vl.preprocessor_config.json'), 'utf8')), 'tiny-vl');
  const png = async (w: number, h: number, r: number) => (await sharp({ create: { width: w, height: h, channels: 3, background: { r, g: 40, b: 90 } } }).png().toBuffer()).toString('base64');
  const prompts = [
    [{ role: 'user', content: [{ type: 'image', image: `data:image/png;base64,${await png(112, 84, 200)}` }, { type: 'text', text: 'How many circles?' }] }],
    { messages: [{ role: 'user', content: [{ type: 'text', text: 'Read it:' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${await png(84, 140, 10)}` } }] }] },
  ];
  const opts = { processor: imageProcessor(pre), source: { baseDir: '.' }, maxNewTokens: 4, temperature: 0, numSamples: 2, batchSize: 3 };
  const rolls = await rolloutWithImages(model, tok, prompts, opts);
  assert.deepEqual(rolls.map((r) => r.promptIndex), [0, 0, 1, 1]);
  const rendered = await renderImagePrompts(tok, prompts, opts);
  assert.deepEqual(rendered.map((p) => p.images!.map((im) => im.gridThw)), [[[1, 6, 8]], [[1, 10, 6]]]);
  const imageId = model.config.imageTokenId;
  assert.deepEqual(rendered.map((p) => p.ids.filter((t) => t === imageId).length), [12, 15]);
  const direct = generateWithImages(model, rendered, { maxNewTokens: 4, temperature: 0, stopTokens: stopTokenIds(tok), padId: padTokenId(tok), vocabLimit: tok.vocabSize });
  rolls.forEach((r) => {
    assert.deepEqual(r.promptIds, rendered[r.promptIndex].ids);
    assert.deepEqual(r.images.map((im) => im.gridThw), rendered[r.promptIndex].images!.map((im) => im.gridThw));
    assert.deepEqual(r.completionIds, direct.tokens[r.promptIndex]);
    assert.deepEqual(r.logprobs.map((x) => x.toFixed(4)), direct.logprobs[r.promptIndex].map((x) => x.toFixed(4)));
  });
  // sampling: the rng advances, rows of one prompt may differ, and a seed reproduces them
  const a = await rolloutWithImages(model, tok, prompts, { ...opts, temperature: 1, rng: new Rng(3) });
  const b = await rolloutWithImages(model, tok, prompts, { ...opts, temperature: 1, rng: new Rng(3) });
  assert.deepEqual(a.map((r) => r.completionIds), b.map((r) => r.completionIds));
});
