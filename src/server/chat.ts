/**
 * POST /v1/chat/completions: validate the request, render it with the GLM chat template (tools,
 * thinking switch, forced tool calls), generate `n` choices through the engine, and answer with
 * `reasoning_content`, `content` and OpenAI `tool_calls` parsed from GLM's format, whole or as SSE.
 */
import { ChatOutputParser, type OutputDelta, type ToolSpec } from '../tokenizer/index.js';
import type { ProcessedImage } from '../data/image-chat.js';
import { renderRequestChat } from './images.js';
import { ApiError, badParam, checkModel, includeUsage, objectBody, optBool, optInt, optNumber, optStop } from './api-error.js';
import { runGeneration, type RunResult } from './run.js';
import type { ServerContext, SseWriter } from './context.js';
import { agentCompletion, parseAgentField, type AgentRequest } from './agent-route.js';

type Body = Record<string, unknown>;

interface ChatParams {
  prompt: number[];
  /** the prompt's images, preprocessed (a vision-language model) */
  images: ProcessedImage[];
  /** text already put in the assistant turn (forced tool call) that the parser must see first */
  prefill: string;
  tools: ToolSpec[];
  parseTools: boolean;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number | undefined;
  n: number;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
}

function thinkingSwitch(b: Body): boolean {
  let on = true;
  const kw = b.chat_template_kwargs;
  if (kw !== undefined && kw !== null) {
    if (typeof kw !== 'object' || Array.isArray(kw)) throw badParam('chat_template_kwargs', "'chat_template_kwargs' must be an object", 'invalid_type');
    const et = (kw as Body).enable_thinking;
    if (et !== undefined) {
      if (typeof et !== 'boolean') throw badParam('chat_template_kwargs.enable_thinking', "'enable_thinking' must be a boolean", 'invalid_type');
      on = et;
    }
  }
  const th = b.thinking;
  if (th !== undefined && th !== null) {
    const type = typeof th === 'object' && !Array.isArray(th) ? (th as Body).type : undefined;
    if (type !== 'enabled' && type !== 'disabled') throw badParam('thinking', `'thinking' must be {"type": "enabled"} or {"type": "disabled"}, got ${JSON.stringify(th)}`);
    on = type === 'enabled';
  }
  return on;
}

function toolsOf(b: Body): ToolSpec[] {
  const t = b.tools;
  if (t === undefined || t === null) return [];
  if (!Array.isArray(t)) throw badParam('tools', "'tools' must be a list of {type: 'function', function: {name, description?, parameters?}}", 'invalid_type');
  t.forEach((x, i) => {
    const fn = x && typeof x === 'object' ? (x as Body).function as Body | undefined : undefined;
    if ((x as Body)?.type !== 'function' || !fn || typeof fn !== 'object' || typeof fn.name !== 'string' || fn.name.length === 0) {
      throw badParam(`tools[${i}]`, `tools[${i}] must be {type: 'function', function: {name: string, ...}}`, 'invalid_type');
    }
    if (fn.parameters !== undefined && (typeof fn.parameters !== 'object' || fn.parameters === null)) throw badParam(`tools[${i}].function.parameters`, 'parameters must be a JSON schema object', 'invalid_type');
  });
  return t as ToolSpec[];
}

/** tool_choice -> { offer tools in the prompt?, forced prefill text } */
function toolChoice(b: Body, tools: ToolSpec[]): { offer: boolean; force: string | null } {
  const c = b.tool_choice;
  if (c === undefined || c === null || c === 'auto') return { offer: tools.length > 0, force: null };
  if (c === 'none') return { offer: false, force: null };
  if (tools.length === 0) throw badParam('tool_choice', "'tool_choice' needs 'tools'");
  if (c === 'required') return { offer: true, force: '\n<tool_call>' };
  const name = typeof c === 'object' && (c as Body).type === 'function' ? ((c as Body).function as Body | undefined)?.name : undefined;
  if (typeof name !== 'string') throw badParam('tool_choice', `'tool_choice' must be "none", "auto", "required" or {type: "function", function: {name}}, got ${JSON.stringify(c)}`);
  if (!tools.some((t) => t.function.name === name)) throw badParam('tool_choice', `tool_choice names '${name}', which is not in 'tools'`);
  return { offer: true, force: `\n<tool_call>${name}\n` };
}

async function parseChatRequest(ctx: ServerContext, raw: unknown): Promise<ChatParams> {
  const b = objectBody(raw);
  checkModel(b, ctx.modelId);
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw badParam('messages', "'messages' must be a non-empty list of messages", 'invalid_type');
  if (b.messages.length > ctx.limits.maxMessages) throw badParam('messages', `at most ${ctx.limits.maxMessages} messages are accepted, got ${b.messages.length}`);
  const tools = toolsOf(b);
  const choice = toolChoice(b, tools);
  if (optBool(b, 'logprobs', false)) throw badParam('logprobs', 'chat log-probs are not supported by this server; use /v1/completions with logprobs');
  const thinking = choice.force ? false : thinkingSwitch(b);
  const rendered = await renderRequestChat(ctx.tokenizer, { messages: b.messages, tools: choice.offer ? tools : undefined, enable_thinking: thinking, add_generation_prompt: true }, ctx.vision, ctx.modelId);
  const prompt = rendered.ids;
  if (choice.force) prompt.push(...ctx.tokenizer.encode(choice.force, { allowSpecial: true }));
  const room = ctx.contextLength - prompt.length;
  if (room < 1) {
    throw new ApiError(400, `the prompt has ${prompt.length} tokens; this model's context is ${ctx.contextLength} tokens; shorten the messages`, 'invalid_request_error', 'messages', 'context_length_exceeded');
  }
  const maxKey = b.max_completion_tokens !== undefined && b.max_completion_tokens !== null ? 'max_completion_tokens' : 'max_tokens';
  const maxTokens = optInt(b, maxKey, 1, ctx.contextLength, null) ?? room;
  if (maxTokens > room) {
    throw new ApiError(400, `the prompt (${prompt.length} tokens) plus ${maxKey} (${maxTokens}) exceeds this model's context of ${ctx.contextLength} tokens`, 'invalid_request_error', maxKey, 'context_length_exceeded');
  }
  const stream = optBool(b, 'stream', false);
  return {
    prompt, images: rendered.images, prefill: choice.force ?? '', tools, parseTools: choice.offer, maxTokens,
    temperature: optNumber(b, 'temperature', 0, 2, 1), topP: optNumber(b, 'top_p', 1e-9, 1, 1),
    seed: optInt(b, 'seed', -(2 ** 53), 2 ** 53, null) ?? undefined, n: optInt(b, 'n', 1, ctx.limits.maxN, 1)!,
    stop: optStop(b), stream, includeUsage: includeUsage(b, stream),
  };
}

/** The parser for one choice: sees the forced prefill first, then the generated text. */
function newParser(p: ChatParams): { parser: ChatOutputParser; first: OutputDelta[] } {
  const parser = new ChatOutputParser({ tools: p.tools });
  return { parser, first: p.prefill ? parser.push(p.prefill) : [] };
}

function seedOf(p: ChatParams, i: number): number | undefined {
  return p.seed === undefined ? undefined : p.seed + i;
}

function usageOf(results: RunResult[]) {
  const prompt = results[0]?.promptTokens ?? 0;
  const completion = results.reduce((a, r) => a + r.completionTokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export async function chatCompletions(ctx: ServerContext, body: unknown, signal: AbortSignal, sse: () => SseWriter): Promise<object | null> {
  const p = await parseChatRequest(ctx, body);
  ctx.checkCapacity(p.n);
  const agentField = (body as Body).agent;
  if (agentField !== undefined && agentField !== null) {
    const agent = parseAgentField(ctx, agentField);
    if (p.images.length > 0) throw badParam('agent', 'server-side tool execution reads text only; send the images without the agent field');
    if (p.stream || p.n > 1) throw badParam('agent', 'server-side tool execution answers one choice, without streaming (n = 1, stream false)');
    const b = body as Body;
    return agentCompletion(ctx, agent, {
      messages: b.messages as AgentRequest['messages'], clientTools: p.tools, thinking: p.prefill ? false : thinkingSwitch(b), temperature: p.temperature, topP: p.topP,
      maxTokens: optInt(b, 'max_tokens', 1, ctx.contextLength, null), seed: p.seed,
    }, signal);
  }
  const id = `chatcmpl-${ctx.newId()}`, created = Math.floor(Date.now() / 1000);
  const runParams = (i: number) => ({
    prompt: p.prompt, images: p.images, maxTokens: p.maxTokens, temperature: p.temperature, topP: p.topP, seed: seedOf(p, i), stop: p.stop, stopTokens: ctx.stopTokens,
    logprobs: false, // chat answers carry no log-probs (refused in the request)
  });
  if (!p.stream) {
    const results = await Promise.all(Array.from({ length: p.n }, (_, i) => runGeneration(ctx.engine, ctx.tokenizer, runParams(i), () => {}, signal)));
    const choices = results.map((r, i) => {
      const { parser } = newParser(p);
      parser.push(r.text);
      parser.finish();
      const out = parser.result();
      const calls = p.parseTools ? out.tool_calls.map((c, k) => ({ ...c, id: c.id ?? `call_${k}` })) : [];
      const message: Record<string, unknown> = { role: 'assistant', content: calls.length > 0 && out.content === '' ? null : out.content };
      if (out.reasoning_content !== null) message.reasoning_content = out.reasoning_content;
      if (calls.length > 0) message.tool_calls = calls;
      return { index: i, message, logprobs: null, finish_reason: calls.length > 0 ? 'tool_calls' : r.finishReason };
    });
    return { id, object: 'chat.completion', created, model: ctx.modelId, choices, usage: usageOf(results), system_fingerprint: ctx.fingerprint };
  }
  const out = sse();
  const chunk = (choices: object[], extra: object = {}) => out.send({ id, object: 'chat.completion.chunk', created, model: ctx.modelId, system_fingerprint: ctx.fingerprint, choices, ...extra });
  for (let i = 0; i < p.n; i++) chunk([{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  const results = await Promise.all(Array.from({ length: p.n }, async (_, i) => {
    const { parser, first } = newParser(p);
    let calls = 0;
    const send = (deltas: OutputDelta[]) => {
      for (const d of deltas) {
        let delta: object | null = null;
        if (d.type === 'reasoning') delta = { reasoning_content: d.text };
        else if (d.type === 'content') delta = { content: d.text };
        else if (d.type === 'tool_call' && p.parseTools) {
          delta = { tool_calls: [{ index: calls, id: d.call.id ?? `call_${calls}`, type: 'function', function: { name: d.call.function.name, arguments: d.call.function.arguments } }] };
          calls++;
        }
        if (delta) chunk([{ index: i, delta, logprobs: null, finish_reason: null }]);
      }
    };
    send(first);
    const r = await runGeneration(ctx.engine, ctx.tokenizer, runParams(i), (text) => send(parser.push(text)), signal);
    send(parser.finish());
    chunk([{ index: i, delta: {}, logprobs: null, finish_reason: calls > 0 ? 'tool_calls' : r.finishReason }]);
    return r;
  }));
  if (p.includeUsage) chunk([], { usage: usageOf(results) });
  out.end();
  return null;
}
