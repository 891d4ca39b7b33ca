/**
 * Generation-based evaluation of a chat model: render each prompt with the GLM chat template
 * (thinking or direct mode), generate in batches, parse the output into reasoning / content /
 * tool calls, and score it with a verifier. Used for held-out world tasks (e.g. arithmetic).
 */
import { generate } from '../generation/generate.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import { parseChatOutput, type ParsedOutput } from '../tokenizer/chat-parser.js';
import { renderChat } from '../tokenizer/chat.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import { STOP_TOKENS } from '../tokenizer/special-tokens.js';
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
  const stops = STOP_TOKENS.map((t) => tok.requireId(t));
  const bs = opts.batchSize ?? 16;
  let total = 0, truncated = 0;
  const samples: ChatEvalResult['samples'] = [];
  for (let i = 0; i < items.length; i += bs) {
    const batch = items.slice(i, i + bs);
    const prompts = batch.map((it) => renderChat(tok, { messages: it.prompt, enable_thinking: opts.thinking, add_generation_prompt: true }).ids);
    const res = generate(model, prompts, { maxNewTokens: opts.maxNewTokens, temperature: opts.temperature ?? 0, seed: opts.seed ?? 0, stopTokens: stops, padId: stops[0] });
    batch.forEach((it, j) => {
      const ids = res.tokens[j].filter((t) => !stops.includes(t));
      // Direct mode pre-fills `<think></think>`: the parser sees the generated part after it.
      const text = tok.decode(ids);
      const parsed = parseChatOutput(text);
      const s = it.score(parsed);
      total += s;
      if (res.finishReason[j] === 'length') truncated++;
      if (samples.length < 5) samples.push({ prompt: it.prompt.map((m) => m.content ?? '').join('\n'), output: text, score: s });
    });
  }
  return { accuracy: items.length ? total / items.length : NaN, n: items.length, samples, truncated: items.length ? truncated / items.length : 0 };
}
