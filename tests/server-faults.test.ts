// The server under faults, driven by the official `openai` client against spawned `glmkit serve`
// processes serving a random tiny model that never emits a stop token at temperature 0 (so every
// stream runs to max_tokens): disconnects, a crashing generation worker, request timeouts and a
// storm of concurrent streams with random cancellations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import OpenAI from 'openai';
import { scratchModel } from '../src/bench/serve.js';
import { tempDir } from './helpers.js';
import { health, startServer, waitHealth } from './serve-process.js';

const work = tempDir('glmkit-server-faults-');
let model = '';
const procs: ChildProcess[] = [];
const MODEL = 'rand';

before(() => {
  model = scratchModel('tiny', work, { neverStop: true });
});

after(() => {
  for (const p of procs) p.kill('SIGTERM');
});

async function serve(extra: string[], env: Record<string, string> = {}): Promise<{ url: string; client: OpenAI }> {
  const { proc, url } = await startServer(model, ['--model-name', MODEL, ...extra], env);
  procs.push(proc);
  return { url, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 }) };
}

const ask = (content: string, max_tokens: number) => ({ model: MODEL, messages: [{ role: 'user' as const, content }], temperature: 0, max_tokens });

/** An error the server sent in OpenAI's shape (status or SSE error event, with message and type). */
function openAiShaped(e: unknown): e is InstanceType<typeof OpenAI.APIError> {
  if (!(e instanceof OpenAI.APIError) || e instanceof OpenAI.APIConnectionError) return false;
  const body = e.error as { message?: unknown; type?: unknown } | undefined;
  return typeof body?.message === 'string' && body.message.length > 0 && typeof body.type === 'string';
}

test('a client that disconnects mid-stream frees its slot at once; the next request is served', async () => {
  const { url, client } = await serve(['--max-batch', '1']);
  const before = await health(url);
  const abort = new AbortController();
  const stream = await client.chat.completions.create({ ...ask('Tell me a story.', 400), stream: true }, { signal: abort.signal });
  let chunks = 0;
  // Abort and leave the loop (openai's stream iterator can wait forever after an abort it is not told about).
  for await (const _ of stream) {
    if (++chunks === 3) {
      // The slot is taken while the stream runs.
      assert.equal((await health(url)).active_slots, 1);
      abort.abort();
      break;
    }
  }
  assert.ok(chunks < 50, `the stream stopped at the disconnect (${chunks} chunks)`);
  const h = await waitHealth(url, (x) => x.cancelled === before.cancelled + 1 && x.active_slots === 0 && x.in_flight === 0, 'the disconnected request is cancelled');
  assert.equal(h.completed, before.completed);
  const next = await client.chat.completions.create(ask('Hello.', 8));
  assert.equal(next.choices[0].finish_reason, 'length');
  assert.equal(next.usage!.completion_tokens, 8);
});

test('a crashing generation worker: in-flight requests get an OpenAI-shaped 503, the worker restarts, the next request succeeds', async () => {
  const { url, client } = await serve(['--max-batch', '4'], { GLMKIT_TEST_CRASH_WORKER_AFTER: '40' });
  const results = await Promise.allSettled([0, 1, 2].map((i) => client.chat.completions.create(ask(`Question ${i}.`, 300))));
  for (const r of results) {
    assert.equal(r.status, 'rejected', 'no request survives the crash');
    const e = (r as PromiseRejectedResult).reason;
    assert.ok(openAiShaped(e), `OpenAI-shaped error, got ${e}`);
    assert.equal(e.status, 503);
    assert.equal((e.error as { type: string }).type, 'server_error');
    assert.equal((e.error as { code: string }).code, 'engine_unavailable');
    assert.match(e.message, /generation worker/);
  }
  const h = await waitHealth(url, (x) => x.status === 'ok' && x.worker_restarts === 1, 'the worker restarts');
  assert.equal(h.in_flight, 0);
  assert.equal(h.active_slots, 0);
  assert.equal(h.failed, 3);
  // The restarted worker serves (the crash hook fires only in the first worker).
  const ok = await client.chat.completions.create(ask('Hello again.', 60));
  assert.equal(ok.usage!.completion_tokens, 60);
  assert.equal(ok.choices[0].finish_reason, 'length');
});

test('a request over --request-timeout ends with an OpenAI-shaped 504 (whole or streamed) and frees its slot', async () => {
  // A slowed engine (50 ms a step): 400 tokens take 20 s, far past the 1 s limit.
  const { url, client } = await serve(['--max-batch', '2', '--request-timeout', '1'], { GLMKIT_TEST_STEP_DELAY_MS: '50' });
  await assert.rejects(client.chat.completions.create(ask('Write a long story.', 400)), (e: unknown) => {
    assert.ok(openAiShaped(e), `OpenAI-shaped error, got ${e}`);
    assert.equal(e.status, 504);
    assert.equal((e.error as { type: string }).type, 'timeout_error');
    assert.equal((e.error as { code: string }).code, 'request_timeout');
    assert.match(e.message, /--request-timeout of 1 s/);
    return true;
  });
  const stream = await client.chat.completions.create({ ...ask('Another long story.', 400), stream: true });
  let chunks = 0;
  await assert.rejects(async () => {
    for await (const _ of stream) chunks++;
  }, (e: unknown) => {
    assert.ok(openAiShaped(e), `OpenAI-shaped stream error, got ${e}`);
    assert.equal((e.error as { code: string }).code, 'request_timeout');
    return true;
  });
  assert.ok(chunks >= 1, 'the stream had started before the timeout');
  const h = await waitHealth(url, (x) => x.active_slots === 0 && x.in_flight === 0, 'timed-out requests free their slots');
  assert.equal(h.cancelled, 2);
  const ok = await client.chat.completions.create(ask('Hi.', 2));
  assert.equal(ok.usage!.completion_tokens, 2);
});

test('64 concurrent streams with random cancellations: 0 leaked slots, 0 non-OpenAI errors', async () => {
  const { url, client } = await serve(['--max-batch', '8', '--max-pending', '48']);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const counts = { completed: 0, cancelledByClient: 0, openAiErrors: 0, other: [] as string[] };
  // Bounded: each client sends 3 requests; a third of them are cancelled after a random number of chunks.
  await Promise.all(Array.from({ length: 64 }, async (_, c) => {
    for (let k = 0; k < 3; k++) {
      const cancelAt = rand() < 0.35 ? 1 + Math.floor(rand() * 10) : -1;
      const maxTokens = 4 + Math.floor(rand() * 40);
      const abort = new AbortController();
      try {
        const stream = await client.chat.completions.create({ ...ask(`Client ${c} request ${k}.`, maxTokens), stream: true }, { signal: abort.signal });
        let n = 0;
        for await (const _ of stream) {
          if (++n === cancelAt) {
            abort.abort();
            break;
          }
        }
        if (n === cancelAt) counts.cancelledByClient++;
        else counts.completed++;
      } catch (e) {
        if (e instanceof OpenAI.APIUserAbortError) counts.cancelledByClient++;
        else if (openAiShaped(e)) counts.openAiErrors++;
        else counts.other.push(String(e));
      }
    }
  }));
  assert.deepEqual(counts.other, [], 'every failure is an OpenAI-shaped error');
  assert.equal(counts.completed + counts.cancelledByClient + counts.openAiErrors, 192);
  assert.ok(counts.completed >= 1 && counts.cancelledByClient >= 1, JSON.stringify(counts));
  const h = await waitHealth(url, (x) => x.active_slots === 0 && x.in_flight === 0, 'no slot leaks after the storm');
  assert.equal(h.status, 'ok');
  const ok = await client.chat.completions.create(ask('Still there?', 4));
  assert.equal(ok.usage!.completion_tokens, 4);
});
