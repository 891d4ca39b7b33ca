/**
 * Generation-based evaluation of a chat model: render each prompt with the GLM chat template
 * (thinking or direct mode), generate in batches (the shared rollout engine), parse the output into
 * reasoning / content / tool calls, and score it with a verifier. Used for held-out world tasks.
 */
import { rollout } from '../generation/rollout.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { ParsedOutput } from '../tokenizer/chat-parser.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

export interface EvalItem {
  prompt: ChatMessage[];
  /** 1 for a correct answer, 0 otherwise (or a graded score in [0, 1]) */
  score: (out: ParsedOutput) => number;
}

export interface ChatEvalOptions {
  thinking: boolean;
  maxNewTokens: number;
  batchSize?: number;
  /** 0 (default) = greedy */
  temperature?: number;
  seed?: number;
}

export interface ChatEvalResult {
  accuracy: number;
  n: number;
  /** a few (prompt, output, score) examples for reports */
  samples: { prompt: string; output: string; score: number }[];
  /** share of generations cut by the token limit */
  truncated: number;
}

export function evalChat(model: GlmForCausalLM, tok: Tokenizer, items: EvalItem[], opts: ChatEvalOptions): ChatEvalResult {
  const outs = rollout(model, tok, items.map((it) => it.prompt), {
    maxNewTokens: opts.maxNewTokens, temperature: opts.temperature ?? 0, thinking: opts.thinking, batchSize: opts.batchSize ?? 16, seed: opts.seed ?? 0,
  });
  let total = 0, truncated = 0;
  const samples: ChatEvalResult['samples'] = [];
  outs.forEach((r) => {
    const it = items[r.promptIndex];
    const s = it.score(r.parsed);
    total += s;
    if (r.finishReason === 'length') truncated++;
    if (samples.length < 5) samples.push({ prompt: it.prompt.map((m) => m.content ?? '').join('\n'), output: r.text, score: s });
  });
  return { accuracy: items.length ? total / items.length : NaN, n: items.length, samples, truncated: items.length ? truncated / items.length : 0 };
}
