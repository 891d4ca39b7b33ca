/** Shared fixtures of the GLM-4.1V parity tests: a tiny HF config and fully random weights. */
import { Rng } from '../src/util/rng.js';
import { noGrad } from '../src/tensor/autograd.js';
import type { Glm4vForConditionalGeneration } from '../src/models/glm4v/model.js';
import type { Weights } from './reference/glm4v-reference.js';

/** A tiny config in HF's nested layout: 12x12 position table, patch 4 (rows of 3*2*4*4 = 96), merge 2. */
export function tinyHfConfig(): Record<string, unknown> {
  return {
    architectures: ['Glm4vForConditionalGeneration'],
    model_type: 'glm4v',
    image_start_token_id: 90, image_end_token_id: 91, video_start_token_id: 92, video_end_token_id: 93, image_token_id: 94, video_token_id: 95,
    tie_word_embeddings: false,
    text_config: {
      model_type: 'glm4v_text', vocab_size: 97, hidden_size: 64, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 4,
      num_key_value_heads: 2, partial_rotary_factor: 0.5, rope_theta: 10000, rms_norm_eps: 1e-5, max_position_embeddings: 256,
      rope_scaling: { type: 'default', mrope_section: [1, 2, 1] },
    },
    vision_config: {
      depth: 2, hidden_size: 24, num_heads: 2, image_size: 48, patch_size: 4, temporal_patch_size: 2, spatial_merge_size: 2,
      out_hidden_size: 64, intermediate_size: 36, rms_norm_eps: 1e-5, attention_bias: true, hidden_act: 'silu',
    },
  };
}

/** Random values everywhere (weights ~ N(0, 0.2), norm weights ~ 1 + N(0, 0.2)), seeded. */
export function randomizeAll(model: Glm4vForConditionalGeneration, seed: number): Weights {
  const rng = new Rng(seed);
  const weights: Weights = new Map();
  noGrad(() => {
    for (const [name, t] of model.stateDict()) {
      const norm = /norm|layernorm/.test(name) && name.endsWith('.weight');
      for (let i = 0; i < t.size; i++) t.data[i] = (norm ? 1 : 0) + 0.2 * rng.normal();
      weights.set(name, { shape: [...t.shape], data: t.data });
    }
  });
  return weights;
}

