/** A micro encoder for unit tests: a 2-layer GLM and a BPE tokenizer trained on a few sentences. */
import { configFromHf } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { EOS_TOKEN } from '../tokenizer/special-tokens.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { SentenceEncoder, type EncoderConfig } from './encoder.js';

export const MICRO_TEXTS = ['the red fox runs fast', 'a small cat sleeps', 'the big dog eats bread', 'birds sing in the morning'];

/** A micro GLM and a tokenizer trained on TEXTS. */
export function microEncoder(cfg: Partial<EncoderConfig> = {}, seed = 3): SentenceEncoder {
  const tok: Tokenizer = trainBpeFromTexts(MICRO_TEXTS, { vocabSize: 300 });
  const lm = new GlmForCausalLM(configFromHf({
    model_type: 'glm4', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2,
    num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, partial_rotary_factor: 0.5, max_position_embeddings: 128,
    attention_bias: true, tie_word_embeddings: false, initializer_range: 0.1, eos_token_id: tok.requireId(EOS_TOKEN), pad_token_id: tok.requireId(EOS_TOKEN),
  }, 'micro'), { seed });
  return new SentenceEncoder(lm, tok, { pooling: 'mean', normalize: false, bidirectional: false, maxSeqLength: 64, ...cfg }, tok.requireId(EOS_TOKEN));
}

