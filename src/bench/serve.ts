/**
 * `glmkit bench serve`: a bounded loopback load test of the OpenAI server. C concurrent streaming
 * clients send R chat requests in total (each asks for max_tokens new tokens with usage reporting)
 * to a server on 127.0.0.1; reports requests/s, generated tokens/s, p50/p99 latency and
 * time-to-first-token, and the error count (which must be 0: the queue is sized for the clients).
 * Under a fault mix (--cancel-rate, --timeout-rate, a short --request-timeout) some clients cancel
 * or give up early and the server stops requests that run too long (504); the
 * report adds latency over all requests, the count of each way a request ended, and leaked slots.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorldTask } from '../data/world/index.js';
import { field } from '../trainers/base/config.js';
import { loadPreset } from '../models/glm/config.js';
import { saveModel } from '../models/glm/checkpoint.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { saveTokenizer } from '../tokenizer/tokenizer-json.js';
import { createServer } from '../server/app.js';
import { STOP_TOKENS } from '../tokenizer/index.js';

export interface BenchServeOptions {
  /** model folder (default: a random model of --preset with a world tokenizer) */
  model?: string;
  preset?: string;
  concurrency?: number;
  requests?: number;
  maxTokens?: number;
  maxBatch?: number;
  json?: boolean;
  /** fault mix: this share of requests is cancelled by its client after 1..8 chunks */
  cancelRate?: number;
  /** fault mix: this share of requests has a client deadline of `shortTimeoutMs` */
  timeoutRate?: number;
  shortTimeoutMs?: number;
  /** the server's --request-timeout in seconds (default none) */
  requestTimeout?: number | null;
  seed?: number;
}

/** How a request ended: ok, an injected fault, or an error (by HTTP status or SSE error code). */
type Kind = 'ok' | 'client_cancel' | 'client_timeout' | string;

interface One {
  ok: boolean;
  kind: Kind;
  latencyMs: number;
  ttftMs: number;
  tokens: number;
  error?: string;
}

interface Fault {
  /** the client cancels after this many SSE events (-1: never) */
  cancelAfter: number;
  /** the client gives up after this many ms (-1: never) */
  deadlineMs: number;
}

const NO_FAULT: Fault = { cancelAfter: -1, deadlineMs: -1 };

/** One streaming chat request; reads SSE to the end (or until its injected fault). */
async function streamOnce(url: string, model: string, maxTokens: number, i: number, fault: Fault = NO_FAULT): Promise<One> {
  const t0 = performance.now();
  let ttft = -1, tokens = 0, events = 0;
  const abort = new AbortController();
  const timer = fault.deadlineMs >= 0 ? setTimeout(() => abort.abort(), fault.deadlineMs) : null;
  const end = (kind: Kind, error?: string): One => ({ ok: kind === 'ok', kind, latencyMs: performance.now() - t0, ttftMs: ttft, tokens, error });
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: abort.signal,
      body: JSON.stringify({ model, messages: [{ role: 'user', content: `Tell me about place number ${i}.` }], max_tokens: maxTokens, temperature: 1, seed: i, stream: true, stream_options: { include_usage: true } }),
    });
    if (!res.ok) return end(`http_${res.status}`, `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '', done = false, sawDone = false;
    while (!done) {
      const r = await reader.read();
      done = r.done;
      if (r.value) buf += dec.decode(r.value, { stream: true });
      let k: number;
      while ((k = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, k);
        buf = buf.slice(k + 2);
        if (!ev.startsWith('data: ')) continue;
        const data = ev.slice(6);
        if (data === '[DONE]') {
          sawDone = true;
          continue;
        }
        const j = JSON.parse(data) as { usage?: { completion_tokens: number }; choices: { delta: { content?: string; reasoning_content?: string; tool_calls?: unknown[] } }[]; error?: { message: string } };
        if (j.error) {
          await reader.cancel();
          return end(`stream_${(j.error as { code?: string }).code ?? 'error'}`, j.error.message);
        }
        if (++events === fault.cancelAfter) {
          abort.abort();
          return end('client_cancel');
        }
        const d = j.choices[0]?.delta;
        // Time to the first generated text (the role-only opening chunk does not count).
        if (ttft < 0 && d && (d.content || d.reasoning_content || d.tool_calls)) ttft = performance.now() - t0;
        if (j.usage) tokens = j.usage.completion_tokens;
      }
    }
    return sawDone ? end('ok') : end('no_done', 'stream ended without [DONE]');
  } catch (e) {
    if (abort.signal.aborted && fault.deadlineMs >= 0) return end('client_timeout');
    return end('network', (e as Error).message);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * A random model of a preset with a tokenizer trained on the world corpus, in `dir`/model.
 * `neverStop`: larger random weights and zero LM-head rows for the stop tokens, so a greedy
 * (temperature 0) generation never picks one (their logit 0 is below the best of ~1000 random
 * logits) and always runs to max_tokens; tests use it for long, predictable streams.
 */
export function scratchModel(preset: string, dir: string, opts: { neverStop?: boolean } = {}): string {
  const texts = (generateWorldTask('pretrain', { n: 300, seed: 1 }) as { text: string }[]).map((d) => d.text);
  const base = loadPreset(preset);
  const tok = trainBpeFromTexts(texts, { vocabSize: base.vocabSize });
  const model = join(dir, 'model');
  const cfg = { ...base, vocabSize: tok.vocabSize, padTokenId: null, eosTokenId: null, bosTokenId: null };
  const lm = new GlmForCausalLM(opts.neverStop ? { ...cfg, initializerRange: 0.3 } : cfg, { seed: 0 });
  if (opts.neverStop) {
    const W = lm.lmHead!.weight.data as Float32Array, H = cfg.hiddenSize;
    for (const id of STOP_TOKENS.map((t) => tok.tokenToId(t))) if (id !== undefined) W.fill(0, id * H, (id + 1) * H);
  }
  saveModel(model, lm);
  saveTokenizer(tok, model);
  return model;
}

export async function benchServe(opts: BenchServeOptions, print: (line: string) => void): Promise<Record<string, unknown>> {
  const C = opts.concurrency ?? 32, R = opts.requests ?? 128, maxTokens = opts.maxTokens ?? 32;
  const work = opts.model ? null : mkdtempSync(join(tmpdir(), 'glmkit-bench-serve-'));
  const modelDir = opts.model ?? scratchModel(opts.preset ?? 'tiny', work!);
  const cancelRate = opts.cancelRate ?? 0, timeoutRate = opts.timeoutRate ?? 0, shortMs = opts.shortTimeoutMs ?? 200;
  const faulty = cancelRate > 0 || timeoutRate > 0;
  let seed = (opts.seed ?? 1) >>> 0;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const faultOf = (): Fault => {
    const u = rand();
    if (u < cancelRate) return { cancelAfter: 1 + Math.floor(rand() * 8), deadlineMs: -1 };
    if (u < cancelRate + timeoutRate) return { cancelAfter: -1, deadlineMs: shortMs };
    return NO_FAULT;
  };
  const server = await createServer({
    modelDir, modelId: 'bench', maxSlots: opts.maxBatch ?? 8, maxPending: C * 2,
    requestTimeoutMs: opts.requestTimeout ? Math.round(opts.requestTimeout * 1000) : null,
  });
  try {
    const url = await server.listen('127.0.0.1', 0);
    await streamOnce(url, 'bench', 4, -1); // warm-up
    const results: One[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: C }, async () => {
      while (next < R) {
        const i = next++;
        results.push(await streamOnce(url, 'bench', maxTokens, i, faultOf()));
      }
    }));
    const wall = (performance.now() - t0) / 1000;
    const ok = results.filter((r) => r.ok);
    const tokens = ok.reduce((a, r) => a + r.tokens, 0);
    // Injected faults are expected; anything else is an error.
    // With --request-timeout, the server's 504 (whole or as the stream's last event) is expected too.
    const injected = new Set(['client_cancel', 'client_timeout', ...(opts.requestTimeout ? ['http_504', 'stream_request_timeout'] : [])]);
    const errors = results.filter((r) => !r.ok && !injected.has(r.kind));
    const byKind: Record<string, number> = {};
    for (const r of results) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
    // Every slot must come back once the clients are gone (cancels reach the engine asynchronously).
    const engine = server.context!.engine;
    for (let i = 0; i < 400 && (engine.inFlight > 0 || engine.activeSlots > 0); i++) await new Promise((r) => setTimeout(r, 25));
    const leaked = Math.max(engine.inFlight, engine.activeSlots);
    const all = results.map((r) => r.latencyMs);
    const row = {
      bench: 'serve', concurrency: C, requests: R, max_tokens: maxTokens, max_batch: opts.maxBatch ?? 8, seconds: +wall.toFixed(2),
      requests_per_s: +(R / wall).toFixed(2), tokens_per_s: Math.round(tokens / wall), completion_tokens: tokens,
      latency_p50_ms: Math.round(percentile(ok.map((r) => r.latencyMs), 50)), latency_p99_ms: Math.round(percentile(ok.map((r) => r.latencyMs), 99)),
      ttft_p50_ms: Math.round(percentile(ok.filter((r) => r.ttftMs >= 0).map((r) => r.ttftMs), 50)), errors: errors.length, first_error: errors[0]?.error ?? null,
      ...(faulty ? {
        cancel_rate: cancelRate, timeout_rate: timeoutRate, short_timeout_ms: shortMs, request_timeout_s: opts.requestTimeout ?? null,
        all_latency_p50_ms: Math.round(percentile(all, 50)), all_latency_p99_ms: Math.round(percentile(all, 99)), by_kind: byKind,
      } : {}),
      leaked_slots: leaked,
    };
    const kinds = Object.entries(byKind).map(([k, n]) => `${k} ${n}`).join(', ');
    print(opts.json ? JSON.stringify(row) : `serve: ${row.requests_per_s} req/s, ${row.tokens_per_s} tokens/s, p50 ${row.latency_p50_ms} ms, p99 ${row.latency_p99_ms} ms, TTFT p50 ${row.ttft_p50_ms} ms, errors ${row.errors}, leaked slots ${leaked}${faulty ? ` (by kind: ${kinds})` : ''}`);
    return row;
  } finally {
    await server.close();
    if (work) rmSync(work, { recursive: true, force: true });
  }
}

const spec = {
  name: 'bench serve',
  usage: 'glmkit bench serve [--model DIR | --preset tiny] [--concurrency 32] [--requests 128] [--max-tokens 32] [--max-batch 8] [--cancel-rate R] [--timeout-rate R] [--json]',
  description: 'Loopback load test of glmkit serve on 127.0.0.1 with concurrent streaming clients, optionally under a fault mix (client cancellations, short client deadlines).',
  schema: {
    model: field<string | null>('path', null, 'model folder (default: a random model of --preset with a world tokenizer)', { nullable: true, placeholder: 'dir' }),
    preset: field<string | null>('string', null, 'preset of the random model (default tiny)', { nullable: true }),
    concurrency: field('int', 32, 'concurrent streaming clients', { min: 1 }),
    requests: field('int', 128, 'requests in total', { min: 1 }),
    max_tokens: field('int', 32, 'new tokens per request', { min: 1 }),
    max_batch: field('int', 8, "the server's --max-batch", { min: 1 }),
    cancel_rate: field('number', 0, 'fault mix: share of requests cancelled by the client after 1..8 events', { min: 0, max: 1 }),
    timeout_rate: field('number', 0, 'fault mix: share of requests whose client gives up after --short-timeout-ms', { min: 0, max: 1 }),
    short_timeout_ms: field('int', 200, 'fault mix: the short client deadline in ms', { min: 1 }),
    request_timeout: field<number | null>('number', null, "the server's --request-timeout in seconds", { nullable: true, min: 0.001 }),
    seed: field('int', 1, 'seed of the fault mix'),
    json: field('boolean', false, 'one JSON object'),
  },
};

export async function benchServeCommand(argv: string[]): Promise<number> {
  const { parseCommand } = await import('../cli/args.js');
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const row = await benchServe({
    model: v.model ?? undefined, preset: v.preset ?? undefined, concurrency: v.concurrency,
    requests: v.requests, maxTokens: v.max_tokens, maxBatch: v.max_batch, json: v.json,
    cancelRate: v.cancel_rate, timeoutRate: v.timeout_rate, shortTimeoutMs: v.short_timeout_ms, requestTimeout: v.request_timeout, seed: v.seed,
  }, (l) => console.log(l));
  return row.errors === 0 && row.leaked_slots === 0 ? 0 : 1;
}
