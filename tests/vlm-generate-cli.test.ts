// `glmkit generate` and `glmkit chat` on a GLM-4.1V folder: --image with --prompt, image parts in
// --prompts JSONL (paths relative to the file), chat --image; the answers are in-process greedy's.
// Images given to a text-only model are refused (usage error for --image, file:line for JSONL).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPreset } from '../src/models/glm/config.js';
import { saveModel } from '../src/models/glm/checkpoint.js';
import { GlmForCausalLM } from '../src/models/glm/model.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { chatTurns, loadChatModel, type ChatModel } from '../src/cli/chat-turn.js';
import { runCli, tempDir } from './helpers.js';
import { pngBytes, tinyTokenizer, writeTinyVl } from './vlm-fixtures.js';

const work = tempDir('vlm-gen-cli-');
const vl = join(work, 'vl'), text = join(work, 'text');
const red = join(work, 'data', 'img', 'red.png'), blue = join(work, 'data', 'blue.png');
let m: ChatModel;
const greedy = { thinking: false, maxNewTokens: 6, temperature: 0, topP: 1, seed: 0 };
const flags = ['--thinking', 'off', '--max-new-tokens', '6', '--temperature', '0'];

before(async () => {
  writeTinyVl(vl);
  m = loadChatModel(vl, 'f32');
  mkdirSync(join(work, 'data', 'img'), { recursive: true });
  writeFileSync(red, await pngBytes(100, 80, [200, 30, 40]));
  writeFileSync(blue, await pngBytes(70, 120, [20, 60, 220]));
  saveModel(text, new GlmForCausalLM(loadPreset('tiny'), { seed: 1 }));
  saveTokenizer(tinyTokenizer(), text);
});

const user = (content: unknown) => ({ messages: [{ role: 'user', content }] });

test('generate --prompt with --image (repeatable) answers as in-process greedy does', async () => {
  const r = runCli(['generate', '--model', vl, '--prompt', 'Which is larger?', '--image', red, '--image', blue, '--json', ...flags]);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const [want] = await chatTurns(m, [user([{ type: 'image', image: red }, { type: 'image', image: blue }, { type: 'text', text: 'Which is larger?' }])], { ...greedy, baseDir: work });
  assert.deepEqual(got.ids, want.ids);
  assert.equal(got.ids.length, 6);
  assert.equal(got.content, want.content);
});

test('generate --prompts: JSONL chats with image parts relative to the file, HF and OpenAI forms, and a text-only one', async () => {
  const file = join(work, 'data', 'prompts.jsonl');
  const records = [
    user([{ type: 'image', image: 'img/red.png' }, { type: 'text', text: 'Count.' }]),
    user([{ type: 'text', text: 'Read:' }, { type: 'image_url', image_url: { url: 'blue.png' } }]),
    { prompt: 'Hello.' },
  ];
  writeFileSync(file, records.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const r = runCli(['generate', '--model', vl, '--prompts', file, '--batch-size', '2', ...flags]);
  assert.equal(r.code, 0, r.stderr);
  const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const want = await chatTurns(m, [user([{ type: 'image', image: red }, { type: 'text', text: 'Count.' }]), user([{ type: 'text', text: 'Read:' }, { type: 'image', image: blue }]), user('Hello.')], { ...greedy, baseDir: work });
  assert.deepEqual(got.map((g) => g.index), [0, 1, 2]);
  assert.deepEqual(got.map((g) => g.ids), want.map((w) => w.ids));
});

test('chat --image: the first message carries the image', async () => {
  const r = runCli(['chat', '--model', vl, '--image', red, '--thinking', 'off', '--max-new-tokens', '6', '--temperature', '0'], { input: 'What is it?\n/exit\n' });
  assert.equal(r.code, 0, r.stderr);
  const [want] = await chatTurns(m, [user([{ type: 'image', image: red }, { type: 'text', text: 'What is it?' }])], { ...greedy, baseDir: work });
  assert.ok(want.content.trim().length > 0, 'a non-empty answer to look for');
  assert.ok(r.stdout.includes(want.content), `chat output ${JSON.stringify(r.stdout)} holds ${JSON.stringify(want.content)}`);
});

test('images for a text-only model: --image is a usage error, a JSONL image part names file:line', () => {
  const a = runCli(['generate', '--model', text, '--prompt', 'hi', '--image', red]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--image needs a vision-language model \(a GLM-4\.1V folder, model_type glm4v\); .*text is a text-only model/);
  const file = join(work, 'data', 'text.jsonl');
  writeFileSync(file, `${JSON.stringify({ prompt: 'hi' })}\n${JSON.stringify(user([{ type: 'image', image: 'blue.png' }]))}\n`);
  const b = runCli(['generate', '--model', text, '--prompts', file]);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /text\.jsonl:2: messages\[0\]\.content\[0\]: holds 1 image\(s\), but .* is a text-only model/);
});
