/**
 * Record schemas of the world's tasks, checked field by field. `validateWorldRecord` throws a
 * DataError naming the field and what was expected; the tests run every generated record through it,
 * and loaders can use it on user data that claims one of these shapes.
 */
import { DataError } from '../../errors.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { LONGDOC_KINDS } from './longdoc.js';

export const WORLD_TASKS = ['pretrain', 'sft', 'rl', 'preference', 'longqa', 'longdoc', 'mrc', 'mcq', 'pairs', 'sts', 'steps'] as const;
export type WorldTask = (typeof WORLD_TASKS)[number];

type Obj = Record<string, unknown>;

function fail(field: string, expected: string, got: unknown, line?: number): never {
  const shown = got === undefined ? 'nothing' : JSON.stringify(got)?.slice(0, 60);
  throw new DataError(`expected ${expected}, got ${shown}`, { field, line });
}

/** The field checkers below name the field `name` in errors (default the key, e.g. "follow_ups[2].support" for a nested one). */
function str(o: Obj, k: string, line?: number, nonEmpty = true, name = k): string {
  const v = o[k];
  if (typeof v !== 'string' || (nonEmpty && v.length === 0)) fail(name, nonEmpty ? 'a non-empty string' : 'a string', v, line);
  return v;
}

function int(o: Obj, k: string, line?: number, min = 0): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(k, `an integer >= ${min}`, v, line);
  return v;
}

function strArray(o: Obj, k: string, line?: number, minLen = 1, name = k): string[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length < minLen || v.some((x) => typeof x !== 'string' || x.length === 0)) {
    fail(name, `an array of at least ${minLen} non-empty strings`, v, line);
  }
  return v as string[];
}

function indexArray(o: Obj, k: string, size: number, line?: number, name = k): number[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => !Number.isInteger(x) || x < 0 || x >= size)) {
    fail(name, `a non-empty array of indices in [0, ${size})`, v, line);
  }
  return v as number[];
}

/** Checks one chat message (OpenAI shape); `where` names it in errors, e.g. "messages[2]". */
export function validateMessage(m: unknown, where: string, line?: number): ChatMessage {
  if (!m || typeof m !== 'object') fail(where, 'a message object', m, line);
  const msg = m as Obj;
  if (!['system', 'user', 'assistant', 'tool'].includes(msg.role as string)) fail(`${where}.role`, 'system|user|assistant|tool', msg.role, line);
  if (msg.content !== null && typeof msg.content !== 'string') fail(`${where}.content`, 'a string or null', msg.content, line);
  if (msg.reasoning_content !== undefined && typeof msg.reasoning_content !== 'string') {
    fail(`${where}.reasoning_content`, 'a string', msg.reasoning_content, line);
  }
  if (msg.tool_calls !== undefined) {
    if (msg.role !== 'assistant' || !Array.isArray(msg.tool_calls) || msg.tool_calls.length === 0) {
      fail(`${where}.tool_calls`, 'a non-empty array on an assistant message', msg.tool_calls, line);
    }
    (msg.tool_calls as unknown[]).forEach((c, i) => {
      const call = c as Obj;
      const fn = call?.function as Obj | undefined;
      if (call?.type !== 'function' || !fn || typeof fn.name !== 'string' || fn.name.length === 0) {
        fail(`${where}.tool_calls[${i}]`, '{"type":"function","function":{"name":...,"arguments":...}}', c, line);
      }
      const args = fn.arguments;
      if (typeof args === 'string') {
        try {
          if (typeof JSON.parse(args) !== 'object') throw new Error('not an object');
        } catch {
          fail(`${where}.tool_calls[${i}].function.arguments`, 'a JSON object string', args, line);
        }
      } else if (!args || typeof args !== 'object' || Array.isArray(args)) {
        fail(`${where}.tool_calls[${i}].function.arguments`, 'an object', args, line);
      }
    });
  }
  if (msg.role === 'tool' && typeof msg.content !== 'string') fail(`${where}.content`, 'the tool result as a string', msg.content, line);
  return msg as unknown as ChatMessage;
}

function messages(o: Obj, k: string, line?: number): ChatMessage[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length === 0) fail(k, 'a non-empty message array', v, line);
  return (v as unknown[]).map((m, i) => validateMessage(m, `${k}[${i}]`, line));
}

/** Checks the SFT conversation structure: user first, tool results right after the calls they answer. */
function validateSft(o: Obj, line?: number): void {
  const msgs = messages(o, 'messages', line);
  if (msgs[0].role !== 'user' && msgs[0].role !== 'system') fail('messages[0].role', 'user or system', msgs[0].role, line);
  if (msgs[msgs.length - 1].role !== 'assistant') fail('messages', 'a conversation ending with an assistant turn', msgs.map((m) => m.role), line);
  let pending = new Set<string>();
  msgs.forEach((m, i) => {
    if (m.role === 'tool') {
      if (pending.size === 0) fail(`messages[${i}]`, 'a tool result after an assistant tool call', m.role, line);
      if (m.tool_call_id !== undefined) {
        if (!pending.has(m.tool_call_id)) fail(`messages[${i}].tool_call_id`, `one of ${[...pending].join(', ')}`, m.tool_call_id, line);
        pending.delete(m.tool_call_id);
      }
    } else {
      pending = new Set((m.tool_calls ?? []).map((c, j) => c.id ?? `#${j}`));
    }
  });
  if (o.enable_thinking !== undefined && typeof o.enable_thinking !== 'boolean') fail('enable_thinking', 'a boolean', o.enable_thinking, line);
  if (o.enable_thinking === false) {
    msgs.forEach((m, i) => {
      if (m.role === 'assistant' && (m.reasoning_content ?? '') !== '') fail(`messages[${i}].reasoning_content`, 'an empty string in direct mode', m.reasoning_content, line);
    });
  }
  if (o.tools !== undefined && (!Array.isArray(o.tools) || o.tools.some((t) => (t as Obj)?.type !== 'function'))) {
    fail('tools', 'an array of {"type":"function",...} tool specs', o.tools, line);
  }
}

/** Throws DataError unless `record` has the shape of `task`'s records. `line` (1-based) locates it in a file. */
export function validateWorldRecord(task: WorldTask, record: unknown, line?: number): void {
  if (!record || typeof record !== 'object' || Array.isArray(record)) fail('record', 'a JSON object', record, line);
  const o = record as Obj;
  switch (task) {
    case 'pretrain':
      str(o, 'text', line);
      return;
    case 'steps': {
      str(o, 'prompt', line);
      const steps = strArray(o, 'completions', line);
      const labels = o.labels;
      if (!Array.isArray(labels) || labels.length !== steps.length || labels.some((x) => typeof x !== 'boolean')) fail('labels', `an array of ${steps.length} booleans (one per step)`, labels, line);
      return;
    }
    case 'sft':
      validateSft(o, line);
      return;
    case 'rl':
      if (typeof o.prompt === 'string') str(o, 'prompt', line);
      else messages(o, 'prompt', line);
      str(o, 'answer', line);
      int(o, 'difficulty', line, 1);
      str(o, 'task', line);
      return;
    case 'preference': {
      const conversational = Array.isArray(o.prompt);
      for (const k of ['prompt', 'chosen', 'rejected']) {
        if (conversational) messages(o, k, line);
        else str(o, k, line);
      }
      for (const k of ['score_chosen', 'score_rejected']) {
        const v = o[k];
        if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(k, 'a number in [0, 1]', v, line);
      }
      if ((o.score_chosen as number) <= (o.score_rejected as number)) fail('score_chosen', `a score above score_rejected (${o.score_rejected})`, o.score_chosen, line);
      return;
    }
    case 'longqa': {
      const doc = str(o, 'document', line);
      str(o, 'question', line);
      str(o, 'answer', line);
      const needle = str(o, 'needle', line);
      int(o, 'needle_index', line);
      int(o, 'difficulty', line, 1);
      if (!Array.isArray(o.distractor_indices) || o.distractor_indices.some((x) => !Number.isInteger(x))) {
        fail('distractor_indices', 'an array of integers', o.distractor_indices, line);
      }
      if (!doc.includes(needle)) fail('needle', 'a sentence of the document', needle, line);
      return;
    }
    case 'longdoc': {
      const sentences = strArray(o, 'sentences', line);
      if (str(o, 'document', line) !== sentences.map((s, i) => `[${i + 1}] ${s}`).join(' ')) fail('document', 'the sentences numbered [1], [2], ... joined by spaces', o.document, line);
      str(o, 'question', line);
      str(o, 'answer', line);
      indexArray(o, 'support', sentences.length, line);
      strArray(o, 'statements', line);
      str(o, 'kind', line);
      int(o, 'difficulty', line, 1);
      const resolved = o.resolved;
      if (!Array.isArray(resolved) || resolved.some((x) => !x || typeof x !== 'object' || !Number.isInteger((x as Obj).id) || (x as Obj).id as number >= sentences.length || typeof (x as Obj).statement !== 'string')) {
        fail('resolved', 'an array of {"id": sentence index, "statement": string}', resolved, line);
      }
      if (o.follow_ups !== undefined) {
        if (!Array.isArray(o.follow_ups)) fail('follow_ups', 'an array of {kind, question, answer, support, statements}', o.follow_ups, line);
        for (const [i, f] of (o.follow_ups as unknown[]).entries()) {
          if (!f || typeof f !== 'object') fail(`follow_ups[${i}]`, 'an object {kind, question, answer, support, statements}', f, line);
          const fo = f as Obj, at = `follow_ups[${i}]`;
          str(fo, 'question', line, true, `${at}.question`);
          str(fo, 'answer', line, true, `${at}.answer`);
          if (!(LONGDOC_KINDS as readonly unknown[]).includes(fo.kind)) fail(`${at}.kind`, `one of ${LONGDOC_KINDS.join(', ')}`, fo.kind, line);
          indexArray(fo, 'support', sentences.length, line, `${at}.support`);
          strArray(fo, 'statements', line, 1, `${at}.statements`);
        }
      }
      validateSft(o, line);
      return;
    }
    case 'mrc': {
      const sentences = strArray(o, 'sentences', line);
      if (str(o, 'passage', line) !== sentences.join(' ')) fail('passage', 'the sentences joined by spaces', o.passage, line);
      str(o, 'question', line);
      const opts = strArray(o, 'options', line, 2);
      int(o, 'answer', line);
      if ((o.answer as number) >= opts.length) fail('answer', `an index < ${opts.length}`, o.answer, line);
      indexArray(o, 'evidence', sentences.length, line);
      int(o, 'difficulty', line, 1);
      if (o.kind !== undefined && typeof o.kind !== 'string') fail('kind', 'a string naming the question kind', o.kind, line);
      return;
    }
    case 'mcq': {
      str(o, 'question', line);
      const choices = strArray(o, 'choices', line, 2);
      int(o, 'answer', line);
      if ((o.answer as number) >= choices.length) fail('answer', `an index < ${choices.length}`, o.answer, line);
      str(o, 'prefix', line);
      if (o.seen_choices !== undefined && strArray(o, 'seen_choices', line, 2).length !== choices.length) fail('seen_choices', `${choices.length} strings (one per choice)`, o.seen_choices, line);
      return;
    }
    case 'pairs':
      for (const k of ['anchor', 'positive', 'negative', 'negative_kind']) str(o, k, line);
      return;
    case 'sts': {
      str(o, 'sentence1', line);
      str(o, 'sentence2', line);
      const v = o.score;
      if (typeof v !== 'number' || !(v >= 0 && v <= 5)) fail('score', 'a number in [0, 5]', v, line);
      return;
    }
  }
}
