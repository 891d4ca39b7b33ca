/**
 * Checks a conversation (as read from JSON) and brings it to the one shape the renderer takes:
 * text content as strings (OpenAI text-part lists joined), tool-call arguments as objects, and the
 * image parts of user messages kept in order next to the text (`parts`).
 * Bad input is a DataError naming the field: unknown role, non-string content where text is
 * required, a malformed content part or image reference, an image outside a user message, a tool
 * message with no preceding tool call, malformed tool calls or tools.
 */
import { DataError } from '../errors.js';
import type { ChatMessage, Conversation, ToolCall, ToolSpec } from './chat-types.js';

/** A tool call with its arguments parsed to an object. */
export interface NormalToolCall {
  id?: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** One part of a user message that holds images: text, or an image reference (path, file: URL, data URL or http(s) URL). */
export type NormalPart = { type: 'text'; text: string } | { type: 'image'; image: string; field: string };

/** A message after validation: text is a string, tool calls are parsed. */
export interface NormalMessage {
  role: ChatMessage['role'];
  /** The text of the message (text parts joined; images left out). */
  content: string;
  /** User messages with at least one image: text and image parts in order (absent otherwise). */
  parts?: NormalPart[];
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

const PART_SHAPES = '{"type": "text", "text": string}, {"type": "image", "image": PATH | data URL} or {"type": "image_url", "image_url": {"url": ...}}';
const DATA_URL = /^data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+$/i;

/**
 * The image reference of a content part, or null when the part is not an image part. Accepted:
 * HF's `{"type": "image", "image": REF}` (also `"url"` or `"path"` in place of `"image"`) and
 * OpenAI's `{"type": "image_url", "image_url": {"url": REF}}`. A malformed image part is a DataError.
 */
export function imageRefOfPart(part: Record<string, unknown>, field: string, file?: string): string | null {
  let ref: unknown;
  let where = field;
  if (part.type === 'image') {
    const keys = (['image', 'url', 'path'] as const).filter((k) => part[k] !== undefined);
    if (keys.length !== 1) throw new DataError(`an image part needs exactly one of "image", "url" or "path" (a file path or a data URL), got ${keys.length === 0 ? 'none' : keys.join(' and ')}`, { file, field });
    ref = part[keys[0]];
    where = `${field}.${keys[0]}`;
  } else if (part.type === 'image_url') {
    if (!isObj(part.image_url)) throw new DataError(`expected "image_url": {"url": string}, got ${JSON.stringify(part.image_url)?.slice(0, 80)}`, { file, field: `${field}.image_url` });
    ref = part.image_url.url;
    where = `${field}.image_url.url`;
  } else return null;
  if (typeof ref !== 'string' || ref.trim().length === 0) throw new DataError(`expected an image reference (a file path relative to the data file, a data URL or an http(s) URL), got ${JSON.stringify(ref)?.slice(0, 80)}`, { file, field: where });
  if (/^data:/i.test(ref) && !DATA_URL.test(ref)) throw new DataError(`malformed data URL "${ref.slice(0, 40)}..."; expected data:image/<type>;base64,<data>`, { file, field: where });
  return ref;
}

/** Text (and, where `allowImages`, the ordered parts) of a content value: a string or a list of parts. */
function contentOf(content: unknown, field: string, file: string | undefined, allowNull: boolean, allowImages: boolean): { text: string; parts?: NormalPart[] } {
  if (typeof content === 'string') return { text: content };
  if ((content === null || content === undefined) && allowNull) return { text: '' };
  if (Array.isArray(content)) {
    const parts: NormalPart[] = content.map((part, i): NormalPart => {
      const where = `${field}[${i}]`;
      if (typeof part === 'string') return { type: 'text', text: part };
      if (isObj(part) && part.type === 'text' && typeof part.text === 'string') return { type: 'text', text: part.text };
      const image = isObj(part) ? imageRefOfPart(part, where, file) : null;
      if (image === null) throw new DataError(`expected a content part ${PART_SHAPES}, got ${JSON.stringify(part)?.slice(0, 80)}`, { file, field: where });
      if (!allowImages) throw new DataError('images are read in user messages only; move the image into a user turn', { file, field: where });
      return { type: 'image', image, field: where };
    });
    const text = parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
    return parts.some((p) => p.type === 'image') ? { text, parts } : { text };
  }
  throw new DataError(`expected a string${allowNull ? ' or null' : ''} (or a list of content parts), got ${content === null ? 'null' : typeof content}`, { file, field });
}

/** The image parts of a normalized conversation (reference and the field that holds it), in order of appearance. */
export function conversationImageParts(conv: NormalConversation): Array<{ image: string; field: string }> {
  return conv.messages.flatMap((m) => (m.parts ?? []).flatMap((p) => (p.type === 'image' ? [{ image: p.image, field: p.field }] : [])));
}

/** The image references of a normalized conversation, in order of appearance. */
export function conversationImages(conv: NormalConversation): string[] {
  return conversationImageParts(conv).map((p) => p.image);
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

/**
 * Validates and normalizes a conversation; `file` is used in error locations, `key` names the
 * messages in them (RL records hold their messages under "prompt").
 */
export function normalizeConversation(conv: unknown, file?: string, key = 'messages'): NormalConversation {
  if (!isObj(conv)) throw new DataError(`expected a conversation object {"messages": [...]}, got ${JSON.stringify(conv)?.slice(0, 80)}`, { file });
  if (!Array.isArray(conv.messages)) throw new DataError('expected an array of messages', { file, field: key });
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
    const field = `${key}[${i}]`;
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
        content: contentOf(m.content, `${field}.content`, file, true, false).text,
        reasoning: typeof m.reasoning_content === 'string' ? m.reasoning_content : undefined,
        toolCalls: calls.map((tc, j) => normalizeToolCall(tc, `${field}.tool_calls[${j}]`, file)),
      };
    }
    if (role === 'tool') {
      if (typeof m.content !== 'string') throw new DataError(`a tool result must be a string, got ${m.content === null ? 'null' : typeof m.content}`, { file, field: `${field}.content` });
    }
    const c = contentOf(m.content, `${field}.content`, file, false, role === 'user');
    return c.parts ? { role, content: c.text, parts: c.parts, toolCalls: [] } : { role, content: c.text, toolCalls: [] };
  });
  // Every run of tool messages must answer an assistant turn that made tool calls.
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== 'tool') continue;
    let j = i - 1;
    while (j >= 0 && messages[j].role === 'tool') j--;
    if (j < 0 || messages[j].role !== 'assistant' || messages[j].toolCalls.length === 0) {
      throw new DataError('tool message with no preceding tool call: a tool result must follow an assistant message with tool_calls (or another tool result)', { file, field: `${key}[${i}]` });
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
