/**
 * The agent loop (GLM All Tools): generate -> parse tool calls -> run the tools -> add their
 * observations -> generate again, until the model answers without a call or the step limit is hit.
 * Tool errors and timeouts are observations (the registry never throws), so a failing tool never
 * ends the run.
 */
import { noGrad } from '../tensor/autograd.js';
import { generate } from '../generation/generate.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import { parseChatOutput, renderChat, STOP_TOKENS, type ChatMessage, type ToolCall, type ToolSpec, type Tokenizer } from '../tokenizer/index.js';
import type { ToolRegistry } from './registry.js';

export interface BackendReply {
  message: ChatMessage;
  finishReason: string;
}

/** Anything that answers a chat with tools: a local model, or an OpenAI-compatible server. */
export interface ChatBackend {
  complete(messages: ChatMessage[], tools: ToolSpec[]): Promise<BackendReply>;
}

export interface LocalBackendOptions {
  maxNewTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  enableThinking?: boolean;
}

/** A model in this process: the GLM chat template in, GLM's output parser out. */
export class LocalChatBackend implements ChatBackend {
  private readonly stops: number[];
  private calls = 0;

  constructor(private readonly model: GlmForCausalLM, private readonly tok: Tokenizer, private readonly opts: LocalBackendOptions = {}) {
    this.stops = STOP_TOKENS.map((t) => tok.tokenToId(t)).filter((x): x is number => x !== undefined);
  }

  async complete(messages: ChatMessage[], tools: ToolSpec[]): Promise<BackendReply> {
    const prompt = renderChat(this.tok, { messages, tools: tools.length > 0 ? tools : undefined, enable_thinking: this.opts.enableThinking ?? true, add_generation_prompt: true }).ids;
    const room = this.model.config.maxPositionEmbeddings - prompt.length;
    if (room < 1) return { message: { role: 'assistant', content: '' }, finishReason: 'context_length' };
    const res = noGrad(() => generate(this.model, [prompt], {
      maxNewTokens: Math.min(this.opts.maxNewTokens ?? 256, room), temperature: this.opts.temperature ?? 0, topP: this.opts.topP ?? 1,
      seed: (this.opts.seed ?? 0) + this.calls++, stopTokens: this.stops,
    }));
    const ids = res.tokens[0].filter((t) => !this.stops.includes(t));
    const out = parseChatOutput(this.tok.decode(ids), { tools });
    const message: ChatMessage = { role: 'assistant', content: out.content };
    if (out.reasoning_content !== null) message.reasoning_content = out.reasoning_content;
    if (out.tool_calls.length > 0) message.tool_calls = out.tool_calls;
    return { message, finishReason: out.tool_calls.length > 0 ? 'tool_calls' : res.finishReason[0] };
  }
}

/** An OpenAI-compatible chat endpoint (glmkit serve, vLLM, SGLang) reached over HTTP. */
export class HttpChatBackend implements ChatBackend {
  constructor(private readonly baseUrl: string, private readonly model: string, private readonly opts: { apiKey?: string; temperature?: number; maxTokens?: number; enableThinking?: boolean } = {}) {}

  async complete(messages: ChatMessage[], tools: ToolSpec[]): Promise<BackendReply> {
    const res = await fetch(`${this.baseUrl.replace(/\/$/, '')}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}) },
      body: JSON.stringify({
        model: this.model, messages, tools: tools.length > 0 ? tools : undefined, temperature: this.opts.temperature ?? 0,
        max_tokens: this.opts.maxTokens, chat_template_kwargs: { enable_thinking: this.opts.enableThinking ?? true },
      }),
    });
    const body = (await res.json()) as { choices?: { message: ChatMessage; finish_reason: string }[]; error?: { message: string } };
    if (!res.ok || !body.choices) throw new Error(`chat backend answered HTTP ${res.status}: ${body.error?.message ?? JSON.stringify(body).slice(0, 200)}`);
    return { message: body.choices[0].message, finishReason: body.choices[0].finish_reason };
  }
}

export interface AgentStep {
  /** the assistant turn of this step */
  assistant: ChatMessage;
  /** the calls it made, with their observations */
  calls: { call: ToolCall; observation: string; ok: boolean }[];
}

export interface AgentResult {
  /** the conversation with every assistant turn and tool result appended */
  messages: ChatMessage[];
  steps: AgentStep[];
  /** the final assistant turn (without tool calls, or with calls left to the caller), or null at the step limit */
  answer: ChatMessage | null;
  /** 'external_tool': the model called a tool the caller runs (see AgentOptions.external) */
  stopReason: 'answer' | 'max_steps' | 'external_tool';
}

export interface AgentOptions {
  /** model turns at most (default 8) */
  maxSteps?: number;
  /** called after each step (for printing progress) */
  onStep?: (step: AgentStep) => void;
  /** tools the caller runs itself: a turn calling one ends the loop with its calls unrun */
  external?: ToolSpec[];
}

/** Runs the loop from `messages` (not modified) until an answer or the step limit. */
export async function runAgent(backend: ChatBackend, registry: ToolRegistry, messages: readonly ChatMessage[], opts: AgentOptions = {}): Promise<AgentResult> {
  const convo: ChatMessage[] = [...messages];
  const steps: AgentStep[] = [];
  const maxSteps = opts.maxSteps ?? 8;
  for (let s = 0; s < maxSteps; s++) {
    const { message } = await backend.complete(convo, [...registry.specs(), ...(opts.external ?? [])]);
    const calls = (message.tool_calls ?? []).map((c, i) => ({ ...c, id: c.id ?? `call_${s}_${i}` }));
    const assistant: ChatMessage = { ...message, role: 'assistant', ...(calls.length > 0 ? { tool_calls: calls } : {}) };
    convo.push(assistant);
    const step: AgentStep = { assistant, calls: [] };
    if (calls.some((c) => !registry.has(c.function.name) && (opts.external ?? []).some((t) => t.function.name === c.function.name))) {
      steps.push(step);
      opts.onStep?.(step);
      return { messages: convo, steps, answer: assistant, stopReason: 'external_tool' };
    }
    for (const call of calls) {
      const { observation, ok } = await registry.call(call.function.name, call.function.arguments as string | Record<string, unknown>);
      step.calls.push({ call, observation, ok });
      convo.push({ role: 'tool', tool_call_id: call.id, name: call.function.name, content: observation });
    }
    steps.push(step);
    opts.onStep?.(step);
    if (calls.length === 0) return { messages: convo, steps, answer: assistant, stopReason: 'answer' };
  }
  return { messages: convo, steps, answer: null, stopReason: 'max_steps' };
}
