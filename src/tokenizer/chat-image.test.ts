import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Template } from '@huggingface/jinja';
import { ConfigError, DataError } from '../errors.js';
import { trainBpeFromTexts } from './bpe-train.js';
import { GLM_CHAT_TEMPLATE } from './chat-template.js';
import { chatImages, renderChat, renderChatText } from './chat.js';
import { GLM_SPECIAL_TOKENS, IMAGE_BEGIN_TOKEN, IMAGE_END_TOKEN, IMAGE_TOKEN } from './special-tokens.js';
import { testCorpus } from './test-fixtures.js';

const IMG = '<|begin_of_image|><|image|><|end_of_image|>';

const CASES: Array<{ name: string; conv: Record<string, unknown>; text: string }> = [
  {
    name: 'HF image part before the question, thinking mode, generation prompt',
    conv: { messages: [{ role: 'user', content: [{ type: 'image', image: 'a.png' }, { type: 'text', text: 'describe this image' }] }], add_generation_prompt: true },
    text: `[gMASK]<sop><|user|>\n${IMG}describe this image<|assistant|>`,
  },
  {
    name: 'two OpenAI image_url parts, an answer and a text-only follow-up',
    conv: {
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }, { type: 'image_url', image_url: { url: 'b.png', detail: 'low' } }, { type: 'text', text: 'Compare.' }] },
        { role: 'assistant', content: 'They differ.' },
        { role: 'user', content: 'Why?' },
      ],
      add_generation_prompt: true,
    },
    text: `[gMASK]<sop><|user|>\n${IMG}${IMG}Compare.<|assistant|>\n<think></think>\nThey differ.<|user|>\nWhy?<|assistant|>`,
  },
  {
    name: 'direct mode: /nothink follows the image when the image comes last',
    conv: { messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', image: 'x.png' }] }], enable_thinking: false, add_generation_prompt: true },
    text: `[gMASK]<sop><|user|>\nWhat is this?${IMG}/nothink<|assistant|>\n<think></think>`,
  },
  {
    name: 'answer in GLM-4.1V format with a box',
    conv: {
      messages: [
        { role: 'user', content: [{ type: 'image', image: 'c.png' }, { type: 'text', text: 'How many?' }] },
        { role: 'assistant', reasoning_content: 'I count three.', content: '<answer><|begin_of_box|>3<|end_of_box|></answer>' },
      ],
    },
    text: `[gMASK]<sop><|user|>\n${IMG}How many?<|assistant|>\n<think>I count three.</think>\n<answer><|begin_of_box|>3<|end_of_box|></answer>`,
  },
];

for (const c of CASES) {
  test(`image content: renderer and Jinja template agree: ${c.name}`, () => {
    assert.equal(renderChatText(c.conv), c.text);
    const out = new Template(GLM_CHAT_TEMPLATE).render({ ...c.conv, bos_token: '', eos_token: '<|endoftext|>' });
    assert.equal(out, c.text);
  });
}

test('the image markers are special tokens of trained tokenizers, after the GLM-4.5 ones', () => {
  const n = GLM_SPECIAL_TOKENS.length;
  assert.deepEqual(GLM_SPECIAL_TOKENS.slice(n - 3), [IMAGE_BEGIN_TOKEN, IMAGE_TOKEN, IMAGE_END_TOKEN]);
  assert.deepEqual([IMAGE_BEGIN_TOKEN, IMAGE_TOKEN, IMAGE_END_TOKEN], ['<|begin_of_image|>', '<|image|>', '<|end_of_image|>']);
  assert.equal(GLM_SPECIAL_TOKENS.indexOf('<|begin_of_box|>'), n - 5);
});

test('imageTokenCounts expands each image to its own number of <|image|> tokens, as single ids outside the loss', () => {
  const tok = trainBpeFromTexts(testCorpus(150), { vocabSize: 256 + 100 + GLM_SPECIAL_TOKENS.length });
  const conv = {
    messages: [
      { role: 'user', content: [{ type: 'image', image: 'a.png' }, { type: 'text', text: 'and' }, { type: 'image', image: 'b.png' }] },
      { role: 'assistant', content: 'ok' },
    ],
  };
  const text = renderChatText(conv, { imageTokenCounts: [3, 2] });
  assert.ok(text.includes(`${IMAGE_BEGIN_TOKEN}${IMAGE_TOKEN.repeat(3)}${IMAGE_END_TOKEN}and${IMAGE_BEGIN_TOKEN}${IMAGE_TOKEN.repeat(2)}${IMAGE_END_TOKEN}`), text);
  const r = renderChat(tok, conv, { imageTokenCounts: [3, 2] });
  const id = (t: string) => tok.tokenToId(t)!;
  const positions = (t: string) => r.ids.flatMap((x, i) => (x === id(t) ? [i] : []));
  assert.equal(positions(IMAGE_TOKEN).length, 5);
  assert.equal(positions(IMAGE_BEGIN_TOKEN).length, 2);
  assert.equal(positions(IMAGE_END_TOKEN).length, 2);
  const first = positions(IMAGE_BEGIN_TOKEN)[0];
  assert.deepEqual(r.ids.slice(first, first + 5), [id(IMAGE_BEGIN_TOKEN), id(IMAGE_TOKEN), id(IMAGE_TOKEN), id(IMAGE_TOKEN), id(IMAGE_END_TOKEN)]);
  assert.ok(positions(IMAGE_TOKEN).every((i) => r.assistantMask[i] === 0));
  assert.equal(r.ids.length, r.assistantMask.length);
  // allowImages: one placeholder per image, the template's unexpanded form
  assert.equal(renderChat(tok, conv, { allowImages: true }).ids.filter((x) => x === id(IMAGE_TOKEN)).length, 2);
  // ids for a text-only model: images are refused, never silently dropped
  assert.throws(() => renderChat(tok, conv, { file: 'x.jsonl:3' }), (e: unknown) => e instanceof DataError && /^x\.jsonl:3: the conversation holds 2 image\(s\), but it is being rendered for a text-only model/.test(e.message));
  assert.equal(renderChat(tok, { messages: [{ role: 'user', content: [{ type: 'text', text: 'only text' }] }] }).ids.length > 0, true);
  assert.throws(() => renderChatText(conv, { imageTokenCounts: [3] }), (e: unknown) => e instanceof ConfigError && /holds 2 image\(s\) but 1 token count/.test(e.message));
  assert.throws(() => renderChatText(conv, { imageTokenCounts: [3, 0] }), (e: unknown) => e instanceof ConfigError && /imageTokenCounts\[1\]/.test(e.message));
});

test('chatImages lists the image references in order of appearance', () => {
  const conv = {
    messages: [
      { role: 'system', content: 'S' },
      { role: 'user', content: [{ type: 'image', image: 'one.png' }, { type: 'text', text: 'x' }] },
      { role: 'assistant', content: 'y' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.org/two.png' } }, { type: 'image', path: 'three.png' }] },
    ],
  };
  assert.deepEqual(chatImages(conv), ['one.png', 'https://example.org/two.png', 'three.png']);
  assert.deepEqual(chatImages({ messages: [{ role: 'user', content: 'no images' }] }), []);
});

test('bad image parts are DataErrors naming the file and the field', () => {
  const user = (content: unknown) => ({ messages: [{ role: 'user', content }] });
  const bad: Array<[unknown, RegExp]> = [
    [user([{ type: 'image' }]), /messages\[0\]\.content\[0\]: an image part needs exactly one of "image", "url" or "path"/],
    [user([{ type: 'image', image: 'a.png', url: 'b.png' }]), /needs exactly one of .* got image and url/],
    [user([{ type: 'image', image: '' }]), /content\[0\]\.image: expected an image reference/],
    [user([{ type: 'image', image: 7 }]), /content\[0\]\.image: expected an image reference/],
    [user([{ type: 'image_url', image_url: 'u.png' }]), /content\[0\]\.image_url: expected "image_url": \{"url": string\}/],
    [user([{ type: 'image_url', image_url: {} }]), /content\[0\]\.image_url\.url: expected an image reference/],
    [user([{ type: 'text', text: 'a' }, { type: 'image', image: 'data:image/png;base64,@@@' }]), /content\[1\]\.image: malformed data URL/],
    [user([{ type: 'audio', audio: 'a.wav' }]), /content\[0\]: expected a content part/],
    [{ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'image', image: 'a.png' }] }] }, /messages\[1\]\.content\[0\]: images are read in user messages only/],
    [{ messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'a.png' } }] }] }, /messages\[0\]\.content\[0\]: images are read in user messages only/],
  ];
  for (const [conv, re] of bad) {
    assert.throws(() => renderChatText(conv, { file: 'data.jsonl:7' }), (e: Error) => e.name === 'DataError' && e.message.startsWith('data.jsonl:7: ') && re.test(e.message), `expected ${re} for ${JSON.stringify(conv)}`);
  }
});
