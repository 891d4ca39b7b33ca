/**
 * Output parser: text a GLM model generated after `<|assistant|>` -> { reasoning_content, content,
 * tool_calls }, whole or streamed piece by piece (pieces may cut tags anywhere).
 *
 *   [ws] <think> reasoning </think> content (<tool_call>name <arg_key>k</arg_key> <arg_value>v</arg_value> ... </tool_call>)*
 *
 * - reasoning is the text of a leading `<think>` block (trimmed; null when absent or empty); an
 *   unterminated block (generation cut off) is all reasoning;
 * - content is all other text outside tool calls, trimmed at both ends;
 * - each tool call becomes an OpenAI tool call with arguments as a JSON string; a value is kept as a
 *   string when the tool's schema types it `string`, else it is parsed as JSON when it is valid JSON
 *   and kept as a string otherwise (the renderer writes strings raw and other values as JSON);
 * - a stop token (`<|user|>`, `<|observation|>`, `<|endoftext|>`) ends the output;
 * - malformed tool calls (no name, unterminated, text between arguments, a key without a value,
 *   a repeated key) are reported in `malformed`, never thrown.
 */
import type { ToolCall, ToolSpec } from './chat-types.js';
import { STOP_TOKENS } from './special-tokens.js';

export interface MalformedToolCall {
  /** The text between <tool_call> and </tool_call> (or to the end when unterminated). */
  raw: string;
  reason: string;
}

export interface ParsedOutput {
  reasoning_content: string | null;
  content: string;
  tool_calls: ToolCall[];
  malformed: MalformedToolCall[];
}

export type OutputDelta =
  | { type: 'reasoning'; text: string }
  | { type: 'content'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'malformed'; malformed: MalformedToolCall };

export interface ParserOptions {
  /** Tool schemas: argument values whose schema type is "string" are never JSON-parsed. */
  tools?: ToolSpec[];
  /** Prefix of generated tool-call ids (default "call_"): ids are prefix + index. */
  idPrefix?: string;
}

const THINK = '<think>';
const END_THINK = '</think>';
const CALL = '<tool_call>';
const END_CALL = '</tool_call>';

/** Length of the longest suffix of s that is a proper prefix of one of tags (text to hold back). */
function partialTagLength(s: string, tags: readonly string[]): number {
  let best = 0;
  for (const tag of tags) {
    for (let k = Math.min(tag.length - 1, s.length); k > best; k--) {
      if (s.endsWith(tag.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

/** Drops leading whitespace and holds trailing whitespace back until more text follows (streamed trim). */
class StreamTrim {
  private started = false;
  private pending = '';
  write(text: string): string {
    if (text.length === 0) return '';
    if (!this.started) {
      text = text.replace(/^\s+/, '');
      if (text.length === 0) return '';
      this.started = true;
    }
    const m = /\s+$/.exec(text);
    if (m && m.index === 0) {
      this.pending += text;
      return '';
    }
    const out = this.pending + (m ? text.slice(0, m.index) : text);
    this.pending = m ? m[0] : '';
    return out;
  }
}

/** Incremental parser; `push` pieces, then `finish`. `result()` holds everything parsed so far. */
export class ChatOutputParser {
  private mode: 'start' | 'reasoning' | 'content' | 'call' | 'done' = 'start';
  private buf = '';
  private callBuf = '';
  private readonly reasoningTrim = new StreamTrim();
  private readonly contentTrim = new StreamTrim();
  private readonly stringParams = new Map<string, Set<string>>();
  private readonly idPrefix: string;
  private readonly out: ParsedOutput = { reasoning_content: null, content: '', tool_calls: [], malformed: [] };
  private reasoning = '';

  constructor(opts: ParserOptions = {}) {
    this.idPrefix = opts.idPrefix ?? 'call_';
    for (const t of opts.tools ?? []) {
      const fn = (t as { function?: { name?: string; parameters?: { properties?: Record<string, { type?: unknown }> } } }).function;
      if (!fn?.name) continue;
      const strings = new Set<string>();
      for (const [k, p] of Object.entries(fn.parameters?.properties ?? {})) if (p?.type === 'string') strings.add(k);
      this.stringParams.set(fn.name, strings);
    }
  }

  /** Feeds generated text; returns what it completes. */
  push(piece: string): OutputDelta[] {
    this.buf += piece;
    const deltas: OutputDelta[] = [];
    this.step(deltas, false);
    return deltas;
  }

  /** Ends the stream: flushes held text, reports an unterminated tool call. */
  finish(): OutputDelta[] {
    const deltas: OutputDelta[] = [];
    this.step(deltas, true);
    return deltas;
  }

  /** Everything parsed so far. */
  result(): ParsedOutput {
    return { ...this.out, reasoning_content: this.reasoning.length > 0 ? this.reasoning : null, tool_calls: [...this.out.tool_calls], malformed: [...this.out.malformed] };
  }

  private emitReasoning(text: string, deltas: OutputDelta[]): void {
    const t = this.reasoningTrim.write(text);
    if (t) {
      this.reasoning += t;
      deltas.push({ type: 'reasoning', text: t });
    }
  }

  private emitContent(text: string, deltas: OutputDelta[]): void {
    const t = this.contentTrim.write(text);
    if (t) {
      this.out.content += t;
      deltas.push({ type: 'content', text: t });
    }
  }

  /** Index and length of the first stop token in s, or null. */
  private firstStop(s: string): [number, number] | null {
    let best: [number, number] | null = null;
    for (const t of STOP_TOKENS) {
      const i = s.indexOf(t);
      if (i >= 0 && (best === null || i < best[0])) best = [i, t.length];
    }
    return best;
  }

  private step(deltas: OutputDelta[], final: boolean): void {
    for (;;) {
      const buf = this.buf;
      switch (this.mode) {
        case 'done':
          this.buf = '';
          return;
        case 'start': {
          const s = buf.replace(/^\s+/, '');
          if (s.startsWith(THINK)) {
            this.buf = s.slice(THINK.length);
            this.mode = 'reasoning';
            continue;
          }
          if (!final && (s.length === 0 || THINK.startsWith(s))) {
            this.buf = s;
            return;
          }
          this.buf = s;
          this.mode = 'content';
          continue;
        }
        case 'reasoning': {
          const end = buf.indexOf(END_THINK);
          const stop = this.firstStop(buf);
          if (stop && (end < 0 || stop[0] < end)) {
            this.emitReasoning(buf.slice(0, stop[0]), deltas);
            this.mode = 'done';
            continue;
          }
          if (end >= 0) {
            this.emitReasoning(buf.slice(0, end), deltas);
            this.buf = buf.slice(end + END_THINK.length);
            this.mode = 'content';
            continue;
          }
          const hold = final ? 0 : partialTagLength(buf, [END_THINK, ...STOP_TOKENS]);
          this.emitReasoning(buf.slice(0, buf.length - hold), deltas);
          this.buf = buf.slice(buf.length - hold);
          return;
        }
        case 'content': {
          const call = buf.indexOf(CALL);
          const stop = this.firstStop(buf);
          if (stop && (call < 0 || stop[0] < call)) {
            this.emitContent(buf.slice(0, stop[0]), deltas);
            this.mode = 'done';
            continue;
          }
          if (call >= 0) {
            this.emitContent(buf.slice(0, call), deltas);
            this.buf = buf.slice(call + CALL.length);
            this.callBuf = '';
            this.mode = 'call';
            continue;
          }
          const hold = final ? 0 : partialTagLength(buf, [CALL, ...STOP_TOKENS]);
          this.emitContent(buf.slice(0, buf.length - hold), deltas);
          this.buf = buf.slice(buf.length - hold);
          return;
        }
        case 'call': {
          const end = buf.indexOf(END_CALL);
          const stop = this.firstStop(buf);
          if (stop && (end < 0 || stop[0] < end)) {
            this.report({ raw: this.callBuf + buf.slice(0, stop[0]), reason: 'unterminated tool call: a stop token came before </tool_call>' }, deltas);
            this.mode = 'done';
            continue;
          }
          if (end >= 0) {
            this.finishCall(this.callBuf + buf.slice(0, end), deltas);
            this.buf = buf.slice(end + END_CALL.length);
            this.mode = 'content';
            continue;
          }
          if (final) {
            this.report({ raw: this.callBuf + buf, reason: 'unterminated tool call: the output ended before </tool_call>' }, deltas);
            this.buf = '';
            this.mode = 'done';
            return;
          }
          const hold = partialTagLength(buf, [END_CALL, ...STOP_TOKENS]);
          this.callBuf += buf.slice(0, buf.length - hold);
          this.buf = buf.slice(buf.length - hold);
          return;
        }
      }
    }
  }

  private report(m: MalformedToolCall, deltas: OutputDelta[]): void {
    this.out.malformed.push(m);
    deltas.push({ type: 'malformed', malformed: m });
  }

  private finishCall(raw: string, deltas: OutputDelta[]): void {
    const parsed = parseToolCallBody(raw, this.stringParams);
    if (typeof parsed === 'string') {
      this.report({ raw, reason: parsed }, deltas);
      return;
    }
    const call: ToolCall = {
      id: `${this.idPrefix}${this.out.tool_calls.length}`,
      type: 'function',
      function: { name: parsed.name, arguments: JSON.stringify(parsed.args) },
    };
    this.out.tool_calls.push(call);
    deltas.push({ type: 'tool_call', call });
  }
}

/** Parses "name\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>\n..." -> call, or the reason it is malformed. */
function parseToolCallBody(raw: string, stringParams: Map<string, Set<string>>): { name: string; args: Record<string, unknown> } | string {
  const firstKey = raw.indexOf('<arg_key>');
  const name = (firstKey < 0 ? raw : raw.slice(0, firstKey)).trim();
  if (name.length === 0) return 'tool call without a function name';
  if (/[\s<>]/.test(name)) return `tool call name ${JSON.stringify(name)} holds whitespace or tags`;
  const strings = stringParams.get(name);
  const args: Record<string, unknown> = {};
  let pos = firstKey < 0 ? raw.length : firstKey;
  const expect = (tag: string): boolean => {
    while (pos < raw.length && /\s/.test(raw[pos])) pos++;
    if (!raw.startsWith(tag, pos)) return false;
    pos += tag.length;
    return true;
  };
  for (;;) {
    while (pos < raw.length && /\s/.test(raw[pos])) pos++;
    if (pos >= raw.length) break;
    if (!expect('<arg_key>')) return `unexpected text ${JSON.stringify(raw.slice(pos, pos + 30))} where <arg_key> was expected`;
    const keyEnd = raw.indexOf('</arg_key>', pos);
    if (keyEnd < 0) return '<arg_key> without </arg_key>';
    const key = raw.slice(pos, keyEnd).trim();
    pos = keyEnd + '</arg_key>'.length;
    if (key.length === 0) return 'empty argument name';
    if (!expect('<arg_value>')) return `argument ${JSON.stringify(key)} has no <arg_value>`;
    const valEnd = raw.indexOf('</arg_value>', pos);
    if (valEnd < 0) return `argument ${JSON.stringify(key)}: <arg_value> without </arg_value>`;
    const value = raw.slice(pos, valEnd);
    pos = valEnd + '</arg_value>'.length;
    if (Object.hasOwn(args, key)) return `argument ${JSON.stringify(key)} given twice`;
    args[key] = strings?.has(key) ? value : parseValue(value);
  }
  return { name, args };
}

/** JSON value when the text is valid JSON, else the text itself. */
function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Parses a whole generated text (same result as streaming it through ChatOutputParser). */
export function parseChatOutput(text: string, opts: ParserOptions = {}): ParsedOutput {
  const p = new ChatOutputParser(opts);
  p.push(text);
  p.finish();
  return p.result();
}
