// `glmkit serve --model <glm4v folder>`: image questions through the official `openai` client with
// `image_url` (a data URL, a file under --image-root, an allow-listed http URL) are answered with the
// tokens in-process greedy generation gives, streamed or whole; refused images are OpenAI 400s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { loadGlm4vModel } from '../src/models/glm4v/checkpoint.js';
import { imageProcessor, readImageProcessorConfig } from '../src/models/glm4v/preprocess.js';
import { renderImagePrompts, rolloutImagePrompts } from '../src/generation/vlm-rollout.js';
import type { Tokenizer } from '../src/tokenizer/tokenizer.js';
import { tempDir } from './helpers.js';
import { startServer } from './serve-process.js';
import { dataUrl, pngBytes, writeTinyVl } from './vlm-fixtures.js';

const MAX = 10;
const work = tempDir('vlm-serve-');
const modelDir = join(work, 'tiny-vl');
const root = join(work, 'images');
let tok: Tokenizer;
let proc: ChildProcess | null = null;
let client: OpenAI;
let remote: Server;
let remoteHost = '';
let red: Buffer, blue: Buffer;
let model: ReturnType<typeof loadGlm4vModel> | undefined;

before(async () => {
  tok = writeTinyVl(modelDir);
  red = await pngBytes(100, 80, [200, 30, 40]);
  blue = await pngBytes(70, 120, [20, 60, 220]);
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'sub', 'blue.png'), blue);
  writeFileSync(join(work, 'outside.png'), blue);
  remote = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(red);
  });
  await new Promise<void>((r) => remote.listen(0, '127.0.0.1', r));
  remoteHost = `127.0.0.1:${(remote.address() as AddressInfo).port}`;
  const s = await startServer(modelDir, ['--model-name', 'vl', '--image-root', root, '--image-allow-host', remoteHost, '--max-batch', '2']);
  proc = s.proc;
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'none', maxRetries: 0 });
});

after(async () => {
  proc?.kill('SIGTERM');
  await new Promise<void>((r) => remote.close(() => r()));
});

const ask = (url: string) => [{ role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url } }, { type: 'text' as const, text: 'How many shapes are there?' }] }];

/** The answer in-process greedy generation gives to the same question about these bytes. */
async function reference(png: Buffer): Promise<{ content: string; tokens: number }> {
  model ??= loadGlm4vModel(modelDir);
  const prompts = await renderImagePrompts(tok, [ask(dataUrl(png))], { processor: imageProcessor(readImageProcessorConfig(modelDir)), source: { baseDir: work }, thinking: false });
  const [r] = rolloutImagePrompts(model, tok, prompts, { maxNewTokens: MAX, temperature: 0 });
  assert.equal(r.completionIds.length, MAX, 'the zeroed stop rows let greedy run to max_tokens');
  return { content: r.parsed.content, tokens: r.completionIds.length };
}

async function chat(url: string) {
  return client.chat.completions.create({ model: 'vl', messages: ask(url), temperature: 0, max_tokens: MAX, chat_template_kwargs: { enable_thinking: false } } as never) as Promise<OpenAI.Chat.Completions.ChatCompletion>;
}

test('an image_url question (data URL, file under --image-root, allow-listed URL) gets in-process greedy tokens, whole and streamed', async () => {
  const wantRed = await reference(red), wantBlue = await reference(blue);
  assert.notEqual(wantRed.content, wantBlue.content, 'the two images give different answers (the image reaches the model)');
  const whole = await chat(dataUrl(red));
  assert.equal(whole.choices[0].message.content, wantRed.content);
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage!.completion_tokens, wantRed.tokens);
  const file = await chat('sub/blue.png');
  assert.equal(file.choices[0].message.content, wantBlue.content);
  const fetched = await chat(`http://${remoteHost}/any.png`);
  assert.equal(fetched.choices[0].message.content, wantRed.content);
  const stream = await client.chat.completions.create({ model: 'vl', messages: ask(dataUrl(blue)), temperature: 0, max_tokens: MAX, stream: true, chat_template_kwargs: { enable_thinking: false } } as never) as unknown as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>;
  let text = '', finish: string | null = null;
  for await (const c of stream) {
    text += c.choices[0]?.delta?.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, wantBlue.content);
  assert.equal(finish, 'length');
  // two requests at once share one prefill batch (--max-batch 2) and still get their own answers
  const [a, b] = await Promise.all([chat(dataUrl(blue)), chat(dataUrl(red))]);
  assert.deepEqual([a.choices[0].message.content, b.choices[0].message.content], [wantBlue.content, wantRed.content]);
});

async function rejected(url: string, message: RegExp): Promise<void> {
  await assert.rejects(chat(url), (e: unknown) => {
    assert.ok(e instanceof OpenAI.APIError, String(e));
    assert.equal(e.status, 400);
    assert.equal((e.error as { type?: string }).type, 'invalid_request_error');
    assert.equal(e.param, 'messages[0].content[0]');
    assert.match(e.message, message);
    return true;
  });
}

test('refused images are OpenAI-shaped 400s: outside --image-root, host not allow-listed, undecodable, too large for max_pixels', async () => {
  await rejected(join(work, 'outside.png'), /lies outside the allowed folder/);
  await rejected('../outside.png', /lies outside the allowed folder/);
  await rejected('http://127.0.0.2:9/a.png', /remote image http:\/\/127\.0\.0\.2:9\/a\.png refused/);
  await rejected('data:image/png;base64,iVBORw0KGgo=', /cannot decode the image/);
  await rejected(dataUrl(await pngBytes(5000, 28, [10, 10, 10])), /5000x28 cannot be resized within max_pixels 25088/);
  // the server still answers afterwards
  assert.equal((await chat(dataUrl(red))).choices[0].finish_reason, 'length');
});
