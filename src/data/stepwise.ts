/**
 * Stepwise-supervision data (TRL's format, docs/data-formats.md "Stepwise supervision"): one JSON
 * object per line,
 *   {"prompt": "What is 47 + 38? ...", "completions": ["ones: ...", "tens: ...", "47 + 38 = 85"], "labels": [true, true, true]}
 * `prompt` is a string (one user turn) or a list of messages; `completions` the steps of one
 * response, in order; `labels` one boolean per step. A bad row is a DataError naming file:line and the
 * field. Tokenized for a process reward model as the chat prompt (thinking-mode generation prompt)
 * followed by the steps in a layout (`STEP_LAYOUTS`), each step scored at its last token.
 */
import { ConfigError, DataError } from '../errors.js';
import { renderChat } from '../tokenizer/chat.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { renderPromptIds } from '../generation/rollout.js';
import { readJsonlFiles, type DataFiles } from './jsonl.js';
import { isMessages } from './preference.js';

export interface StepwiseExample {
  prompt: string | ChatMessage[];
  completions: string[];
  labels: boolean[];
  file?: string;
  line?: number;
}

/** The separator written after every step (the token a step is scored at ends it). */
export const DEFAULT_STEP_SEPARATOR = '\n';

/** Reads and validates stepwise JSONL files. */
export function readStepwise(files: DataFiles): StepwiseExample[] {
  return readJsonlFiles(files).map((r) => {
    const v = r.value, where = (field: string) => ({ file: r.file, line: r.line, field });
    const prompt = v.prompt;
    if (typeof prompt !== 'string' && !isMessages(prompt)) throw new DataError(`expected a string or a list of messages, found ${JSON.stringify(prompt)?.slice(0, 60) ?? 'nothing'}; stepwise rows are {"prompt", "completions", "labels"}`, where('prompt'));
    const steps = v.completions;
    if (!Array.isArray(steps) || steps.length === 0) throw new DataError(`expected a non-empty list of step strings, found ${JSON.stringify(steps)?.slice(0, 60) ?? 'nothing'}`, where('completions'));
    steps.forEach((s, i) => {
      if (typeof s !== 'string') throw new DataError(`expected step ${i} to be a string, found ${JSON.stringify(s).slice(0, 60)}`, where('completions'));
    });
    const labels = v.labels;
    if (!Array.isArray(labels)) throw new DataError(`expected a list of booleans, one per step, found ${JSON.stringify(labels)?.slice(0, 60) ?? 'nothing'}`, where('labels'));
    if (labels.length !== steps.length) throw new DataError(`expected ${steps.length} labels (one per step of "completions"), found ${labels.length}`, where('labels'));
    labels.forEach((l, i) => {
      if (typeof l !== 'boolean') throw new DataError(`expected label ${i} to be true or false, found ${JSON.stringify(l)}`, where('labels'));
    });
    return { prompt: prompt as string | ChatMessage[], completions: steps as string[], labels: labels as boolean[], file: r.file, line: r.line };
  });
}

/** A tokenized response: ids and the position of each step's last token. */
export interface TokenizedSteps {
  ids: number[];
  stepEnds: number[];
}

/**
 * How a response's steps are laid out after the prompt:
 * - `chat`: as the chat template renders an assistant turn in thinking mode, i.e. exactly the tokens
 *   the policy generates and SFT trained on: `\n<think>` step 1 sep step 2 sep ... step m-1
 *   `</think>\n` step m `<|endoftext|>`. All steps but the last are the reasoning, the last is the
 *   answer. A reasoning step is scored at the last token of its separator, the last reasoning step at
 *   `</think>`, the answer at the end-of-text token.
 * - `plain`: step 1 sep step 2 sep ... step m sep right after the generation prompt, each step scored
 *   at its separator (no thinking tags: the layout of reward models saved without a layout).
 */
export const STEP_LAYOUTS = ['chat', 'plain'] as const;
export type StepLayout = (typeof STEP_LAYOUTS)[number];

/** The prompt (thinking-mode generation prompt) and the steps in `layout`, with each step's last token. */
export function tokenizeSteps(tok: Tokenizer, prompt: string | readonly ChatMessage[], steps: readonly string[], sep = DEFAULT_STEP_SEPARATOR, layout: StepLayout = 'chat'): TokenizedSteps {
  const messages: ChatMessage[] = typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : [...prompt];
  if (layout === 'chat') return chatLayoutSteps(tok, messages, steps, sep);
  const ids = renderPromptIds(tok, messages, true);
  const stepEnds: number[] = [];
  for (const s of steps) {
    ids.push(...tok.encode(s + sep));
    stepEnds.push(ids.length - 1);
  }
  return { ids, stepEnds };
}

function chatLayoutSteps(tok: Tokenizer, messages: ChatMessage[], steps: readonly string[], sep: string): TokenizedSteps {
  const open = tok.tokenToId('<think>'), close = tok.tokenToId('</think>');
  if (open === undefined || close === undefined) throw new ConfigError('step layout "chat": the tokenizer has no <think> and </think> tokens, so the thinking-mode turn cannot be located; use the "plain" step layout');
  if (steps.length === 0) throw new DataError('a stepwise response needs at least one step');
  const reasoning = steps.slice(0, -1);
  const ids = renderChat(tok, { messages: [...messages, { role: 'assistant', reasoning_content: reasoning.join(sep), content: steps[steps.length - 1] }], enable_thinking: true }).ids;
  const start = renderPromptIds(tok, messages, true).length;
  const o = ids.indexOf(open, start), c = ids.indexOf(close, start);
  if (o < 0 || c < o) throw new ConfigError(`step layout "chat": the chat template rendered no <think>...</think> block after the prompt; use the "plain" step layout`);
  const stepEnds: number[] = [];
  // reasoning steps but the last: the last token of "step 1 sep ... step i sep" inside the <think> run
  for (let i = 0; i + 1 < reasoning.length; i++) stepEnds.push(o + tok.encodeOrdinary(reasoning.slice(0, i + 1).join(sep) + sep).length);
  if (reasoning.length > 0) stepEnds.push(c);
  stepEnds.push(ids.length - 1);
  return { ids, stepEnds };
}
