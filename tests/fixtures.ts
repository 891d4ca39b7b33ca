/**
 * Small training fixtures built by the project itself: world data, a BPE tokenizer trained on it and
 * a micro GLM model folder (config.json + model.safetensors + tokenizer files).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, writeJsonl } from '../src/data/world/index.js';
import { configFromHf } from '../src/models/glm/config.js';
import { saveModel } from '../src/models/glm/checkpoint.js';
import { GlmForCausalLM } from '../src/models/glm/model.js';
import { trainBpeFromTexts } from '../src/tokenizer/bpe-train.js';
import { saveTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { EOS_TOKEN } from '../src/tokenizer/special-tokens.js';

export interface Fixture {
  dir: string;
  model: string;
  pretrainData: string;
  sftData: string;
}

/** Writes data and a micro dense (or MoE) model folder under `dir`. */
export async function makeFixture(dir: string, opts: { moe?: boolean; docs?: number; chats?: number } = {}): Promise<Fixture> {
  mkdirSync(dir, { recursive: true });
  const pretrainData = join(dir, 'pretrain.jsonl'), sftData = join(dir, 'sft.jsonl');
  const docs = generateWorldTask('pretrain', { n: opts.docs ?? 120, seed: 1 }) as { text: string }[];
  await writeJsonl(pretrainData, docs);
  await writeJsonl(sftData, generateWorldTask('sft', { n: opts.chats ?? 40, seed: 2 }));
  const tok = trainBpeFromTexts(docs.map((d) => d.text), { vocabSize: 320 });
  const cfg = configFromHf(
    {
      model_type: opts.moe ? 'glm4_moe' : 'glm4',
      vocab_size: tok.vocabSize, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, partial_rotary_factor: 0.5,
      max_position_embeddings: 512, attention_bias: true, tie_word_embeddings: false, initializer_range: 0.05,
      pad_token_id: tok.requireId(EOS_TOKEN), eos_token_id: tok.requireId(EOS_TOKEN), bos_token_id: null,
      ...(opts.moe ? { moe_intermediate_size: 16, n_routed_experts: 4, n_shared_experts: 1, num_experts_per_tok: 2, first_k_dense_replace: 1, n_group: 1, topk_group: 1, norm_topk_prob: true, routed_scaling_factor: 1, use_qk_norm: true, num_nextn_predict_layers: 1 } : {}),
    },
    'fixture',
  );
  const model = join(dir, 'model');
  saveModel(model, new GlmForCausalLM(cfg, { seed: 3 }));
  saveTokenizer(tok, model);
  return { dir, model, pretrainData, sftData };
}
