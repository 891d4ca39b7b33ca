/**
 * POST /v1/completions: raw-text completions with `echo` and `logprobs`, the shape
 * lm-evaluation-harness's `local-completions` backend scores with (prompt as text or token ids;
 * with echo + logprobs the prompt tokens come back with their log-probs and top alternatives).
 */
import type { TopLogprob } from '../generation/engine.js';
import { ApiError, badParam, checkModel, includeUsage, objectBody, optBool, optInt, optNumber, optStop } from './api-error.js';
import { runGeneration, type RunResult } from './run.js';
import type { ServerContext, SseWriter } from './context.js';

interface CompletionParams {
  prompts: number[][];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number | undefined;
  n: number;
  stop: string[];
  echo: boolean;
  logprobs: number | null;
  stream: boolean;
  includeUsage: boolean;
  /** add `prompt_token_ids` and `token_ids` to each choice (vLLM's `return_token_ids`) */
  returnTokenIds: boolean;
}

const isIdList = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => typeof t === 'number');

function promptsOf(ctx: ServerContext, v: unknown): number[][] {
  let list: number[][];
  if (typeof v === 'string') list = [ctx.tokenizer.encode(v, { allowSpecial: true })];
  else if (isIdList(v)) list = [v];
  else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) list = (v as string[]).map((s) => ctx.tokenizer.encode(s, { allowSpecial: true }));
  else if (Array.isArray(v) && v.length > 0 && v.every(isIdList)) list = v as number[][];
  else throw badParam('prompt', "'prompt' must be a string, a list of strings, a list of token ids or a list of token-id lists", 'invalid_type');
  if (list.length > ctx.limits.maxPrompts) throw badParam('prompt', `at most ${ctx.limits.maxPrompts} prompts per request, got ${list.length}`);
  list.forEach((ids, i) => {
    if (ids.length === 0) throw badParam('prompt', `prompt ${i} is empty`);
    for (const t of ids) if (!Number.isInteger(t) || t < 0 || t >= ctx.engine.vocabSize) throw badParam('prompt', `prompt ${i} has token id ${t} outside the vocabulary [0, ${ctx.engine.vocabSize})`);
    if (ids.length >= ctx.contextLength) {
      throw new ApiError(400, `prompt ${i} has ${ids.length} tokens; this model's context is ${ctx.contextLength} tokens`, 'invalid_request_error', 'prompt', 'context_length_exceeded');
    }
  });
  return list;
}

function parseCompletionRequest(ctx: ServerContext, raw: unknown): CompletionParams {
  const b = objectBody(raw);
  checkModel(b, ctx.modelId);
  const prompts = promptsOf(ctx, b.prompt);
  const maxTokens = optInt(b, 'max_tokens', 0, ctx.contextLength, 16)!;
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest + maxTokens > ctx.contextLength) {
    throw new ApiError(400, `the prompt (${longest} tokens) plus max_tokens (${maxTokens}) exceeds this model's context of ${ctx.contextLength} tokens`, 'invalid_request_error', 'max_tokens', 'context_length_exceeded');
  }
  const stream = optBool(b, 'stream', false);
  const p: CompletionParams = {
    prompts, maxTokens, temperature: optNumber(b, 'temperature', 0, 2, 1), topP: optNumber(b, 'top_p', 1e-9, 1, 1),
    seed: optInt(b, 'seed', -(2 ** 53), 2 ** 53, null) ?? undefined, n: optInt(b, 'n', 1, ctx.limits.maxN, 1)!, stop: optStop(b),
    echo: optBool(b, 'echo', false), logprobs: optInt(b, 'logprobs', 0, 20, null), stream, includeUsage: includeUsage(b, stream),
    returnTokenIds: optBool(b, 'return_token_ids', false),
  };
  if (b.best_of !== undefined && b.best_of !== null && b.best_of !== p.n) throw badParam('best_of', "'best_of' is not supported (only best_of == n)");
  if (p.stream && p.echo && p.logprobs !== null) throw badParam('echo', "'echo' with 'logprobs' is not supported while streaming");
  return p;
}

interface LogprobBlock {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/** OpenAI's legacy logprobs object over (optionally) the prompt and the generated tokens. */
function logprobBlock(ctx: ServerContext, prompt: number[], r: RunResult, echo: boolean, k: number): LogprobBlock {
  const tok = ctx.tokenizer;
  const block: LogprobBlock = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let offset = 0;
  const topDict = (top: TopLogprob[]) => {
    const d: Record<string, number> = {};
    for (const t of top.slice(0, Math.max(k, 1))) {
      const s = tok.decode([t.token]);
      if (!(s in d)) d[s] = t.logprob;
    }
    return d;
  };
  const add = (id: number, lp: number | null, top: Record<string, number> | null) => {
    const s = tok.decode([id]);
    block.tokens.push(s);
    block.token_logprobs.push(lp);
    block.top_logprobs.push(top);
    block.text_offset.push(offset);
    offset += s.length;
  };
  if (echo) prompt.forEach((id, t) => add(id, r.promptLogprobs?.[t] ?? null, t === 0 || !r.promptTop ? null : topDict(r.promptTop[t])));
  for (const g of r.tokens) add(g.token, g.logprob, topDict(g.top));
  return block;
}

export async function completions(ctx: ServerContext, body: unknown, signal: AbortSignal, sse: () => SseWriter): Promise<object | null> {
  const p = parseCompletionRequest(ctx, body);
  ctx.checkCapacity(p.prompts.length * p.n);
  const id = `cmpl-${ctx.newId()}`, created = Math.floor(Date.now() / 1000);
  const jobs = p.prompts.flatMap((prompt, pi) => Array.from({ length: p.n }, (_, j) => ({ prompt, pi, index: pi * p.n + j, seed: p.seed === undefined ? undefined : p.seed + j })));
  const params = (job: (typeof jobs)[number]) => ({
    prompt: job.prompt, maxTokens: p.maxTokens, temperature: p.temperature, topP: p.topP, seed: job.seed, stop: p.stop,
    stopTokens: ctx.stopTokens, topLogprobs: p.logprobs ?? 0, promptLogprobs: p.echo && p.logprobs !== null, logprobs: p.logprobs !== null,
  });
  const usage = (rs: RunResult[]) => {
    const prompt = p.prompts.reduce((a, x) => a + x.length, 0), completion = rs.reduce((a, r) => a + r.completionTokens, 0);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  };
  if (!p.stream) {
    // every job is submitted in this tick, so all of them run on the weights of this version
    const version = ctx.engine.policyVersion;
    const rs = await Promise.all(jobs.map((job) => runGeneration(ctx.engine, ctx.tokenizer, params(job), () => {}, signal)));
    const choices = rs.map((r, i) => ({
      index: jobs[i].index,
      text: (p.echo ? ctx.tokenizer.decode(jobs[i].prompt) : '') + r.text,
      logprobs: p.logprobs === null ? null : logprobBlock(ctx, jobs[i].prompt, r, p.echo, p.logprobs),
      finish_reason: r.finishReason,
      ...(p.returnTokenIds ? { prompt_token_ids: jobs[i].prompt, token_ids: r.tokens.map((t) => t.token) } : {}),
    }));
    return { id, object: 'text_completion', created, model: ctx.modelId, choices, usage: usage(rs), system_fingerprint: ctx.fingerprint, policy_version: version };
  }
  const out = sse();
  const chunk = (choices: object[], extra: object = {}) => out.send({ id, object: 'text_completion', created, model: ctx.modelId, system_fingerprint: ctx.fingerprint, choices, ...extra });
  const rs = await Promise.all(jobs.map(async (job) => {
    if (p.echo) chunk([{ index: job.index, text: ctx.tokenizer.decode(job.prompt), logprobs: null, finish_reason: null }]);
    const r = await runGeneration(ctx.engine, ctx.tokenizer, params(job), (text) => chunk([{ index: job.index, text, logprobs: null, finish_reason: null }]), signal);
    chunk([{ index: job.index, text: '', logprobs: null, finish_reason: r.finishReason }]);
    return r;
  }));
  if (p.includeUsage) chunk([], { usage: usage(rs) });
  out.end();
  return null;
}
