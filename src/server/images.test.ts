// renderRequestChat: what a server refuses before any image is read (text-only model, file paths
// without --image-root, remote hosts not allow-listed), each as a 400 naming the content part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './api-error.js';
import { renderRequestChat, type VisionServing } from './images.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { GLM_SPECIAL_TOKENS } from '../tokenizer/special-tokens.js';
import { testCorpus } from '../tokenizer/test-fixtures.js';

const tok = trainBpeFromTexts(testCorpus(60), { vocabSize: 256 + 40 + GLM_SPECIAL_TOKENS.length });
const chat = (url: string) => ({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What is it?' }, { type: 'image_url', image_url: { url } }] }], add_generation_prompt: true });
const vision: VisionServing = {
  processor: { preprocess: async () => assert.fail('no image may be read'), tokenCount: () => 1 },
  source: { baseDir: '.', allowRemote: [] },
  root: null,
};

async function refused(p: Promise<unknown>, param: string, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.deepEqual([e.status, e.param, e.code], [400, param, code]);
    assert.match(e.message, message);
    return true;
  });
}

test('a text-only model refuses image parts; text still renders', async () => {
  await refused(renderRequestChat(tok, chat('data:image/png;base64,iVBORw0KGgo='), null, 'glm-text'), 'messages[0].content[1]', 'image_not_supported', /'glm-text' is a text-only model and cannot read images \(the request holds 1 image part/);
  const r = await renderRequestChat(tok, { messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: true }, null, 'glm-text');
  assert.ok(r.ids.length > 2);
  assert.deepEqual(r.images, []);
});

test('a vision server without --image-root refuses file paths; remote hosts need the allow list', async () => {
  await refused(renderRequestChat(tok, chat('/etc/passwd'), vision, 'vl'), 'messages[0].content[1]', 'invalid_image', /image file paths are not read by this server \(started without --image-root DIR\); send the image as a data URL/);
  await refused(renderRequestChat(tok, chat('file:///etc/hosts'), vision, 'vl'), 'messages[0].content[1]', 'invalid_image', /started without --image-root/);
  await refused(renderRequestChat(tok, chat('https://example.org/cat.png'), vision, 'vl'), 'messages[0].content[1]', 'invalid_image', /remote image https:\/\/example\.org\/cat\.png refused: .*allow-list example\.org/);
  await refused(renderRequestChat(tok, chat('ftp://example.org/cat.png'), vision, 'vl'), 'messages[0].content[1]', 'invalid_image', /unsupported image URL scheme/);
});
