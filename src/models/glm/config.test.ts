import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../errors.js';
import { configFromHf, configToHf, loadPreset, numParameters, presetNames, rotaryDim, validateConfig } from './config.js';
import type { GlmConfig } from './config.js';

/** zai-org/GLM-4.5-Air config.json (as released). */
const GLM45_AIR = {
  architectures: ['Glm4MoeForCausalLM'],
  attention_bias: true,
  attention_dropout: 0.0,
  pad_token_id: 151329,
  eos_token_id: [151329, 151336, 151338],
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 4096,
  partial_rotary_factor: 0.5,
  initializer_range: 0.02,
  intermediate_size: 10944,
  max_position_embeddings: 131072,
  model_type: 'glm4_moe',
  moe_intermediate_size: 1408,
  norm_topk_prob: true,
  num_attention_heads: 96,
  n_group: 1,
  topk_group: 1,
  n_routed_experts: 128,
  n_shared_experts: 1,
  routed_scaling_factor: 1.0,
  num_experts_per_tok: 8,
  first_k_dense_replace: 1,
  num_hidden_layers: 46,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 1000000,
  num_nextn_predict_layers: 1,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.54.0',
  use_cache: true,
  use_qk_norm: false,
  vocab_size: 151552,
};

/** THUDM/GLM-4-9B-0414 config.json, plus an unknown key. */
const GLM4_9B = {
  architectures: ['Glm4ForCausalLM'],
  attention_bias: true,
  attention_dropout: 0.0,
  eos_token_id: [151329, 151336, 151338],
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 13696,
  max_position_embeddings: 32768,
  model_type: 'glm4',
  num_attention_heads: 32,
  num_hidden_layers: 40,
  num_key_value_heads: 2,
  pad_token_id: 151329,
  partial_rotary_factor: 0.5,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.51.3',
  use_cache: true,
  vocab_size: 151552,
  my_custom_key: { nested: [1, 2] },
};

test('GLM-4.5-Air config.json reads into camelCase fields and round-trips unchanged', () => {
  const cfg = configFromHf(GLM45_AIR, 'air/config.json');
  assert.equal(cfg.modelType, 'glm4_moe');
  assert.equal(cfg.hiddenSize, 4096);
  assert.equal(cfg.numAttentionHeads, 96);
  assert.equal(cfg.headDim, 128);
  assert.equal(cfg.nRoutedExperts, 128);
  assert.equal(cfg.numExpertsPerTok, 8);
  assert.equal(cfg.moeIntermediateSize, 1408);
  assert.equal(cfg.ropeTheta, 1e6);
  assert.equal(cfg.numNextnPredictLayers, 1);
  assert.equal(cfg.useQkNorm, false);
  assert.deepEqual(cfg.eosTokenId, [151329, 151336, 151338]);
  assert.equal(cfg.torchDtype, 'bfloat16');
  assert.equal(rotaryDim(cfg), 64);
  validateConfig(cfg);
  // unused keys are kept verbatim
  assert.deepEqual(cfg.extra, { attention_dropout: 0.0, rope_scaling: null, transformers_version: '4.54.0', use_cache: true });
  assert.deepEqual(configToHf(cfg), GLM45_AIR);
});

test('GLM-4 dense config round-trips, unknown keys preserved, no MoE keys written', () => {
  const cfg = configFromHf(GLM4_9B, 'glm4/config.json');
  assert.equal(cfg.modelType, 'glm4');
  assert.equal(cfg.intermediateSize, 13696);
  assert.equal(cfg.attentionBias, true);
  validateConfig(cfg);
  const back = configToHf(cfg);
  assert.deepEqual(back, GLM4_9B);
  assert.equal('n_routed_experts' in back, false);
  // JSON text round trip too
  assert.deepEqual(configToHf(configFromHf(JSON.parse(JSON.stringify(back)), 'x')), GLM4_9B);
});

test('missing keys take the transformers defaults of the model_type', () => {
  const dense = configFromHf({ model_type: 'glm4' }, 'd');
  assert.equal(dense.rmsNormEps, 1.5625e-7);
  assert.equal(dense.attentionBias, true);
  assert.equal(dense.numKeyValueHeads, 2);
  assert.equal(dense.padTokenId, 151329);
  assert.deepEqual(dense.architectures, ['Glm4ForCausalLM']);
  const moe = configFromHf({ model_type: 'glm4_moe', hidden_size: 1024, num_attention_heads: 8 }, 'm');
  assert.equal(moe.attentionBias, false);
  assert.equal(moe.rmsNormEps, 1e-5);
  assert.equal(moe.headDim, 128, 'head_dim defaults to hidden_size // num_attention_heads');
  assert.equal(moe.routedScalingFactor, 1.0);
  assert.equal(moe.nSharedExperts, 1);
  assert.equal(moe.numNextnPredictLayers, 0);
});

test('transformers 5.x keys: rope_parameters and dtype', () => {
  const json = { model_type: 'glm4_moe', rope_parameters: { rope_theta: 1000000, rope_type: 'default', partial_rotary_factor: 0.5 }, dtype: 'bfloat16' };
  const cfg = configFromHf(json, 'v5');
  assert.equal(cfg.ropeTheta, 1e6);
  assert.equal(cfg.torchDtype, 'bfloat16');
  cfg.ropeTheta = 5e5;
  const out = configToHf(cfg);
  assert.deepEqual(out.rope_parameters, { rope_theta: 5e5, rope_type: 'default', partial_rotary_factor: 0.5 });
  assert.equal(out.rope_theta, 5e5);
  assert.equal(out.dtype, 'bfloat16');
});

function expectConfigError(fn: () => void, key: string, found: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.match(e.message, new RegExp(`"${key}"`));
    assert.match(e.message, /expected/);
    assert.ok(e.message.includes(`found ${found}`), e.message);
    return true;
  });
}

test('type errors name the file, key, expected and found', () => {
  expectConfigError(() => configFromHf({ model_type: 'glm4', hidden_size: '128' }, 'cfg.json'), 'hidden_size', '"128"');
  expectConfigError(() => configFromHf({ model_type: 'glm4', attention_bias: 1 }, 'cfg.json'), 'attention_bias', '1');
  expectConfigError(() => configFromHf({ model_type: 'llama' }, 'cfg.json'), 'model_type', '"llama"');
  expectConfigError(() => configFromHf({ model_type: 'glm4', eos_token_id: [1, -2] }, 'cfg.json'), 'eos_token_id', '[1,-2]');
  expectConfigError(() => configFromHf({ model_type: 'glm4', rope_scaling: { type: 'longrope', factor: 4 } }, 'cfg.json'), 'rope_scaling', '"longrope"');
  expectConfigError(() => configFromHf({ model_type: 'glm4', rope_scaling: { rope_type: 'linear' } }, 'cfg.json'), 'rope_scaling', 'undefined');
  expectConfigError(() => configFromHf({ model_type: 'glm4', rope_scaling: { rope_type: 'linear', factor: 0.5 } }, 'cfg.json'), 'rope_scaling', '0.5');
  assert.throws(() => configFromHf({ model_type: 'glm4', hidden_size: -1 }, 'some/dir/config.json'), /some\/dir\/config\.json/);
});

test('validation errors name the inconsistent key', () => {
  const base = () => loadPreset('tiny-moe');
  const bad = (mut: (c: GlmConfig) => void) => {
    const c = base();
    mut(c);
    return () => validateConfig(c, 'tiny-moe');
  };
  expectConfigError(bad((c) => (c.numKeyValueHeads = 3)), 'num_key_value_heads', '3');
  expectConfigError(bad((c) => (c.numExpertsPerTok = 9)), 'num_experts_per_tok', '9');
  expectConfigError(bad((c) => (c.headDim = 6)), 'partial_rotary_factor', '3'); // rotary dim 3 is odd
  expectConfigError(bad((c) => (c.topkGroup = 3)), 'topk_group', '3');
  expectConfigError(bad((c) => (c.nGroup = 3)), 'n_routed_experts', '8'); // 8 experts not divisible by 3 groups
  expectConfigError(bad((c) => (c.numExpertsPerTok = 5)), 'num_experts_per_tok', '5'); // only 4 experts in the kept group
  expectConfigError(bad((c) => (c.firstKDenseReplace = 9)), 'first_k_dense_replace', '9');
  expectConfigError(bad((c) => (c.eosTokenId = 5000)), 'eos_token_id', '5000');
  expectConfigError(bad((c) => (c.hiddenAct = 'gelu')), 'hidden_act', '"gelu"');
  const dense = loadPreset('tiny');
  dense.numNextnPredictLayers = 1;
  expectConfigError(() => validateConfig(dense), 'num_nextn_predict_layers', '1');
});

test('presets load, validate and have the documented shapes', () => {
  assert.deepEqual(presetNames(), ['bench', 'micro', 'small', 'tiny', 'tiny-moe']);
  const tiny = loadPreset('tiny');
  assert.equal(tiny.modelType, 'glm4');
  assert.deepEqual([tiny.vocabSize, tiny.hiddenSize, tiny.numHiddenLayers, tiny.numAttentionHeads, tiny.numKeyValueHeads, tiny.headDim], [1024, 128, 4, 4, 2, 32]);
  // micro (the smaller size of experiment rlhf-model-size): tiny's vocabulary and depth, half its width
  const micro = loadPreset('micro');
  assert.deepEqual([micro.vocabSize, micro.hiddenSize, micro.numHiddenLayers, micro.numAttentionHeads, micro.numKeyValueHeads, micro.headDim, micro.intermediateSize], [1024, 64, 4, 2, 1, 32, 176]);
  const decoder = (c: typeof tiny) => numParameters(c) - 2 * c.vocabSize * c.hiddenSize - c.hiddenSize;
  assert.ok(Math.abs(decoder(tiny) / decoder(micro) - 4) < 0.1, `tiny's decoder layers are ~4x micro's: ${decoder(tiny)} vs ${decoder(micro)}`);
  const bench = loadPreset('bench');
  assert.deepEqual([bench.vocabSize, bench.hiddenSize, bench.numHiddenLayers, bench.headDim, bench.intermediateSize], [4096, 256, 4, 64, 704]);
  assert.equal(bench.attentionBias, true);
  assert.equal(bench.tieWordEmbeddings, false);
  assert.equal(rotaryDim(bench), 32);
  const moe = loadPreset('tiny-moe');
  assert.equal(moe.modelType, 'glm4_moe');
  assert.deepEqual([moe.firstKDenseReplace, moe.nRoutedExperts, moe.numExpertsPerTok, moe.nSharedExperts, moe.nGroup, moe.topkGroup, moe.numNextnPredictLayers], [1, 8, 2, 1, 2, 1, 1]);
  assert.equal(moe.useQkNorm, true);
  assert.throws(() => loadPreset('nope'), (e: unknown) => e instanceof ConfigError && /tiny-moe/.test(e.message));
});

test('numParameters matches a hand count', () => {
  const tiny = loadPreset('tiny');
  // per layer: 4 norms, q/k/v (+bias), o, gate_up, down
  const H = 128, V = 1024, I = 352, q = 128, kv = 64;
  const layer = 4 * H + (q * H + q) + 2 * (kv * H + kv) + H * q + 2 * I * H + H * I;
  assert.equal(numParameters(tiny), 2 * V * H + H + 4 * layer);
  const moe = loadPreset('tiny-moe');
  const Im = 96, E = 8, hd = 32;
  const attn = (q * H + q) + 2 * (kv * H + kv) + H * q + 2 * hd + 2 * H;
  const denseLayer = attn + 3 * I * H;
  const moeLayer = attn + E * H + E + E * 3 * Im * H + 3 * Im * H;
  const mtpExtra = H * 2 * H + 3 * H + V * H;
  const total = 2 * V * H + H + denseLayer + 3 * moeLayer + (moeLayer + mtpExtra);
  assert.equal(numParameters(moe), total);
  assert.equal(numParameters(moe, { mtp: false }), total - moeLayer - mtpExtra);
  tiny.tieWordEmbeddings = true;
  assert.equal(numParameters(tiny), V * H + H + 4 * layer);
});
