/**
 * Server-side tool execution: a chat request carrying `"agent": {"tools": ["python", "browser"],
 * "max_steps": N, "session": "name"}` runs the All Tools loop inside the server. Built-in tools run
 * here (python in a per-session sandbox under the server's --agent-dir, browser over its --docs
 * index); the request's own `tools` stay the client's: a call to one ends the loop and comes back
 * as `tool_calls`. The reply is a normal chat completion plus `agent_steps`, the transcript.
 */
import { join } from 'node:path';
import { ChatOutputParser, renderChat, type ChatMessage, type ToolSpec } from '../tokenizer/index.js';
import { runAgent, type ChatBackend, type BackendReply } from '../agent/agent.js';
import { ToolRegistry } from '../agent/registry.js';
import { PythonSandbox, pythonTool } from '../agent/tools/python.js';
import { Browser, browserTool, DocumentIndex } from '../agent/tools/browser.js';
import { ApiError, badParam, optInt } from './api-error.js';
import { runGeneration } from './run.js';
import type { ServerContext } from './context.js';

export interface ServerAgentOptions {
  /** base folder of python sessions (python is off without it) */
  dir?: string | null;
  /** files/folders the browser indexes (browser is off without them) */
  docs?: string[];
  allowHosts?: string[];
  pythonTimeoutMs?: number;
  /** python sessions kept alive at most (the least recently used is closed) */
  maxSessions?: number;
}

/** The server's agent resources: python sessions by name and the browser index. */
export class ServerAgents {
  private readonly sessions = new Map<string, PythonSandbox>();
  private readonly index: DocumentIndex | null;

  constructor(private readonly opts: ServerAgentOptions) {
    this.index = opts.docs && opts.docs.length > 0 ? DocumentIndex.fromPaths(opts.docs) : null;
  }

  available(): string[] {
    return [...(this.opts.dir ? ['python'] : []), ...(this.index ? ['browser'] : [])];
  }

  private sandbox(session: string): PythonSandbox {
    let box = this.sessions.get(session);
    if (box) {
      this.sessions.delete(session);
      this.sessions.set(session, box); // most recently used last
      return box;
    }
    if (this.sessions.size >= (this.opts.maxSessions ?? 8)) {
      const [oldest, old] = this.sessions.entries().next().value as [string, PythonSandbox];
      this.sessions.delete(oldest);
      void old.close();
    }
    box = new PythonSandbox({ dir: join(this.opts.dir!, session), timeoutMs: this.opts.pythonTimeoutMs ?? 60_000 });
    this.sessions.set(session, box);
    return box;
  }

  registry(names: string[], session: string): ToolRegistry {
    const reg = new ToolRegistry();
    for (const n of names) {
      if (n === 'python') reg.register(pythonTool(this.sandbox(session)));
      else reg.register(browserTool(new Browser({ index: this.index!, allowHosts: this.opts.allowHosts })));
    }
    return reg;
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
    this.sessions.clear();
  }
}

/** Generation through the server's engine, as an agent backend. */
class EngineBackend implements ChatBackend {
  private calls = 0;
  constructor(private readonly ctx: ServerContext, private readonly p: { thinking: boolean; temperature: number; topP: number; maxTokens: number | null; seed: number | undefined }, private readonly signal: AbortSignal) {}

  async complete(messages: ChatMessage[], tools: ToolSpec[]): Promise<BackendReply> {
    const prompt = renderChat(this.ctx.tokenizer, { messages, tools: tools.length > 0 ? tools : undefined, enable_thinking: this.p.thinking, add_generation_prompt: true }).ids;
    const room = this.ctx.contextLength - prompt.length;
    if (room < 1) throw new ApiError(400, `the conversation grew to ${prompt.length} tokens, past this model's context of ${this.ctx.contextLength}`, 'invalid_request_error', 'messages', 'context_length_exceeded');
    const r = await runGeneration(this.ctx.engine, this.ctx.tokenizer, {
      prompt, maxTokens: Math.min(this.p.maxTokens ?? room, room), temperature: this.p.temperature, topP: this.p.topP,
      seed: this.p.seed === undefined ? undefined : this.p.seed + this.calls++, stop: [], stopTokens: this.ctx.stopTokens, logprobs: false,
    }, () => {}, this.signal);
    const parser = new ChatOutputParser({ tools });
    parser.push(r.text);
    parser.finish();
    const out = parser.result();
    const message: ChatMessage = { role: 'assistant', content: out.content };
    if (out.reasoning_content !== null) message.reasoning_content = out.reasoning_content;
    if (out.tool_calls.length > 0) message.tool_calls = out.tool_calls;
    return { message, finishReason: out.tool_calls.length > 0 ? 'tool_calls' : r.finishReason };
  }
}

export interface AgentRequest {
  messages: ChatMessage[];
  clientTools: ToolSpec[];
  thinking: boolean;
  temperature: number;
  topP: number;
  maxTokens: number | null;
  seed: number | undefined;
}

/** Reads and checks the `agent` field. */
export function parseAgentField(ctx: ServerContext, v: unknown): { tools: string[]; maxSteps: number; session: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badParam('agent', "'agent' must be an object {tools: [...], max_steps?, session?}", 'invalid_type');
  const a = v as Record<string, unknown>;
  const avail = ctx.agents?.available() ?? [];
  if (!Array.isArray(a.tools) || a.tools.length === 0 || a.tools.some((t) => typeof t !== 'string')) throw badParam('agent.tools', "'agent.tools' must be a non-empty list of built-in tool names", 'invalid_type');
  for (const t of a.tools as string[]) {
    if (!avail.includes(t)) throw badParam('agent.tools', `the built-in tool '${t}' is not enabled on this server (enabled: ${avail.join(', ') || 'none'}; start it with --agent-dir for python, --docs for browser)`);
  }
  const session = a.session === undefined ? 'default' : a.session;
  if (typeof session !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(session)) throw badParam('agent.session', "'agent.session' must be 1-64 letters, digits, _ or -");
  return { tools: [...new Set(a.tools as string[])], maxSteps: optInt(a, 'max_steps', 1, 16, 8)!, session };
}

export async function agentCompletion(ctx: ServerContext, agent: { tools: string[]; maxSteps: number; session: string }, req: AgentRequest, signal: AbortSignal): Promise<object> {
  const registry = ctx.agents!.registry(agent.tools, agent.session);
  const backend = new EngineBackend(ctx, req, signal);
  const r = await runAgent(backend, registry, req.messages, { maxSteps: agent.maxSteps, external: req.clientTools.filter((t) => !registry.has(t.function.name)) });
  const last = r.stopReason === 'max_steps' ? r.steps.at(-1)!.assistant : r.answer!;
  const message: Record<string, unknown> = { role: 'assistant', content: last.content };
  if (last.reasoning_content) message.reasoning_content = last.reasoning_content;
  const finish = r.stopReason === 'external_tool' ? 'tool_calls' : r.stopReason === 'max_steps' ? 'length' : 'stop';
  if (r.stopReason === 'external_tool') message.tool_calls = last.tool_calls;
  return {
    id: `chatcmpl-${ctx.newId()}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: ctx.modelId,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    agent_steps: r.steps.map((s) => ({
      reasoning_content: s.assistant.reasoning_content ?? null, content: s.assistant.content, tool_calls: s.assistant.tool_calls ?? [],
      observations: s.calls.map((c) => ({ tool_call_id: c.call.id, name: c.call.function.name, content: c.observation, ok: c.ok })),
    })),
    system_fingerprint: ctx.fingerprint,
  };
}
