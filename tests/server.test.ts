// The OpenAI-compatible server, driven by the official `openai` npm client against a running
// `glmkit serve` (spawned as a real process on 127.0.0.1). The model is a micro GLM SFT-trained in
// this test on three chats (a tool-call round trip, a thinking and a non-thinking greeting), so the
// reasoning, tool calls and the thinking switch come from a real model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { loadTokenizer, renderChat } from '../src/tokenizer/index.js';
import { tempDir } from './helpers.js';
import { startServer, waitHealth } from './serve-process.js';
import { serverChats, trainChatModel, WEATHER_TOOL } from './tool-model.js';

let proc: ChildProcess;
let base = '';
const work = tempDir('glmkit-server-');
let modelDir = '';
const KEY = 'test-key-123';
let client: OpenAI;

before(async () => {
  modelDir = await trainChatModel(work, serverChats(), { steps: 150 });
  ({ proc, url: base } = await startServer(modelDir, ['--model-name', 'glm-test', '--api-key', KEY, '--max-batch', '4']));
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0 });
});

after(() => {
  proc?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

test('/health, /v1/models and the API key', async () => {
  const h = await fetch(`${base}/health`);
  assert.equal(h.status, 200);
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['glm-test']);
  const noKey = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(noKey.models.list(), (e: unknown) => e instanceof OpenAI.APIError && e.status === 401 && (e.error as { code?: string }).code === 'invalid_api_key');
});

test('thinking switch: reasoning_content when enabled, none when disabled (both ways of asking)', async () => {
  const on = await client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 0, max_tokens: 40 });
  const msgOn = on.choices[0].message as typeof on.choices[0]['message'] & { reasoning_content?: string };
  assert.equal(msgOn.reasoning_content, 'The user greets me.');
  assert.equal(msgOn.content, 'Hello there!');
  assert.equal(on.choices[0].finish_reason, 'stop');
  // Usage: the prompt is exactly the rendered template; completion tokens are counted.
  const tok = loadTokenizer(modelDir);
  assert.equal(on.usage!.prompt_tokens, renderChat(tok, { messages: [{ role: 'user', content: 'Say hello.' }], add_generation_prompt: true }).ids.length);
  assert.ok(on.usage!.completion_tokens > 5);
  const offA = await client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 0, max_tokens: 40, chat_template_kwargs: { enable_thinking: false } } as never);
  const offB = await client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 0, max_tokens: 40, thinking: { type: 'disabled' } } as never);
  for (const off of [offA, offB] as OpenAI.Chat.Completions.ChatCompletion[]) {
    assert.equal((off.choices[0].message as { reasoning_content?: string }).reasoning_content, undefined);
    assert.equal(off.choices[0].message.content, 'Hi!');
  }
});

test('streaming equals non-streaming at temperature 0 (reasoning, content, usage)', async () => {
  const req = { model: 'glm-test', messages: [{ role: 'user' as const, content: 'Say hello.' }], temperature: 0, max_tokens: 40 };
  const whole = await client.chat.completions.create(req);
  const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let content = '', reasoning = '', finish: string | null = null, usage: OpenAI.CompletionUsage | undefined, chunks = 0;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    const ch = c.choices[0];
    if (!ch) continue;
    content += ch.delta.content ?? '';
    reasoning += (ch.delta as { reasoning_content?: string }).reasoning_content ?? '';
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  assert.ok(chunks > 4, 'streamed in several chunks');
  assert.equal(content, whole.choices[0].message.content);
  assert.equal(reasoning, (whole.choices[0].message as { reasoning_content?: string }).reasoning_content);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.deepEqual(usage, whole.usage);
});

test('tool-call round trip: tool_calls out, tool result in, answer out; streamed tool calls match', async () => {
  const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.chat.completions.create({ model: 'glm-test', messages, tools: [WEATHER_TOOL], temperature: 0, max_tokens: 60 });
  const choice = first.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  const calls = choice.message.tool_calls!;
  assert.equal(calls.length, 1);
  assert.equal(calls[0].type, 'function');
  const fn = (calls[0] as { function: { name: string; arguments: string } }).function;
  assert.equal(fn.name, 'get_weather');
  assert.deepEqual(JSON.parse(fn.arguments), { city: 'Paris' });
  // Streamed: the same call arrives as tool_call deltas.
  const stream = await client.chat.completions.create({ model: 'glm-test', messages, tools: [WEATHER_TOOL], temperature: 0, max_tokens: 60, stream: true });
  let name = '', args = '', finish = '';
  for await (const c of stream) {
    for (const d of c.choices[0]?.delta.tool_calls ?? []) {
      name += d.function?.name ?? '';
      args += d.function?.arguments ?? '';
    }
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.equal(name, 'get_weather');
  assert.deepEqual(JSON.parse(args), { city: 'Paris' });
  assert.equal(finish, 'tool_calls');
  // Send the tool result back.
  messages.push(choice.message as OpenAI.Chat.Completions.ChatCompletionMessageParam);
  messages.push({ role: 'tool', tool_call_id: calls[0].id, content: 'sunny' });
  const second = await client.chat.completions.create({ model: 'glm-test', messages, tools: [WEATHER_TOOL], temperature: 0, max_tokens: 60 });
  assert.equal(second.choices[0].finish_reason, 'stop');
  assert.equal(second.choices[0].message.content, 'It is sunny in Paris.');
  // tool_choice naming the function: the call is pre-filled (thinking off), the model writes the arguments.
  for (const tool_choice of [{ type: 'function' as const, function: { name: 'get_weather' } }, 'required' as const]) {
    const forced = await client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools: [WEATHER_TOOL], tool_choice, temperature: 0, max_tokens: 30 });
    const fc = forced.choices[0].message.tool_calls![0] as { function: { name: string; arguments: string } };
    assert.equal(fc.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(fc.function.arguments), { city: 'Paris' });
    assert.equal(forced.choices[0].finish_reason, 'tool_calls');
  }
  // tool_choice 'none': the tools are not offered, so no call comes back.
  const none = await client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'Say hello.' }], tools: [WEATHER_TOOL], tool_choice: 'none', temperature: 0, max_tokens: 40 });
  assert.equal(none.choices[0].message.tool_calls, undefined);
  assert.equal(none.choices[0].message.content, 'Hello there!');
});

test('n choices with a seed, stop strings and /v1/completions with echo + logprobs', async () => {
  const r = await client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 1, seed: 3, n: 3, max_tokens: 10 });
  assert.equal(r.choices.length, 3);
  const again = await client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 1, seed: 3, n: 3, max_tokens: 10 });
  assert.deepEqual(again.choices.map((c) => c.message.content), r.choices.map((c) => c.message.content), 'same seed, same samples');
  const stopped = await client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 0, max_tokens: 40, stop: ['there'], chat_template_kwargs: { enable_thinking: true } } as never) as OpenAI.Chat.Completions.ChatCompletion;
  assert.equal(stopped.choices[0].message.content, 'Hello');
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  // Completions with echo + logprobs: the lm-eval local-completions shape, on token ids and on text.
  const tok = loadTokenizer(modelDir);
  const ids = renderChat(tok, { messages: [{ role: 'user', content: 'Say hello.' }], add_generation_prompt: true }).ids;
  const c = await client.completions.create({ model: 'glm-test', prompt: ids, max_tokens: 1, temperature: 0, echo: true, logprobs: 1 });
  const lp = c.choices[0].logprobs!;
  assert.equal(lp.tokens!.length, ids.length + 1);
  assert.equal(lp.token_logprobs![0], null);
  for (let t = 1; t < lp.token_logprobs!.length; t++) {
    assert.ok(lp.token_logprobs![t]! <= 0);
    const top = Object.values(lp.top_logprobs![t]!);
    assert.ok(top.length >= 1 && Math.max(...top) >= lp.token_logprobs![t]! - 1e-9);
  }
  // The trained continuation after the prompt is '\n<think>' (greedy), so the model's next token is top-1.
  const gen = lp.token_logprobs!.at(-1)!;
  assert.ok(Math.abs(gen - Math.max(...Object.values(lp.top_logprobs!.at(-1)!))) < 1e-9);
  assert.equal(c.choices[0].text.startsWith(tok.decode(ids)), true);
  assert.equal(c.usage!.prompt_tokens, ids.length);
});

test('bad input gets OpenAI-shaped errors with the right status', async () => {
  const bad = async (body: unknown, status: number, param: string | null, path = '/v1/chat/completions') => {
    const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    assert.equal(r.status, status, JSON.stringify(body).slice(0, 80));
    const j = (await r.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
    assert.equal(typeof j.error.message, 'string');
    assert.equal(typeof j.error.type, 'string');
    assert.ok('param' in j.error && 'code' in j.error);
    if (param !== null) assert.equal(j.error.param, param);
    return j.error;
  };
  const msgs = [{ role: 'user', content: 'hi' }];
  await bad('{"model": "glm-test", "messages": [', 400, null);
  await bad('[1, 2]', 400, null);
  await bad({ model: 'glm-test', messages: 'hi' }, 400, 'messages');
  await bad({ model: 'glm-test', messages: msgs, temperature: 'hot' }, 400, 'temperature');
  await bad({ model: 'glm-test', messages: msgs, max_tokens: -5 }, 400, 'max_tokens');
  await bad({ model: 'glm-test', messages: msgs, max_tokens: 10 ** 9 }, 400, 'max_tokens');
  await bad({ model: 'glm-test', messages: msgs, max_tokens: 2.5 }, 400, 'max_tokens');
  await bad({ model: 'glm-test', messages: msgs, stream: 'yes' }, 400, 'stream');
  await bad({ model: 'glm-test', messages: msgs, tools: 'x' }, 400, 'tools');
  await bad({ model: 'glm-test', messages: [{ role: 'wizard', content: 'hi' }] }, 400, 'messages');
  assert.equal((await bad({ model: 'gpt-9', messages: msgs }, 404, 'model')).code, 'model_not_found');
  assert.equal((await bad({ model: 'glm-test', messages: [{ role: 'user', content: 'hello '.repeat(600) }] }, 400, 'messages')).code, 'context_length_exceeded');
  await bad({ model: 'glm-test', prompt: [[1, 2], 'x'] }, 400, 'prompt', '/v1/completions');
  await bad({ model: 'glm-test', prompt: [99999] }, 400, 'prompt', '/v1/completions');
  await bad({ model: 'glm-test', prompt: 'hi', logprobs: 'yes' }, 400, 'logprobs', '/v1/completions');
  // Through the official client: a 400 arrives as a BadRequestError carrying the OpenAI error body.
  await assert.rejects(
    client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'hi' }], top_p: 7 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'top_p',
  );
  // The server is still healthy after all of that.
  const ok = await client.chat.completions.create({ model: 'glm-test', messages: [{ role: 'user', content: 'Say hello.' }], temperature: 0, max_tokens: 40 });
  assert.equal(ok.choices[0].message.content, 'Hello there!');
});

test('overload answers 429 (never a crash); a client that disconnects frees its slot', async () => {
  // A random model of the same shape: long generations that rarely stop (checked below).
  const { loadCausalLM, saveModel } = await import('../src/models/glm/checkpoint.js');
  const { GlmForCausalLM } = await import('../src/models/glm/model.js');
  const { saveTokenizer } = await import('../src/tokenizer/tokenizer-json.js');
  const { generate } = await import('../src/generation/generate.js');
  const { createServer } = await import('../src/server/app.js');
  const dir = join(work, 'random-model');
  const cfg = loadCausalLM(modelDir).config;
  const randomModel = new GlmForCausalLM({ ...cfg, initializerRange: 0.3 }, { seed: 5 });
  const tok = loadTokenizer(modelDir);
  saveTokenizer(tok, dir);
  const stopIds = ['<|endoftext|>', '<|user|>', '<|observation|>'].map((t) => tok.requireId(t));
  // Zero the LM-head rows of the stop tokens (logit 0, below the best of ~400 random logits).
  const W = randomModel.lmHead!.weight.data as Float32Array, H = cfg.hiddenSize;
  for (const id of stopIds) W.fill(0, id * H, (id + 1) * H);
  saveModel(dir, randomModel);
  const prompt = tok.encode('Say hello.');
  const greedy = generate(randomModel, [prompt], { maxNewTokens: 400, temperature: 0 }).tokens[0];
  assert.ok(!greedy.some((t) => stopIds.includes(t)), 'the greedy continuation of this random model runs 400 tokens without a stop token');

  const server = await createServer({ modelDir: dir, modelId: 'rand', maxSlots: 1, maxPending: 2 });
  const url = await server.listen('127.0.0.1', 0);
  try {
    const body = JSON.stringify({ model: 'rand', prompt, max_tokens: 200, temperature: 0 });
    const post = () => fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const rs = await Promise.all(Array.from({ length: 6 }, post));
    const statuses = rs.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join(','));
    assert.ok(statuses.filter((s) => s === 429).length >= 1, `some requests are refused: ${statuses}`);
    assert.ok(statuses.filter((s) => s === 200).length >= 2, `the queue's worth is served: ${statuses}`);
    for (const r of rs) {
      const j = (await r.json()) as { error?: { code: string; type: string }; choices?: { text: string }[] };
      if (r.status === 429) assert.equal(j.error!.code, 'rate_limit_exceeded');
      else assert.equal(tok.encode(j.choices![0].text).length > 100, true);
    }
    // Disconnect mid-stream: the engine cancels the request and the slot serves the next one.
    const before = (await (await fetch(`${url}/health`)).json()) as { cancelled: number; in_flight: number };
    const abort = new AbortController();
    const stream = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'rand', prompt, max_tokens: 400, temperature: 0, stream: true }), signal: abort.signal });
    const reader = stream.body!.getReader();
    await reader.read();
    abort.abort();
    const health = await waitHealth(url, (h) => h.cancelled > before.cancelled && h.in_flight === 0, 'the disconnected request is cancelled in the engine');
    assert.equal(health.cancelled, before.cancelled + 1, 'the disconnected request was cancelled in the engine');
    assert.equal(health.in_flight, 0);
    assert.equal(health.active_slots, 0);
    const after = await post();
    assert.equal(after.status, 200);
    // A body over the limit is refused before it is parsed (413, OpenAI-shaped).
    const big = await server.app.inject({ method: 'POST', url: '/v1/completions', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ model: 'rand', prompt: 'x'.repeat(5 * 1024 * 1024) }) });
    assert.equal(big.statusCode, 413);
    assert.equal(typeof (JSON.parse(big.body) as { error: { message: string } }).error.message, 'string');
  } finally {
    await server.close();
  }
});

test('lm-evaluation-harness local-completions: its loglikelihood payload and parsing give the model\'s scores', async () => {
  // lm-eval (0.4.x) sends token-id prompts (context + continuation) with echo, logprobs 1,
  // max_tokens 1, temperature 0, then sums token_logprobs[ctxlen:-1] and calls the continuation
  // greedy when each of its log-probs equals the max of the top_logprobs at that position.
  const tok = loadTokenizer(modelDir);
  const ctx = renderChat(tok, { messages: [{ role: 'user', content: 'Say hello.' }], add_generation_prompt: true }).ids;
  const greedyCont = tok.encode('\n<think>The user greets me.</think>', { allowSpecial: true });
  const otherCont = tok.encode('\n<think>Paris</think>', { allowSpecial: true });
  const res = await fetch(`${base}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'glm-test', prompt: [[...ctx, ...greedyCont], [...ctx, ...otherCont]], temperature: 0, max_tokens: 1, logprobs: 1, seed: 1234, echo: true }),
  });
  assert.equal(res.status, 200);
  const out = (await res.json()) as { choices: { index: number; logprobs: { token_logprobs: (number | null)[]; top_logprobs: (Record<string, number> | null)[] } }[] };
  const parsed = [...out.choices].sort((a, b) => a.index - b.index).map((c) => {
    const lps = c.logprobs.token_logprobs.slice(ctx.length, -1) as number[];
    const tops = c.logprobs.top_logprobs.slice(ctx.length, -1) as Record<string, number>[];
    return { sum: lps.reduce((a, b) => a + b, 0), greedy: lps.every((lp, i) => lp === Math.max(...Object.values(tops[i]))) };
  });
  // Independent reference: one full forward of the same weights in this process.
  const { loadCausalLM } = await import('../src/models/glm/checkpoint.js');
  const { noGrad } = await import('../src/tensor/autograd.js');
  const { Tensor } = await import('../src/tensor/tensor.js');
  const model = loadCausalLM(modelDir);
  const V = model.config.vocabSize;
  const score = (cont: number[]) => {
    const ids = [...ctx, ...cont];
    const logits = noGrad(() => model.forward(Tensor.ids(ids, [1, ids.length])).logits!).data as Float32Array;
    let sum = 0, greedy = true;
    for (let t = ctx.length; t < ids.length; t++) {
      const row = logits.subarray((t - 1) * V, t * V);
      let m = -Infinity, z = 0, best = 0;
      for (let v = 0; v < V; v++) if (row[v] > m) m = row[v];
      for (let v = 0; v < V; v++) z += Math.exp(row[v] - m);
      for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
      sum += row[ids[t]] - m - Math.log(z);
      if (best !== ids[t]) greedy = false;
    }
    return { sum, greedy };
  };
  const want = [score(greedyCont), score(otherCont)];
  for (let i = 0; i < 2; i++) {
    assert.ok(Math.abs(parsed[i].sum - want[i].sum) < 1e-3, `continuation ${i}: ${parsed[i].sum} vs ${want[i].sum}`);
    assert.equal(parsed[i].greedy, want[i].greedy);
  }
  assert.equal(want[0].greedy, true);
  assert.equal(want[1].greedy, false);
  assert.ok(parsed[0].sum > parsed[1].sum);
});
