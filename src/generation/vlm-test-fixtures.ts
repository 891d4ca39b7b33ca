// A small random GLM-4.1V model, images and prompts for the generation tests (not a test file).
import { Rng } from '../util/rng.js';
import { noGrad } from '../tensor/autograd.js';
import { glm4vConfigFromHf, type Glm4vConfig } from '../models/glm4v/config.js';
import { Glm4vForConditionalGeneration } from '../models/glm4v/model.js';
import type { ProcessedImage } from '../data/image-chat.js';
import type { ImagePrompt } from './vlm-generate.js';

export function config(): Glm4vConfig {
  return glm4vConfigFromHf(
    {
      model_type: 'glm4v',
      image_start_token_id: 34, image_end_token_id: 35, video_start_token_id: 36, video_end_token_id: 37, image_token_id: 38, video_token_id: 39,
      text_config: {
        vocab_size: 40, hidden_size: 32, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1,
        partial_rotary_factor: 0.5, max_position_embeddings: 128, rope_scaling: { type: 'default', mrope_section: [2, 1, 1] },
      },
      vision_config: { depth: 1, hidden_size: 8, num_heads: 2, image_size: 16, patch_size: 4, out_hidden_size: 32, intermediate_size: 10 },
    },
    'test',
  );
}

export function model(seed: number): Glm4vForConditionalGeneration {
  const m = new Glm4vForConditionalGeneration(config(), { seed });
  const rng = new Rng(seed);
  noGrad(() => {
    for (const [name, t] of m.stateDict()) {
      const norm = /norm|layernorm/.test(name) && name.endsWith('.weight');
      for (let i = 0; i < t.size; i++) t.data[i] = (norm ? 1 : 0) + 0.5 * rng.normal();
    }
  });
  return m;
}

export const ROW = 3 * 2 * 4 * 4;
/** sampling stops below the marker ids (34..39), as a tokenizer's vocabulary limit does */
export const LIMIT = 34;

export function image(grid: [number, number, number], seed: number): ProcessedImage {
  const rng = new Rng(seed);
  const px = new Float32Array(grid[0] * grid[1] * grid[2] * ROW);
  for (let i = 0; i < px.length; i++) px[i] = rng.normal();
  return { pixelValues: px, gridThw: grid };
}

export function imagePrompt(cfg: Glm4vConfig, before: number[], tokens: number, after: number[]): number[] {
  return [...before, cfg.imageStartTokenId, ...Array(tokens).fill(cfg.imageTokenId), cfg.imageEndTokenId, ...after];
}

export function prompts(cfg: Glm4vConfig): ImagePrompt[] {
  return [
    // grid 2x4 -> 2 image tokens, long text
    { ids: imagePrompt(cfg, [1, 2, 3, 4, 5, 6], 2, [7, 8, 9]), images: [image([1, 2, 4], 11)] },
    // grid 4x4 -> 4 image tokens, shorter overall: left padding
    { ids: imagePrompt(cfg, [5], 4, [6]), images: [image([1, 4, 4], 12)] },
    // text only
    { ids: [9, 10, 11] },
  ];
}
