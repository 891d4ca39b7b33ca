/** A randomly initialised causal LM of a preset whose special ids come from a tokenizer. */
import { EOS_TOKEN, STOP_TOKENS } from '../../tokenizer/special-tokens.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { loadPreset } from './config.js';
import { GlmForCausalLM } from './model.js';

/** pad = <|endoftext|>, eos = the chat stop tokens, no BOS (as GLM-4's checkpoints). */
export function initModelForTokenizer(preset: string, tok: Tokenizer, seed: number): GlmForCausalLM {
  const cfg = loadPreset(preset);
  const eos = tok.requireId(EOS_TOKEN);
  return new GlmForCausalLM({ ...cfg, padTokenId: eos, eosTokenId: STOP_TOKENS.map((t) => tok.requireId(t)), bosTokenId: null }, { seed });
}
