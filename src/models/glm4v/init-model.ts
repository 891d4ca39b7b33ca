/** A randomly initialised GLM-4.1V model of a vision-language preset whose special ids come from a tokenizer. */
import { ConfigError } from '../../errors.js';
import { EOS_TOKEN, STOP_TOKENS } from '../../tokenizer/special-tokens.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { loadVlPreset, type Glm4vConfig } from './config.js';
import { Glm4vForConditionalGeneration } from './model.js';

/** The tokenizer strings of GLM-4.1V's image and video markers. */
export const GLM4V_MARKERS = {
  imageStartTokenId: '<|begin_of_image|>',
  imageTokenId: '<|image|>',
  imageEndTokenId: '<|end_of_image|>',
  videoStartTokenId: '<|begin_of_video|>',
  videoTokenId: '<|video|>',
  videoEndTokenId: '<|end_of_video|>',
} as const;

/**
 * The config of a preset with pad/eos and the marker ids taken from a tokenizer: the image markers
 * must be in it; video markers it lacks get ids past the tokenizer's vocabulary (never produced by
 * it, so no prompt can open a video span), which the model's vocabulary must still hold.
 */
export function glm4vConfigForTokenizer(cfg: Glm4vConfig, tok: Tokenizer): Glm4vConfig {
  const out: Glm4vConfig = { ...cfg, text: { ...cfg.text, padTokenId: tok.requireId(EOS_TOKEN), eosTokenId: STOP_TOKENS.map((t) => tok.requireId(t)), bosTokenId: null } };
  let spare = tok.vocabSize;
  for (const [field, token] of Object.entries(GLM4V_MARKERS) as [keyof typeof GLM4V_MARKERS, string][]) {
    let id = tok.tokenToId(token);
    if (id === undefined) {
      if (field.startsWith('image')) id = tok.requireId(token);
      else id = spare++;
    }
    if (id >= cfg.text.vocabSize) {
      throw new ConfigError(`${token}: id ${id} is outside the model's vocab_size ${cfg.text.vocabSize}; use a tokenizer with fewer than ${cfg.text.vocabSize - 2} ids or a preset with a larger vocabulary`);
    }
    out[field] = id;
  }
  return out;
}

export function initGlm4vForTokenizer(preset: string, tok: Tokenizer, seed: number): Glm4vForConditionalGeneration {
  return new Glm4vForConditionalGeneration(glm4vConfigForTokenizer(loadVlPreset(preset), tok), { seed });
}
