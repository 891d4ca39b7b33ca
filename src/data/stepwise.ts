/**
 * Stepwise-supervision data (TRL's format, docs/data-formats.md "Stepwise supervision"): one JSON
 * object per line,
 *   {"prompt": "What is 47 + 38? ...", "completions": ["ones: ...", "tens: ...", "47 + 38 = 85"], "labels": [true, true, true]}
 * `prompt` is a string (one user turn) or a list of messages; `completions` the steps of one
 * response, in order; `labels` one boolean per step. A bad row is a DataError naming file:line and the
 * field. Tokenized for a process reward model as the chat prompt (thinking-mode generation prompt)
 * followed by each step and the step separator, each step scored at its last token (the separator).
 */
import { DataError } from '../errors.js';
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

/** Prompt (thinking-mode generation prompt) + each step followed by `sep`; each step ends at its separator. */
export function tokenizeSteps(tok: Tokenizer, prompt: string | readonly ChatMessage[], steps: readonly string[], sep = DEFAULT_STEP_SEPARATOR): TokenizedSteps {
  const messages: ChatMessage[] = typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : [...prompt];
  const ids = renderPromptIds(tok, messages, true);
  const stepEnds: number[] = [];
  for (const s of steps) {
    ids.push(...tok.encode(s + sep));
    stepEnds.push(ids.length - 1);
  }
  return { ids, stepEnds };
}
