/**
 * Checks a conversation (as read from JSON) and brings it to the one shape the renderer takes:
 * text content as strings (OpenAI text-part lists joined), tool-call arguments as objects.
 * Bad input is a DataError naming the field: unknown role, non-string content where text is
 * required, a tool message with no preceding tool call, malformed tool calls or tools.
 */
import { DataError } from '../errors.js';
import type { ChatMessage, Conversation, ToolCall, ToolSpec } from './chat-types.js';

/** A tool call with its arguments parsed to an object. */
export interface NormalToolCall {
  id?: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** A message after validation: text is a string, tool calls are parsed. */
export interface NormalMessage {
  role: ChatMessage['role'];
  content: string;
  /** Assistant only: reasoning_content when given as a string, else undefined. */
  reasoning?: string;
  toolCalls: NormalToolCall[];
}

export interface NormalConversation {
  messages: NormalMessage[];
  tools: ToolSpec[];
  enableThinking: boolean;
  addGenerationPrompt: boolean;
}

const ROLES = ['system', 'user', 'assistant', 'tool'];

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Text of a content value: a string, or an OpenAI list of {type: 'text', text} parts. */
function textOf(content: unknown, field: string, file: string | undefined, allowNull: boolean): string {
  if (typeof content === 'string') return content;
  if ((content === null || content === undefined) && allowNull) return '';
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        if (typeof part === 'string') return part;
        if (isObj(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
        throw new DataError(`expected a text part {"type": "text", "text": string}, got ${JSON.stringify(part)?.slice(0, 80)}; glmkit's GLM format carries text only`, { file, field: `${field}[${i}]` });
      })
      .join('');
  }
  throw new DataError(`expected a string${allowNull ? ' or null' : ''} (or a list of text parts), got ${content === null ? 'null' : typeof content}`, { file, field });
}

/** Parses one tool call in OpenAI shape ({type, function: {name, arguments}}) or the flat {name, arguments}. */
export function normalizeToolCall(tc: unknown, field: string, file?: string): NormalToolCall {
  if (!isObj(tc)) throw new DataError(`expected a tool call object {"type": "function", "function": {"name", "arguments"}}, got ${JSON.stringify(tc)}`, { file, field });
  const fn = isObj(tc.function) ? tc.function : tc;
  const where = isObj(tc.function) ? `${field}.function` : field;
  if (typeof fn.name !== 'string' || fn.name.length === 0) throw new DataError(`expected a non-empty string tool name, got ${JSON.stringify(fn.name)}`, { file, field: `${where}.name` });
  let args: unknown = fn.arguments ?? {};
  if (typeof args === 'string') {
    try {
      args = args.trim() === '' ? {} : JSON.parse(args);
    } catch (e) {
      throw new DataError(`arguments is a string but not valid JSON (${(e as Error).message}); give an object or a JSON string encoding one`, { file, field: `${where}.arguments` });
    }
  }
  if (!isObj(args)) throw new DataError(`expected the arguments to be a JSON object (or a JSON string encoding one), got ${JSON.stringify(args)}`, { file, field: `${where}.arguments` });
  return { id: typeof tc.id === 'string' ? tc.id : undefined, name: fn.name, arguments: args };
}

/** Validates and normalizes a conversation; `file` is used in error locations. */
export function normalizeConversation(conv: unknown, file?: string): NormalConversation {
  if (!isObj(conv)) throw new DataError(`expected a conversation object {"messages": [...]}, got ${JSON.stringify(conv)?.slice(0, 80)}`, { file });
  if (!Array.isArray(conv.messages)) throw new DataError('expected an array of messages', { file, field: 'messages' });
  for (const key of ['enable_thinking', 'add_generation_prompt'] as const) {
    if (conv[key] !== undefined && conv[key] !== null && typeof conv[key] !== 'boolean') {
      throw new DataError(`expected a boolean, got ${JSON.stringify(conv[key])}`, { file, field: key });
    }
  }
  const tools = conv.tools ?? [];
  if (!Array.isArray(tools)) throw new DataError('expected an array of tools', { file, field: 'tools' });
  tools.forEach((t, i) => {
    const fn = isObj(t) && isObj(t.function) ? t.function : t;
    if (!isObj(fn) || typeof fn.name !== 'string') throw new DataError(`expected a tool {"type": "function", "function": {"name", "description", "parameters"}}, got ${JSON.stringify(t)?.slice(0, 80)}`, { file, field: `tools[${i}]` });
  });
  const messages: NormalMessage[] = conv.messages.map((m: unknown, i: number) => {
    const field = `messages[${i}]`;
    if (!isObj(m)) throw new DataError(`expected a message object {"role", "content"}, got ${JSON.stringify(m)?.slice(0, 80)}`, { file, field });
    if (typeof m.role !== 'string' || !ROLES.includes(m.role)) {
      throw new DataError(`unknown role ${JSON.stringify(m.role)}; expected one of ${ROLES.join(', ')}`, { file, field: `${field}.role` });
    }
    const role = m.role as ChatMessage['role'];
    if (role === 'assistant') {
      const calls = m.tool_calls ?? [];
      if (!Array.isArray(calls)) throw new DataError('expected an array of tool calls', { file, field: `${field}.tool_calls` });
      if (m.reasoning_content !== undefined && m.reasoning_content !== null && typeof m.reasoning_content !== 'string') {
        throw new DataError(`expected a string, got ${typeof m.reasoning_content}`, { file, field: `${field}.reasoning_content` });
      }
      return {
        role,
        content: textOf(m.content, `${field}.content`, file, true),
        reasoning: typeof m.reasoning_content === 'string' ? m.reasoning_content : undefined,
        toolCalls: calls.map((tc, j) => normalizeToolCall(tc, `${field}.tool_calls[${j}]`, file)),
      };
    }
    if (role === 'tool') {
      if (typeof m.content !== 'string') throw new DataError(`a tool result must be a string, got ${m.content === null ? 'null' : typeof m.content}`, { file, field: `${field}.content` });
    }
    return { role, content: textOf(m.content, `${field}.content`, file, false), toolCalls: [] };
  });
  // Every run of tool messages must answer an assistant turn that made tool calls.
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== 'tool') continue;
    let j = i - 1;
    while (j >= 0 && messages[j].role === 'tool') j--;
    if (j < 0 || messages[j].role !== 'assistant' || messages[j].toolCalls.length === 0) {
      throw new DataError('tool message with no preceding tool call: a tool result must follow an assistant message with tool_calls (or another tool result)', { file, field: `messages[${i}]` });
    }
  }
  return {
    messages,
    tools: tools as ToolSpec[],
    enableThinking: conv.enable_thinking !== false,
    addGenerationPrompt: conv.add_generation_prompt === true,
  };
}

/** Re-exported for callers that hold typed conversations. */
export type { Conversation, ToolCall };
