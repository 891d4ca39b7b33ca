/**
 * `glmkit bench serve`: a bounded loopback load test of the OpenAI server. C concurrent streaming
 * clients send R chat requests in total (each asks for max_tokens new tokens with usage reporting)
 * to a server on 127.0.0.1; reports requests/s, generated tokens/s, p50/p99 latency and
 * time-to-first-token, and the error count (which must be 0: the queue is sized for the clients).
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
}

interface One {
  ok: boolean;
  latencyMs: number;
  ttftMs: number;
  tokens: number;
  error?: string;
}

/** One streaming chat request; reads SSE to the end. */
async function streamOnce(url: string, model: string, maxTokens: number, i: number): Promise<One> {
  const t0 = performance.now();
  let ttft = -1, tokens = 0;
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: `Tell me about place number ${i}.` }], max_tokens: maxTokens, temperature: 1, seed: i, stream: true, stream_options: { include_usage: true } }),
    });
    if (!res.ok) return { ok: false, latencyMs: performance.now() - t0, ttftMs: -1, tokens: 0, error: `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}` };
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
        if (j.error) return { ok: false, latencyMs: performance.now() - t0, ttftMs: ttft, tokens, error: j.error.message };
        const d = j.choices[0]?.delta;
        // Time to the first generated text (the role-only opening chunk does not count).
        if (ttft < 0 && d && (d.content || d.reasoning_content || d.tool_calls)) ttft = performance.now() - t0;
        if (j.usage) tokens = j.usage.completion_tokens;
      }
    }
    return sawDone ? { ok: true, latencyMs: performance.now() - t0, ttftMs: ttft, tokens } : { ok: false, latencyMs: performance.now() - t0, ttftMs: ttft, tokens, error: 'stream ended without [DONE]' };
  } catch (e) {
    return { ok: false, latencyMs: performance.now() - t0, ttftMs: ttft, tokens, error: (e as Error).message };
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
  const server = await createServer({ modelDir, modelId: 'bench', maxSlots: opts.maxBatch ?? 8, maxPending: C * 2 });
  try {
    const url = await server.listen('127.0.0.1', 0);
    await streamOnce(url, 'bench', 4, -1); // warm-up
    const results: One[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: C }, async () => {
      while (next < R) {
        const i = next++;
        results.push(await streamOnce(url, 'bench', maxTokens, i));
      }
    }));
    const wall = (performance.now() - t0) / 1000;
    const ok = results.filter((r) => r.ok);
    const tokens = ok.reduce((a, r) => a + r.tokens, 0);
    const errors = results.filter((r) => !r.ok);
    const row = {
      bench: 'serve', concurrency: C, requests: R, max_tokens: maxTokens, max_batch: opts.maxBatch ?? 8, seconds: +wall.toFixed(2),
      requests_per_s: +(R / wall).toFixed(2), tokens_per_s: Math.round(tokens / wall), completion_tokens: tokens,
      latency_p50_ms: Math.round(percentile(ok.map((r) => r.latencyMs), 50)), latency_p99_ms: Math.round(percentile(ok.map((r) => r.latencyMs), 99)),
      ttft_p50_ms: Math.round(percentile(ok.filter((r) => r.ttftMs >= 0).map((r) => r.ttftMs), 50)), errors: errors.length, first_error: errors[0]?.error ?? null,
    };
    print(opts.json ? JSON.stringify(row) : `serve: ${row.requests_per_s} req/s, ${row.tokens_per_s} tokens/s, p50 ${row.latency_p50_ms} ms, p99 ${row.latency_p99_ms} ms, TTFT p50 ${row.ttft_p50_ms} ms, errors ${row.errors}`);
    return row;
  } finally {
    await server.close();
    if (work) rmSync(work, { recursive: true, force: true });
  }
}

const spec = {
  name: 'bench serve',
  usage: 'glmkit bench serve [--model DIR | --preset tiny] [--concurrency 32] [--requests 128] [--max-tokens 32] [--max-batch 8] [--json]',
  description: 'Loopback load test of glmkit serve on 127.0.0.1 with concurrent streaming clients.',
  schema: {
    model: field<string | null>('path', null, 'model folder (default: a random model of --preset with a world tokenizer)', { nullable: true, placeholder: 'dir' }),
    preset: field<string | null>('string', null, 'preset of the random model (default tiny)', { nullable: true }),
    concurrency: field('int', 32, 'concurrent streaming clients', { min: 1 }),
    requests: field('int', 128, 'requests in total', { min: 1 }),
    max_tokens: field('int', 32, 'new tokens per request', { min: 1 }),
    max_batch: field('int', 8, "the server's --max-batch", { min: 1 }),
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
  }, (l) => console.log(l));
  return row.errors === 0 ? 0 : 1;
}
