/** One chat turn on a local model (generate --prompt and chat): the shared rollout engine on one prompt. */
import { rollout } from '../generation/rollout.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { ChatMessage, ParsedOutput, Tokenizer } from '../tokenizer/index.js';

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
  const [r] = rollout(model, tok, [messages], { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, seed: o.seed, thinking: o.thinking });
  return { ...r.parsed, text: r.text, ids: r.completionIds, finishReason: r.finishReason };
}
