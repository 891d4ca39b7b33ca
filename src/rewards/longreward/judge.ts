/**
 * The LongReward judge (docs/longreward.md): one interface, `Judge`, that answers chat requests, and
 * two kinds of it:
 *   HttpJudge  — any OpenAI-compatible `POST /v1/chat/completions` endpoint (vLLM, SGLang, llama.cpp,
 *                a hosted model, `glmkit serve`), at most `concurrency` requests in flight, each with a
 *                timeout; transport failures and 5xx answers are retried twice, then the judge is
 *                unavailable (JudgeUnavailableError: clear stop; what was answered is already cached);
 *                a 400 answer (e.g. a prompt longer than the model's context) fails that request only;
 *   LocalJudge — a glmkit model folder run in this process, requests batched through the rollout
 *                engine; a prompt that does not fit the model's context fails that request only.
 * Caching, retries and parsing live above this (caller.ts).
 */
import { createHash } from 'node:crypto';
import { ConfigError, GlmkitError } from '../../errors.js';
import { rollout, renderPromptIds } from '../../generation/rollout.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { fetchFailureReason, jsonHeaders, openAiEndpointUrl } from '../../util/endpoint-url.js';

export interface JudgeRequest {
  messages: ChatMessage[];
  temperature: number;
  maxTokens: number;
  seed: number;
}

/** A request's answer, or why this one request failed (the judge itself still works). */
export type JudgeReply = { ok: true; text: string } | { ok: false; error: string };

export interface Judge {
  /** Identifies the judge in cache keys (endpoint and model, or the model folder's weights). */
  readonly id: string;
  /** For logs and reports. */
  readonly source: string;
  /** Tokens of a text under the judge's tokenizer, when it has one here (local judges). */
  countTokens?(text: string): number;
  /** Whether a request of `maxTokens` new tokens fits the judge's context, when it is known here (local judges). */
  fits?(messages: ChatMessage[], maxTokens: number): boolean;
  /**
   * Answers the requests; `onReply` sees each answer as it arrives (the caller caches it), so an
   * interrupted batch keeps what was answered. Throws JudgeUnavailableError when the judge cannot be reached.
   */
  complete(reqs: readonly JudgeRequest[], onReply?: (i: number, r: JudgeReply) => void): Promise<JudgeReply[]>;
}

/** The judge cannot be reached or refuses every request (bad URL, key, model name, server down). */
export class JudgeUnavailableError extends GlmkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('judge_unavailable', message, options);
  }
}

export interface HttpJudgeOptions {
  model: string;
  apiKey?: string | null;
  /** requests in flight at once (default 8) */
  concurrency?: number;
  /** milliseconds per request (default 120000) */
  timeoutMs?: number;
  /** send `chat_template_kwargs.enable_thinking` (glmkit serve, vLLM, SGLang); default: not sent */
  enableThinking?: boolean;
}

/** The chat-completions URL of what the user gave (as /v1/embeddings in src/embed/http-encoder.ts). */
export function chatCompletionsUrl(url: string): string {
  return openAiEndpointUrl(url, 'chat/completions', 'judge URL');
}

/** Runs `task(i)` for i in 0..n-1 with at most `limit` at once; stops starting new ones after a throw. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < n) {
      const i = next++;
      try {
        await task(i);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  if (failure !== null) throw failure;
}

export class HttpJudge implements Judge {
  readonly url: string;
  readonly concurrency: number;
  readonly timeoutMs: number;

  constructor(url: string, readonly opts: HttpJudgeOptions) {
    this.url = chatCompletionsUrl(url);
    this.concurrency = opts.concurrency ?? 8;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new ConfigError(`judge concurrency: expected an integer >= 1, got ${this.concurrency}`);
    if (!(this.timeoutMs > 0)) throw new ConfigError(`judge timeout: expected > 0 ms, got ${this.timeoutMs}`);
    if (opts.model.trim() === '') throw new ConfigError('judge model: expected the model name the endpoint serves (--judge-model NAME), got an empty string');
  }

  get id(): string {
    return `http|${this.url}|${this.opts.model}|${this.opts.enableThinking ?? ''}`;
  }

  get source(): string {
    return `${this.url} (model ${this.opts.model})`;
  }

  async complete(reqs: readonly JudgeRequest[], onReply?: (i: number, r: JudgeReply) => void): Promise<JudgeReply[]> {
    const out = new Array<JudgeReply>(reqs.length);
    await pool(reqs.length, this.concurrency, async (i) => {
      out[i] = await this.one(reqs[i]);
      onReply?.(i, out[i]);
    });
    return out;
  }

  private async one(req: JudgeRequest): Promise<JudgeReply> {
    const headers = jsonHeaders(this.opts.apiKey);
    const body: Record<string, unknown> = { model: this.opts.model, messages: req.messages, temperature: req.temperature, max_tokens: req.maxTokens, seed: req.seed };
    if (this.opts.enableThinking !== undefined) body.chat_template_kwargs = { enable_thinking: this.opts.enableThinking };
    let last = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 200 * attempt));
      let res: Response;
      try {
        res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (e) {
        last = fetchFailureReason(e, this.timeoutMs);
        continue;
      }
      const text = await res.text();
      let json: { choices?: { message?: { content?: unknown } }[]; error?: { message?: unknown } } | null = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      const msg = typeof json?.error?.message === 'string' ? json.error.message : text.slice(0, 200);
      if (res.status >= 500) {
        last = `HTTP ${res.status}: ${msg}`;
        continue;
      }
      if (res.status === 400 || res.status === 413 || res.status === 422) return { ok: false, error: `HTTP ${res.status}: ${msg}` };
      if (!res.ok) throw new JudgeUnavailableError(`judge endpoint ${this.url} answered HTTP ${res.status}: ${msg}; check --judge-model and the API key`);
      const content = json?.choices?.[0]?.message?.content;
      if (typeof content !== 'string') return { ok: false, error: `expected a chat completion with choices[0].message.content, got ${text.slice(0, 200)}` };
      return { ok: true, text: content };
    }
    throw new JudgeUnavailableError(`judge endpoint ${this.url} unreachable (${last}); start it (e.g. glmkit serve MODEL) or check --judge-url`);
  }
}

export interface LocalJudgeOptions {
  /** sequences per generate() call (default 8) */
  batchSize?: number;
  /** thinking mode of the chat template (default off) */
  thinking?: boolean;
}

export class LocalJudge implements Judge {
  readonly id: string;
  readonly source: string;

  constructor(readonly model: GlmForCausalLM, readonly tokenizer: Tokenizer, readonly opts: LocalJudgeOptions = {}, source = 'local judge') {
    this.source = source;
    const h = createHash('sha256').update(JSON.stringify(model.config));
    for (const [name, t] of model.stateDict()) h.update(name).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    this.id = `local|${h.digest('hex')}|${opts.thinking ? 'think' : 'direct'}`;
  }

  /** A judge from a glmkit model folder (weights and tokenizer). */
  static fromDir(dir: string, opts: LocalJudgeOptions = {}): LocalJudge {
    return new LocalJudge(loadCausalLM(dir).eval(), loadTokenizer(dir), opts, dir);
  }

  countTokens(text: string): number {
    return this.tokenizer.encode(text).length;
  }

  fits(messages: ChatMessage[], maxTokens: number): boolean {
    return renderPromptIds(this.tokenizer, messages, this.opts.thinking ?? false).length + maxTokens <= this.model.config.maxPositionEmbeddings;
  }

  async complete(reqs: readonly JudgeRequest[], onReply?: (i: number, r: JudgeReply) => void): Promise<JudgeReply[]> {
    const out = new Array<JudgeReply>(reqs.length);
    const ctx = this.model.config.maxPositionEmbeddings;
    const groups = new Map<string, number[]>();
    reqs.forEach((r, i) => {
      const n = renderPromptIds(this.tokenizer, r.messages, this.opts.thinking ?? false).length;
      if (n + r.maxTokens > ctx) {
        out[i] = { ok: false, error: `prompt of ${n} tokens + ${r.maxTokens} new tokens exceeds the judge's context of ${ctx} tokens` };
        onReply?.(i, out[i]);
        return;
      }
      // greedy requests batch together; sampled ones keep their own seed
      const key = r.temperature === 0 ? `0|${r.maxTokens}` : `${r.temperature}|${r.maxTokens}|${r.seed}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    for (const idx of groups.values()) {
      const first = reqs[idx[0]];
      const rs = rollout(this.model, this.tokenizer, idx.map((i) => reqs[i].messages), {
        maxNewTokens: first.maxTokens, temperature: first.temperature, thinking: this.opts.thinking ?? false, batchSize: this.opts.batchSize ?? 8, seed: first.seed,
      });
      for (const r of rs) {
        const i = idx[r.promptIndex];
        out[i] = { ok: true, text: r.parsed.content ?? r.text };
        onReply?.(i, out[i]);
      }
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }
}
