// GLM-4.1V HF folders: save/load round trips (F32 single file; BF16 shards), HF tensor names and
// shapes, and one clear error for a wrong-shape or truncated vision tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../util/rng.js';
import { tempDir } from '../../util/temp-dir.js';
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import { CheckpointError } from '../../errors.js';
import { openSafetensors } from '../../io/safetensors.js';
import { glm4vConfigFromHf, loadVlPreset, vlPresetNames } from './config.js';
import { expectedGlm4vTensors, loadGlm4vModel, saveGlm4vModel } from './checkpoint.js';
import { Glm4vForConditionalGeneration } from './model.js';
import { readImageProcessorConfig } from './preprocess-config.js';

function tiny(): Glm4vForConditionalGeneration {
  const cfg = glm4vConfigFromHf(
    {
      model_type: 'glm4v',
      image_start_token_id: 14, image_end_token_id: 15, video_start_token_id: 16, video_end_token_id: 17, image_token_id: 18, video_token_id: 19,
      text_config: { vocab_size: 20, hidden_size: 16, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, rope_scaling: { type: 'default', mrope_section: [0, 1, 1] } },
      vision_config: { depth: 2, hidden_size: 8, num_heads: 2, image_size: 16, patch_size: 4, out_hidden_size: 16, intermediate_size: 10 },
    },
    'tiny',
  );
  const m = new Glm4vForConditionalGeneration(cfg, { seed: 1 });
  const rng = new Rng(2);
  noGrad(() => {
    for (const t of m.parameters()) for (let i = 0; i < t.size; i++) t.data[i] += 0.1 * rng.normal();
  });
  return m;
}

function logits(m: Glm4vForConditionalGeneration): Float32Array {
  const c = m.config;
  const ids = [1, c.imageStartTokenId, c.imageTokenId, c.imageTokenId, c.imageEndTokenId, 2];
  return noGrad(() => m.forward({ inputIds: Tensor.ids(ids, [1, 6]), pixelValues: Tensor.randn([8, 96], new Rng(3)), imageGridThw: [[1, 2, 4]] }).logits.data as Float32Array);
}

test('state dict names and shapes are exactly the HF tensor list (vision, language_model, lm_head)', () => {
  const m = tiny();
  const own = new Map([...m.stateDict()].map(([k, t]) => [k, [...t.shape]]));
  const expected = expectedGlm4vTensors(m.config);
  assert.equal(own.size, expected.length);
  for (const t of expected) assert.deepEqual(own.get(t.name), t.shape, t.name);
  assert.deepEqual(own.get('model.visual.patch_embed.proj.weight'), [8, 3, 2, 4, 4]);
  assert.deepEqual(own.get('model.visual.downsample.weight'), [16, 8, 2, 2]);
  assert.deepEqual(own.get('model.language_model.layers.1.mlp.gate_up_proj.weight'), [24, 16]);
  assert.ok(own.has('model.language_model.layers.0.self_attn.q_proj.bias'));
});

test('save and load: F32 single file is exact; BF16 shards load and give close logits; config.json is glm4v with nested sub-configs', () => {
  {
    const dir = tempDir('glm4v-ckpt-');
    const m = tiny();
    const want = logits(m);
    const a = join(dir, 'a');
    saveGlm4vModel(a, m);
    const hf = JSON.parse(readFileSync(join(a, 'config.json'), 'utf8'));
    assert.equal(hf.model_type, 'glm4v');
    assert.deepEqual(hf.architectures, ['Glm4vForConditionalGeneration']);
    assert.deepEqual(hf.text_config.rope_scaling, { type: 'default', mrope_section: [0, 1, 1] });
    assert.equal(hf.vision_config.out_hidden_size, 16);
    assert.equal(hf.image_token_id, 18);
    const pre = readImageProcessorConfig(a); // HF's pixel limits, the model's patch and merge sizes
    assert.deepEqual([pre.patchSize, pre.mergeSize, pre.minPixels, pre.maxPixels], [4, 2, 12544, 9633792]);
    assert.deepEqual(logits(loadGlm4vModel(a)), want);

    const b = join(dir, 'b');
    saveGlm4vModel(b, m, { dtype: 'BF16', maxShardBytes: 4000 });
    assert.ok(readdirSync(b).includes('model.safetensors.index.json'));
    assert.ok(readdirSync(b).filter((f) => f.endsWith('.safetensors')).length > 2);
    const got = logits(loadGlm4vModel(b, { dtype: 'bf16' }));
    let d = 0;
    for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
    assert.ok(d < 0.05 && d > 0, `bf16 logits differ by ${d}`);
  }
});

test('a wrong-shape vision tensor and a truncated file each give one error naming the tensor', () => {
  {
    const dir = tempDir('glm4v-bad-');
    const m = tiny();
    saveGlm4vModel(dir, m);
    const cfgPath = join(dir, 'config.json');
    const hf = JSON.parse(readFileSync(cfgPath, 'utf8'));
    hf.vision_config.intermediate_size = 12;
    writeFileSync(cfgPath, JSON.stringify(hf));
    assert.throws(
      () => loadGlm4vModel(dir),
      (e: unknown) => e instanceof CheckpointError && /tensor "model\.visual\.merger\.gate_proj\.weight": expected shape \[12, 16\], found \[10, 16\]/.test((e as Error).message),
    );
    hf.vision_config.intermediate_size = 10;
    writeFileSync(cfgPath, JSON.stringify(hf));
    const file = join(dir, 'model.safetensors');
    const f = openSafetensors(file);
    const last = [...f.tensors.values()].sort((x, y) => y.byteOffset - x.byteOffset)[0].name;
    f.close();
    truncateSync(file, statSync(file).size - 10);
    assert.throws(
      () => loadGlm4vModel(dir),
      (e: unknown) => e instanceof CheckpointError && (e as Error).message.includes(`"${last}"`),
    );
  }
});

test('presets tiny-vl and small-vl load, validate and carry their preprocessor settings', () => {
  assert.ok(vlPresetNames().includes('tiny-vl') && vlPresetNames().includes('small-vl'));
  const t = loadVlPreset('tiny-vl');
  assert.equal(t.vision.outHiddenSize, t.text.hiddenSize);
  assert.deepEqual(t.mropeSection, [2, 3, 3]);
  assert.throws(() => loadVlPreset('tiny'), /unknown vision-language preset "tiny"/);
});

test('the released GLM-4.1V-9B config.json (flat layout) gives HF\'s 704 tensors and 10,292,777,472 parameters', () => {
  const released = {
    architectures: ['Glm4vForConditionalGeneration'], model_type: 'glm4v', attention_bias: true, attention_dropout: 0.0, pad_token_id: 151329,
    eos_token_id: [151329, 151336, 151338, 151348], image_start_token_id: 151339, image_end_token_id: 151340, video_start_token_id: 151341,
    video_end_token_id: 151342, image_token_id: 151343, video_token_id: 151344, hidden_act: 'silu', hidden_size: 4096, initializer_range: 0.02,
    intermediate_size: 13696, max_position_embeddings: 65536, num_attention_heads: 32, num_hidden_layers: 40, num_key_value_heads: 2,
    rms_norm_eps: 1e-5, rope_theta: 10000.0, tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.53.0dev', use_cache: true,
    vocab_size: 151552, partial_rotary_factor: 0.5,
    vision_config: {
      hidden_size: 1536, depth: 24, num_heads: 12, attention_bias: false, intermediate_size: 13696, hidden_act: 'silu', hidden_dropout_prob: 0.0,
      initializer_range: 0.02, image_size: 336, patch_size: 14, out_hidden_size: 4096, rms_norm_eps: 1e-5, spatial_merge_size: 2, temporal_patch_size: 2,
    },
    rope_scaling: { type: 'default', mrope_section: [8, 12, 12] },
  };
  const cfg = glm4vConfigFromHf(released, 'released');
  const tensors = expectedGlm4vTensors(cfg);
  assert.equal(tensors.length, 704);
  assert.equal(tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0), 10_292_777_472);
  const byName = new Map(tensors.map((t) => [t.name, t.shape]));
  assert.deepEqual(byName.get('model.visual.embeddings.position_embedding.weight'), [576, 1536]);
  assert.deepEqual(byName.get('model.language_model.layers.39.self_attn.k_proj.bias'), [256]);
  assert.equal(cfg.text.headDim, 128);
  assert.deepEqual(cfg.text.eosTokenId, [151329, 151336, 151338, 151348]);
  assert.equal(cfg.text.torchDtype, 'bfloat16');
});
