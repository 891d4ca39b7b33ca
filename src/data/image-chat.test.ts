import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { tempDir } from '../util/temp-dir.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { GLM_SPECIAL_TOKENS } from '../tokenizer/special-tokens.js';
import { testCorpus } from '../tokenizer/test-fixtures.js';
import { type ImageProcessorLike, loadImageSftExamples, renderImageChat } from './image-chat.js';
import { decodePng } from './vision/png.js';
import { writeVisionTask } from './vision/index.js';

const tok = trainBpeFromTexts(testCorpus(150), { vocabSize: 256 + 100 + GLM_SPECIAL_TOKENS.length });

/**
 * A stand-in for the model's image processor (the real one is src/models/glm4v/preprocess.ts):
 * 14-pixel patches, one frame, 2 x 2 merge, so a 112 x 112 image has grid [1, 8, 8] and 16 tokens.
 */
const stub: ImageProcessorLike = {
  async preprocess(bytes) {
    const c = decodePng(bytes);
    if (c.width > 224) throw new DataError(`image is ${c.width} pixels wide, more than max_pixels allows`);
    const grid: [number, number, number] = [1, c.height / 14, c.width / 14];
    return { pixelValues: new Float32Array(grid[1] * grid[2] * 3 * 2 * 14 * 14), gridThw: grid };
  },
  tokenCount: (g) => (g[0] * g[1] * g[2]) / 4,
};

test('image SFT examples: each image expands to its processor token count, between its markers, outside the loss', async () => {
  const dir = tempDir();
  const file = join(dir, 'sft.jsonl');
  writeVisionTask('sft', { n: 3, seed: 1 }, file);
  writeVisionTask('sft', { n: 1, seed: 1, size: 56 }, join(dir, 'small.jsonl'));
  const { examples, dropped } = await loadImageSftExamples([file, join(dir, 'small.jsonl')], tok, 4096, stub);
  assert.equal(dropped, 0);
  assert.equal(examples.length, 4);
  const id = (t: string) => tok.tokenToId(t)!;
  examples.forEach((e, i) => {
    const want = i < 3 ? 16 : 4;
    assert.deepEqual(e.images.map((im) => im.gridThw), [i < 3 ? [1, 8, 8] : [1, 4, 4]]);
    const begin = e.ids.indexOf(id('<|begin_of_image|>'));
    assert.ok(begin >= 0);
    assert.deepEqual([...e.ids.slice(begin + 1, begin + 1 + want)], Array(want).fill(id('<|image|>')));
    assert.equal(e.ids[begin + 1 + want], id('<|end_of_image|>'));
    assert.ok([...e.mask.slice(begin, begin + want + 2)].every((m) => m === 0));
    assert.ok(e.mask.some((m) => m === 1));
  });
  // a limit below the image-expanded length drops the examples, and all dropped is an error
  await assert.rejects(() => loadImageSftExamples(file, tok, 10, stub), /all 3 examples are longer than max_seq_length 10/);
});

test('a missing or unreadable image is a DataError naming file:line and the content part', async () => {
  const dir = tempDir();
  const file = join(dir, 'bad.jsonl');
  const rec = (image: string) => JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'text', text: 'q' }, { type: 'image', image }] }, { role: 'assistant', content: 'a' }] });
  writeFileSync(file, `${rec('data:image/png;base64,iVBORw0KGgo=')}\n${rec('nope.png')}\n`);
  await assert.rejects(() => loadImageSftExamples(file, tok, 512, stub), (e: unknown) => e instanceof DataError && /bad\.jsonl:1: messages\[0\]\.content\[1\]: image data:image\/png.*cannot decode/.test(e.message));
  writeFileSync(file, `${rec('nope.png')}\n`);
  await assert.rejects(() => loadImageSftExamples(file, tok, 512, stub), (e: unknown) => e instanceof DataError && e.message.startsWith(`${file}:1: messages[0].content[1]: cannot read image`));
  // the processor's own refusal (too large) keeps the location too
  const big = join(dir, 'big.jsonl');
  writeVisionTask('rl', { n: 1, size: 448 }, big);
  const prompt = JSON.parse((await import('node:fs')).readFileSync(big, 'utf8')).prompt;
  await assert.rejects(
    () => renderImageChat(tok, { messages: prompt, add_generation_prompt: true }, { processor: stub, source: { baseDir: dir }, where: { file: big, line: 1 } }),
    (e: unknown) => e instanceof DataError && e.message.startsWith(`${big}:1: messages[0].content[0]: image big.images/000000-`) && /max_pixels/.test(e.message),
  );
  const ok = await renderImageChat(tok, { messages: prompt, add_generation_prompt: true }, { processor: { ...stub, preprocess: async () => ({ pixelValues: new Float32Array(1), gridThw: [1, 2, 2] }) }, source: { baseDir: dir } });
  assert.equal(ok.ids.filter((x) => x === tok.tokenToId('<|image|>')).length, 1);
  assert.ok(ok.text.endsWith('<|assistant|>'));
});
