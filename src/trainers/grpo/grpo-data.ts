/**
 * RL prompt data (JSONL), as the world writes it (`glmkit data world --task rl`):
 *   {"prompt": [messages] | "text", "answer": "...", "task"?: "arithmetic" | "world" | "tool",
 *    "difficulty"?: n, "tools"?: [tool schemas] | ["python", ...], "verifier"?: "numeric" | ...,
 *    "tolerance"?: x, "tool_calls"?: [...], "offline_trials"?: n, "offline_successes"?: c}
 * Prompt messages may hold image parts (docs/data-formats.md "Images in chats"); they are validated
 * here and loaded by the vision policy (vision-policy.ts), relative paths from the JSONL file's folder
 * (`image_dir`, set by `loadRlPrompts` on records with images).
 * `offline_*` carry pass@k evidence from earlier checkpoints or other models into RLCS.
 */
import { dirname, resolve } from 'node:path';
import { DataError } from '../../errors.js';
import { dataFilesLabel, readJsonlFiles, type DataFiles } from '../../data/jsonl.js';
import { sampleToolProblem } from '../../data/world/tools.js';
import type { WorldRng } from '../../data/world/rng.js';
import type { ChatMessage, ToolSpec } from '../../tokenizer/chat-types.js';
import { verifierOf, type VerifiableRecord } from '../../rewards/index.js';
import { conversationImages, normalizeConversation } from '../../tokenizer/chat-validate.js';
import { DEFAULT_TOOL_SPECS } from './tools.js';

export interface RlPrompt extends VerifiableRecord {
  prompt: ChatMessage[];
  tools?: ToolSpec[];
  difficulty?: number;
  offline_trials?: number;
  offline_successes?: number;
  /** the folder relative image paths of the prompt resolve against (the JSONL file's); set by loadRlPrompts */
  image_dir?: string;
}

/** Whether a record's prompt holds image parts (it needs a vision model). */
export function hasImages(rec: RlPrompt): boolean {
  return conversationImages(normalizeConversation({ messages: rec.prompt }, undefined, 'prompt')).length > 0;
}

/** Validates one record (throws DataError naming the field). */
export function toRlPrompt(v: Record<string, unknown>, where: { file?: string; line?: number } = {}): RlPrompt {
  const prompt = typeof v.prompt === 'string' ? [{ role: 'user' as const, content: v.prompt }] : v.prompt;
  if (!Array.isArray(prompt) || prompt.length === 0) throw new DataError('expected "prompt": a non-empty list of messages or a string', { ...where, field: 'prompt' });
  // roles, content parts (text and images) and tool-call shapes, with file:line in the error
  const loc = where.file !== undefined && where.line !== undefined ? `${where.file}:${where.line}` : where.file;
  normalizeConversation({ messages: prompt }, loc, 'prompt');
  if (typeof v.answer !== 'string' && typeof v.answer !== 'number') throw new DataError(`expected "answer": a string, found ${JSON.stringify(v.answer)}`, { ...where, field: 'answer' });
  let tools: ToolSpec[] | undefined;
  if (v.tools !== undefined) {
    if (!Array.isArray(v.tools)) throw new DataError('expected "tools": a list of tool schemas or tool names', { ...where, field: 'tools' });
    tools = v.tools.map((t) => {
      if (typeof t !== 'string') return t as ToolSpec;
      const spec = DEFAULT_TOOL_SPECS[t];
      if (!spec) throw new DataError(`unknown tool "${t}"; built-in tools are ${Object.keys(DEFAULT_TOOL_SPECS).join(', ')}`, { ...where, field: 'tools' });
      return spec;
    });
  }
  const rec: RlPrompt = { ...(v as object), prompt: prompt as ChatMessage[], answer: String(v.answer), tools } as RlPrompt;
  if (tools === undefined) delete rec.tools;
  try {
    verifierOf(rec);
  } catch (e) {
    throw new DataError((e as Error).message, { ...where, field: v.verifier !== undefined ? 'verifier' : 'task' });
  }
  return rec;
}

/** Reads RL prompts from a JSONL file. */
export function loadRlPrompts(files: DataFiles): RlPrompt[] {
  const out = readJsonlFiles(files).map((r) => {
    const rec = toRlPrompt(r.value as Record<string, unknown>, { file: r.file, line: r.line });
    if (rec.image_dir === undefined && hasImages(rec)) rec.image_dir = dirname(resolve(r.file));
    return rec;
  });
  if (out.length === 0) throw new DataError('no RL prompts found; expected JSONL records with "prompt" and "answer"', { file: dataFilesLabel(files) });
  return out;
}

/** `n` python-tool RL prompts from the world (large products, powers, sums of squares, remainders). */
export function worldToolPrompts(rng: WorldRng, n: number): RlPrompt[] {
  return Array.from({ length: n }, () => {
    const p = sampleToolProblem(rng);
    return { prompt: [{ role: 'user' as const, content: p.question }], answer: p.answer, task: 'tool', tools: [DEFAULT_TOOL_SPECS.python] };
  });
}
