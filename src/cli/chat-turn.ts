/** One chat turn on a local model: render with the GLM template, generate, parse (generate and chat commands). */
import { generate } from '../generation/generate.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import { parseChatOutput, renderChat, STOP_TOKENS, type ChatMessage, type ParsedOutput, type Tokenizer } from '../tokenizer/index.js';

export interface TurnOptions {
  thinking: boolean;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

export interface TurnResult extends ParsedOutput {
  /** the generated text (special tokens kept, stop token dropped) */
  text: string;
  ids: number[];
  finishReason: 'stop' | 'length';
}

export function chatTurn(model: GlmForCausalLM, tok: Tokenizer, messages: ChatMessage[], o: TurnOptions): TurnResult {
  const prompt = renderChat(tok, { messages, enable_thinking: o.thinking, add_generation_prompt: true }).ids;
  const stops = STOP_TOKENS.map((t) => tok.requireId(t));
  const res = generate(model, [prompt], { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, seed: o.seed, stopTokens: stops });
  const ids = res.tokens[0];
  const text = tok.decode(ids.filter((t) => !stops.includes(t)));
  return { ...parseChatOutput(text), text, ids, finishReason: res.finishReason[0] };
}
