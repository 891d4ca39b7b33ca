import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from '../../util/temp-dir.js';
import { DataError, ConfigError } from '../../errors.js';
import { readJsonl } from '../jsonl.js';
import { loadImageBytesSync } from '../image-source.js';
import { recordReward } from '../../rewards/index.js';
import { loadRlPrompts } from '../../trainers/grpo/grpo-data.js';
import { loadSftExamples } from '../../trainers/sft/sft-data.js';
import { trainBpeFromTexts } from '../../tokenizer/bpe-train.js';
import { chatImages, renderChatText } from '../../tokenizer/chat.js';
import { GLM_SPECIAL_TOKENS } from '../../tokenizer/special-tokens.js';
import { testCorpus } from '../../tokenizer/test-fixtures.js';
import { CAPTION_PROMPT, generateVisionTask, glm4vAnswer, imageFolderOf, writeVisionTask } from './index.js';
import { decodePng } from './png.js';

const tok = trainBpeFromTexts(testCorpus(150), { vocabSize: 256 + 100 + GLM_SPECIAL_TOKENS.length });

test('sft records: thinking-mode image chats whose PNGs sit beside the JSONL and decode to the generated scene', () => {
  const dir = tempDir();
  const out = join(dir, 'sft.jsonl');
  const res = writeVisionTask('sft', { n: 8, seed: 3, split: 'train' }, out);
  assert.equal(res.records, 8);
  assert.equal(res.images, join(dir, 'sft.images'));
  assert.equal(readdirSync(res.images).length, 8);
  const recs = readJsonl(out);
  const problems = [...generateVisionTask('sft', { n: 8, seed: 3, split: 'train' })];
  recs.forEach((r, i) => {
    const v = r.value as { messages: Array<{ role: string; content: unknown; reasoning_content?: string }>; enable_thinking: boolean; family: string };
    assert.equal(v.enable_thinking, true);
    assert.equal(v.family, problems[i].family);
    const [image] = chatImages({ messages: v.messages });
    assert.match(image, /^sft\.images\/\d{6}-[a-z]+\.png$/);
    const canvas = decodePng(loadImageBytesSync(image, { baseDir: dirname(out) }));
    assert.deepEqual(canvas.data, problems[i].canvas.data);
    assert.equal(v.messages[1].content, glm4vAnswer(problems[i].answer));
    assert.equal(v.messages[1].reasoning_content, problems[i].reasoning);
    assert.ok(renderChatText({ messages: v.messages }).includes('<|begin_of_image|><|image|><|end_of_image|>'));
  });
  // the text-only SFT reader refuses them (a text model cannot see the image), naming the line;
  // src/data/image-chat.ts loads them for a vision model (image-chat.test.ts)
  assert.throws(() => loadSftExamples(out, tok, 4096), (e: unknown) => e instanceof DataError && e.message.startsWith(`${out}:1: the conversation holds 1 image(s), but it is being rendered for a text-only model`));
  // the same arguments write the same bytes; a second write needs overwrite
  const again = join(dir, 'again.jsonl');
  writeVisionTask('sft', { n: 8, seed: 3, split: 'train' }, again);
  assert.equal(readFileSync(again, 'utf8').replaceAll('again.images/', 'sft.images/'), readFileSync(out, 'utf8'));
  assert.deepEqual(readFileSync(join(dir, 'again.images', '000005-' + problems[5].family + '.png')), readFileSync(join(dir, 'sft.images', '000005-' + problems[5].family + '.png')));
  assert.throws(() => writeVisionTask('sft', { n: 1 }, out), (e: unknown) => e instanceof ConfigError && /exists; pass --overwrite/.test(e.message));
  writeVisionTask('sft', { n: 2 }, out, { overwrite: true });
  assert.equal(readdirSync(imageFolderOf(out)).length, 2, 'the old images are gone');
});

test('rl records: the reference answer in GLM-4.1V format earns reward 1 under the record verifier, a wrong one 0', () => {
  const dir = tempDir();
  const out = join(dir, 'rl.jsonl');
  writeVisionTask('rl', { n: 40, seed: 9 }, out);
  const prompts = loadRlPrompts(out);
  assert.equal(prompts.length, 40);
  const verifiers = new Set<string>();
  for (const p of prompts) {
    verifiers.add(p.verifier!);
    assert.match(p.task!, /^vision-(count|digits|words|bars|clock|table|spatial|geometry)$/);
    const out = (content: string) => ({ content, reasoning_content: 'r', tool_calls: [], malformed: [] });
    assert.equal(recordReward(p, out(glm4vAnswer(p.answer))), 1, `${p.task} ${p.answer}`);
    assert.equal(recordReward(p, out(glm4vAnswer(p.answer === 'yes' ? 'no' : p.answer === 'A' ? 'B' : `${p.answer}1`))), 0, `${p.task} ${p.answer}`);
    assert.equal(recordReward(p, out(`<answer>${p.answer}</answer>`)), 0, 'no box is wrong');
  }
  assert.deepEqual([...verifiers].sort(), ['clock', 'exact', 'numeric']);
});

test('caption and family records', () => {
  const dir = tempDir();
  writeVisionTask('caption', { n: 3, seed: 1, families: ['count'] }, join(dir, 'cap.jsonl'));
  for (const r of readJsonl(join(dir, 'cap.jsonl'))) {
    const v = r.value as { messages: Array<{ content: unknown }>; enable_thinking: boolean; task: string };
    assert.equal(v.enable_thinking, false);
    assert.equal(v.task, 'vision-caption');
    assert.deepEqual((v.messages[0].content as Array<{ type: string; text?: string }>)[1], { type: 'text', text: CAPTION_PROMPT });
    assert.match(v.messages[1].content as string, /on a grey background\.$/);
  }
  writeVisionTask('clock', { n: 3, seed: 1, difficulty: [1] }, join(dir, 'clock.jsonl'));
  for (const r of readJsonl(join(dir, 'clock.jsonl'))) {
    const v = r.value as { answer: string; scene: { hour: number; minute: number }; image: string; question: string; reasoning: string };
    assert.equal(v.answer, `${v.scene.hour}:00`);
    assert.match(v.image, /^clock\.images\/\d{6}-clock\.png$/);
    assert.ok(v.reasoning.endsWith(`The time is ${v.answer}.`));
  }
});

test('SFT and RL readers reject bad image parts with file:line and the field', () => {
  const dir = tempDir();
  const good = { messages: [{ role: 'user', content: [{ type: 'image', image: 'a.png' }, { type: 'text', text: 'q' }] }, { role: 'assistant', content: glm4vAnswer('1') }] };
  const sft = join(dir, 'sft.jsonl');
  writeFileSync(sft, JSON.stringify(good) + '\n' + JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,%%' } }] }, { role: 'assistant', content: 'x' }] }) + '\n');
  writeFileSync(sft, JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }) + '\n' + JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,%%' } }] }, { role: 'assistant', content: 'x' }] }) + '\n');
  assert.throws(() => loadSftExamples(sft, tok, 512), (e: unknown) => e instanceof DataError && e.message.startsWith(`${sft}:2: messages[0].content[0].image_url.url: malformed data URL`));
  const rl = join(dir, 'rl.jsonl');
  writeFileSync(rl, JSON.stringify({ prompt: good.messages.slice(0, 1), answer: '1', verifier: 'numeric' }) + '\n\n' + JSON.stringify({ prompt: [{ role: 'user', content: [{ type: 'image' }] }], answer: '1', verifier: 'numeric' }) + '\n');
  assert.throws(() => loadRlPrompts(rl), (e: unknown) => e instanceof DataError && e.message.startsWith(`${rl}:3: prompt[0].content[0]: an image part needs exactly one of`));
  writeFileSync(rl, JSON.stringify({ prompt: good.messages.slice(0, 1), answer: '1', verifier: 'vision' }) + '\n');
  assert.throws(() => loadRlPrompts(rl), (e: unknown) => e instanceof DataError && e.message.startsWith(`${rl}:1: verifier: unknown verifier "vision"`));
});
