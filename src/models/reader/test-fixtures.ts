/** A micro reader for unit tests: a 2-layer GLM and a BPE tokenizer trained on the given texts. */
import { configFromHf } from '../glm/config.js';
import { GlmForCausalLM } from '../glm/model.js';
import { trainBpeFromTexts } from '../../tokenizer/bpe-train.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { Reader } from './reader.js';

export function microReader(texts: readonly string[], seed = 3, hidden = 32): Reader {
  const tok = trainBpeFromTexts(texts, { vocabSize: 400 });
  const lm = new GlmForCausalLM(configFromHf({
    model_type: 'glm4', vocab_size: tok.vocabSize, hidden_size: hidden, intermediate_size: 2 * hidden, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: hidden / 4, partial_rotary_factor: 0.5, max_position_embeddings: 512,
    attention_bias: true, tie_word_embeddings: false, initializer_range: 0.05, eos_token_id: tok.requireId(EOS_TOKEN), pad_token_id: tok.requireId(EOS_TOKEN),
  }, 'micro'), { seed });
  return new Reader(lm, tok, undefined, seed);
}
