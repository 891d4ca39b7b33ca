import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../../errors.js';
import { ggufGet, openGguf } from '../../io/gguf.js';
import { configToHf, loadPreset } from './config.js';
import { bf16BitsToF32, f32ToBf16Bits, writeShardedSafetensors } from '../../io/safetensors.js';
import { writeFileSync } from 'node:fs';
import type { GlmConfig } from './config.js';
import { TokenType, exportGlmGguf, exportGlmGgufFromFolder, glmGgufTensorPlan } from './gguf-export.js';
import type { GgufTokenizer } from './gguf-export.js';
import { checkTensors, expectedTensors, hfToModulePath, modulePathToHf } from './names.js';

function planMap(cfg: GlmConfig, fileType: 'f32' | 'f16' | 'bf16' = 'f32') {
  return new Map(glmGgufTensorPlan(cfg, { fileType }).map((p) => [p.name, p]));
}

test('tiny dense (glm4): GGUF names and shapes per docs/methods.md §1.3', () => {
  const cfg = loadPreset('tiny');
  const plan = planMap(cfg);
  const expectShape = (name: string, shape: number[]) => assert.deepEqual(plan.get(name)?.shape, shape, name);
  expectShape('token_embd.weight', [1024, 128]);
  expectShape('output_norm.weight', [128]);
  expectShape('output.weight', [1024, 128]);
  for (let i = 0; i < 4; i++) {
    expectShape(`blk.${i}.attn_norm.weight`, [128]);
    expectShape(`blk.${i}.attn_q.weight`, [128, 128]);
    expectShape(`blk.${i}.attn_q.bias`, [128]);
    expectShape(`blk.${i}.attn_k.weight`, [64, 128]);
    expectShape(`blk.${i}.attn_k.bias`, [64]);
    expectShape(`blk.${i}.attn_v.weight`, [64, 128]);
    expectShape(`blk.${i}.attn_v.bias`, [64]);
    expectShape(`blk.${i}.attn_output.weight`, [128, 128]);
    expectShape(`blk.${i}.post_attention_norm.weight`, [128]);
    expectShape(`blk.${i}.ffn_norm.weight`, [128]);
    expectShape(`blk.${i}.ffn_up.weight`, [704, 128]); // fused gate_up
    expectShape(`blk.${i}.ffn_down.weight`, [128, 352]);
    expectShape(`blk.${i}.post_ffw_norm.weight`, [128]);
  }
  assert.equal(plan.size, 3 + 4 * 13);
  assert.deepEqual(plan.get('blk.2.post_ffw_norm.weight')!.sources, ['model.layers.2.post_mlp_layernorm.weight']);
  assert.deepEqual(plan.get('blk.2.post_attention_norm.weight')!.sources, ['model.layers.2.post_self_attn_layernorm.weight']);
  assert.deepEqual(plan.get('blk.2.ffn_norm.weight')!.sources, ['model.layers.2.post_attention_layernorm.weight']);
  const f16 = planMap(cfg, 'f16');
  assert.equal(f16.get('blk.0.attn_q.weight')!.type, 'F16');
  assert.equal(f16.get('blk.0.attn_q.bias')!.type, 'F32');
  assert.equal(f16.get('output_norm.weight')!.type, 'F32');
  const bf16 = planMap(cfg, 'bf16');
  assert.equal(bf16.get('blk.0.attn_q.weight')!.type, 'BF16');
  assert.equal(bf16.get('blk.0.attn_q.bias')!.type, 'F32');
  assert.equal(bf16.get('output_norm.weight')!.type, 'F32');
  assert.equal(f16.get('token_embd.weight')!.type, 'F16');
});

test('tiny MoE (glm4moe): dense lead layer, stacked experts, router bias, QK-norm, MTP block', () => {
  const cfg = loadPreset('tiny-moe');
  const plan = planMap(cfg);
  const expectShape = (name: string, shape: number[]) => assert.deepEqual(plan.get(name)?.shape, shape, name);
  expectShape('blk.0.ffn_gate.weight', [352, 128]);
  expectShape('blk.0.ffn_up.weight', [352, 128]);
  expectShape('blk.0.ffn_down.weight', [128, 352]);
  assert.equal(plan.has('blk.0.ffn_gate_inp.weight'), false);
  for (let i = 0; i < 5; i++) {
    expectShape(`blk.${i}.attn_q_norm.weight`, [32]);
    expectShape(`blk.${i}.attn_k_norm.weight`, [32]);
    expectShape(`blk.${i}.post_attention_norm.weight`, [128]);
    assert.equal(plan.has(`blk.${i}.ffn_norm.weight`), false);
  }
  for (let i = 1; i < 5; i++) {
    expectShape(`blk.${i}.ffn_gate_inp.weight`, [8, 128]);
    expectShape(`blk.${i}.exp_probs_b.bias`, [8]);
    expectShape(`blk.${i}.ffn_gate_exps.weight`, [8, 96, 128]);
    expectShape(`blk.${i}.ffn_up_exps.weight`, [8, 96, 128]);
    expectShape(`blk.${i}.ffn_down_exps.weight`, [8, 128, 96]);
    expectShape(`blk.${i}.ffn_gate_shexp.weight`, [96, 128]);
    expectShape(`blk.${i}.ffn_up_shexp.weight`, [96, 128]);
    expectShape(`blk.${i}.ffn_down_shexp.weight`, [128, 96]);
  }
  // the MTP block is blk.4 (= num_hidden_layers)
  expectShape('blk.4.nextn.eh_proj.weight', [128, 256]);
  expectShape('blk.4.nextn.enorm.weight', [128]);
  expectShape('blk.4.nextn.hnorm.weight', [128]);
  expectShape('blk.4.nextn.shared_head_norm.weight', [128]);
  expectShape('blk.4.nextn.shared_head_head.weight', [1024, 128]);
  assert.equal(plan.has('blk.3.nextn.eh_proj.weight'), false);
  assert.deepEqual(plan.get('blk.1.ffn_up_exps.weight')!.sources, Array.from({ length: 8 }, (_, e) => `model.layers.1.mlp.experts.${e}.up_proj.weight`));
  // 3 globals; per block: attn_norm, q/k/v + biases, output, q/k norms, post_attention_norm = 11;
  // dense ffn 3; moe 2 + 3 + 3; MTP 5
  assert.equal(plan.size, 3 + 5 * 11 + 3 + 4 * 8 + 5);
  assert.equal(planMap(cfg, 'f16').get('blk.1.ffn_gate_inp.weight')!.type, 'F32', 'router stays f32');
  assert.equal(planMap(cfg, 'f16').get('blk.1.ffn_gate_exps.weight')!.type, 'F16');
  assert.equal(glmGgufTensorPlan(cfg, { mtp: false }).some((p) => p.name.startsWith('blk.4.')), false);
});

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomWeights(cfg: GlmConfig): Map<string, { shape: number[]; data: Float32Array }> {
  const rnd = lcg(42);
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of expectedTensors(cfg)) {
    if (t.optional) continue;
    const data = new Float32Array(t.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rnd();
    m.set(t.name, { shape: t.shape, data });
  }
  return m;
}

function toyTokenizer(n: number): GgufTokenizer {
  const specials = ['<|endoftext|>', '[gMASK]', '<sop>', '<|user|>', '<|assistant|>', '<|observation|>'];
  const tokens = [...Array.from({ length: n - specials.length }, (_, i) => `t${i}`), ...specials];
  const tokenTypes = tokens.map((t) => (specials.includes(t) ? TokenType.CONTROL : TokenType.NORMAL));
  return { tokens, tokenTypes, merges: ['t 0', ['t', '1']], chatTemplate: '[gMASK]<sop>{{ messages }}' };
}

test('export tiny MoE to GGUF and read it back: metadata, tokenizer, stacked experts, f16', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-ggufx-'));
  try {
    const cfg = loadPreset('tiny-moe');
    const w = randomWeights(cfg);
    const tok = toyTokenizer(1000); // fewer than vocab_size 1024: padded
    const file = join(dir, 'tiny-moe.gguf');
    exportGlmGguf(file, cfg, w, tok, { name: 'tiny' });
    const g = openGguf(file);
    const md = (k: string) => ggufGet(g, k);
    assert.equal(md('general.architecture'), 'glm4moe');
    assert.equal(md('general.name'), 'tiny');
    assert.equal(md('general.file_type'), 0);
    assert.equal(md('glm4moe.block_count'), 5);
    assert.equal(md('glm4moe.embedding_length'), 128);
    assert.equal(md('glm4moe.feed_forward_length'), 352);
    assert.equal(md('glm4moe.attention.head_count'), 4);
    assert.equal(md('glm4moe.attention.head_count_kv'), 2);
    assert.equal(md('glm4moe.attention.key_length'), 32);
    assert.equal(md('glm4moe.rope.dimension_count'), 16);
    assert.equal(md('glm4moe.rope.freq_base'), 10000);
    assert.equal(md('glm4moe.attention.layer_norm_rms_epsilon'), Math.fround(1e-5));
    assert.equal(md('glm4moe.expert_count'), 8);
    assert.equal(md('glm4moe.expert_used_count'), 2);
    assert.equal(md('glm4moe.expert_shared_count'), 1);
    assert.equal(md('glm4moe.leading_dense_block_count'), 1);
    assert.equal(md('glm4moe.expert_feed_forward_length'), 96);
    assert.equal(md('glm4moe.expert_weights_scale'), 2.5);
    assert.equal(md('glm4moe.expert_weights_norm'), true);
    assert.equal(md('glm4moe.expert_gating_func'), 2);
    assert.equal(md('glm4moe.nextn_predict_layers'), 1);
    assert.equal(md('glm4moe.expert_group_count'), 2);
    assert.equal(md('glm4moe.expert_group_used_count'), 1);
    assert.equal(md('tokenizer.ggml.model'), 'gpt2');
    assert.equal(md('tokenizer.ggml.pre'), 'glm4');
    const tokens = md('tokenizer.ggml.tokens') as string[];
    assert.equal(tokens.length, 1024);
    assert.equal(tokens[1023], '[PAD1023]');
    assert.equal((md('tokenizer.ggml.token_type') as number[])[1010], TokenType.UNUSED);
    assert.equal((md('tokenizer.ggml.token_type') as number[])[994], TokenType.CONTROL);
    assert.deepEqual(md('tokenizer.ggml.merges'), ['t 0', 't 1']);
    assert.equal(md('tokenizer.ggml.eos_token_id'), 994); // <|endoftext|>
    assert.equal(md('tokenizer.ggml.bos_token_id'), 995); // [gMASK]
    assert.equal(md('tokenizer.ggml.eot_token_id'), 997); // <|user|>
    assert.equal(md('tokenizer.ggml.eom_token_id'), 999); // <|observation|>
    assert.equal(md('tokenizer.chat_template'), '[gMASK]<sop>{{ messages }}');

    const byName = new Map(g.tensors.map((t) => [t.name, t]));
    const emb = byName.get('token_embd.weight')!;
    assert.deepEqual(emb.dims, [128, 1024], 'ggml order is the reverse of the HF shape');
    assert.deepEqual(emb.read(), w.get('model.embed_tokens.weight')!.data);
    const up = byName.get('blk.2.ffn_up_exps.weight')!;
    assert.deepEqual(up.dims, [128, 96, 8]);
    const upData = up.read();
    for (let e = 0; e < 8; e++) {
      assert.deepEqual(upData.subarray(e * 96 * 128, (e + 1) * 96 * 128), w.get(`model.layers.2.mlp.experts.${e}.up_proj.weight`)!.data, `expert ${e}`);
    }
    assert.deepEqual(byName.get('blk.3.exp_probs_b.bias')!.read(), w.get('model.layers.3.mlp.gate.e_score_correction_bias')!.data);
    assert.deepEqual(byName.get('blk.4.nextn.eh_proj.weight')!.dims, [256, 128]);
    assert.deepEqual(byName.get('blk.4.ffn_down_exps.weight')!.dims, [96, 128, 8]);
    for (const t of g.tensors) assert.equal(t.fileOffset % 32, 0, t.name);
    g.close();

    const file16 = join(dir, 'tiny-moe-f16.gguf');
    exportGlmGguf(file16, cfg, w, tok, { fileType: 'f16' });
    const h = openGguf(file16);
    assert.equal(ggufGet(h, 'general.file_type'), 1);
    const hq = h.tensors.find((t) => t.name === 'blk.1.attn_q.weight')!;
    assert.equal(hq.type, 1);
    const src = w.get('model.layers.1.self_attn.q_proj.weight')!.data;
    const got = hq.read();
    for (let i = 0; i < src.length; i++) assert.ok(Math.abs(got[i] - src[i]) <= 2 ** -12, `f16 value ${i}`);
    assert.equal(h.tensors.find((t) => t.name === 'blk.1.attn_norm.weight')!.type, 0);
    h.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export checks tensors first: missing tensor or wrong shape names it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-ggufx-'));
  try {
    const cfg = loadPreset('tiny');
    const w = randomWeights(cfg);
    w.delete('model.layers.3.mlp.down_proj.weight');
    assert.throws(
      () => exportGlmGguf(join(dir, 'x.gguf'), cfg, w, toyTokenizer(1024)),
      (e: unknown) => e instanceof CheckpointError && /missing tensor "model\.layers\.3\.mlp\.down_proj\.weight"/.test(e.message) && /\[128, 352\]/.test(e.message),
    );
    const w2 = randomWeights(cfg);
    w2.set('model.norm.weight', { shape: [127], data: new Float32Array(127) });
    assert.throws(
      () => exportGlmGguf(join(dir, 'x.gguf'), cfg, w2, toyTokenizer(1024)),
      (e: unknown) => e instanceof CheckpointError && /"model\.norm\.weight": expected shape \[128\], found \[127\]/.test(e.message),
    );
    assert.throws(() => exportGlmGguf(join(dir, 'x.gguf'), cfg, randomWeights(cfg), toyTokenizer(1100)), /more than vocab_size/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HF names <-> glmkit module paths; unexpected tensors are reported', () => {
  assert.equal(hfToModulePath('model.layers.3.self_attn.q_proj.weight'), 'model.layers.3.selfAttn.qProj.weight');
  assert.equal(hfToModulePath('model.layers.1.mlp.gate.e_score_correction_bias'), 'model.layers.1.mlp.gate.eScoreCorrectionBias');
  for (const cfgName of ['tiny', 'tiny-moe']) {
    for (const t of expectedTensors(loadPreset(cfgName))) assert.equal(modulePathToHf(hfToModulePath(t.name)), t.name);
  }
  const cfg = loadPreset('tiny');
  const found = new Map(expectedTensors(cfg).map((t) => [t.name, t.shape]));
  found.set('model.rotary_emb.inv_freq', [16]);
  assert.deepEqual(checkTensors(cfg, found, 'ck'), ['model.rotary_emb.inv_freq']);
});

test('score head for reward models replaces lm_head', () => {
  const cfg = loadPreset('tiny');
  const names = expectedTensors(cfg, { scoreLabels: 1 });
  assert.deepEqual(names.at(-1), { name: 'score.weight', shape: [1, 128] });
  assert.equal(names.some((t) => t.name === 'lm_head.weight'), false);
});

test('export from an HF folder with bf16 shards reads tensors lazily and keeps their values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmkit-ggufx-'));
  try {
    const cfg = loadPreset('tiny');
    cfg.tieWordEmbeddings = true;
    const w = randomWeights(cfg);
    const model = join(dir, 'model');
    writeShardedSafetensors(model, [...w].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), { dtype: 'BF16', maxShardBytes: 200_000 });
    writeFileSync(join(model, 'config.json'), JSON.stringify(configToHf(cfg)));
    const out = join(dir, 'tiny.gguf');
    const { plan } = exportGlmGgufFromFolder(model, out, toyTokenizer(1024));
    assert.equal(plan.some((p) => p.name === 'output.weight'), false, 'tied: llama.cpp reuses token_embd');
    const g = openGguf(out);
    assert.equal(ggufGet(g, 'general.architecture'), 'glm4');
    assert.equal(ggufGet(g, 'glm4.block_count'), 4);
    assert.equal(ggufGet(g, 'glm4.rope.dimension_count'), 16);
    assert.equal(ggufGet(g, 'glm4.feed_forward_length'), 352);
    const t = g.tensors.find((x) => x.name === 'blk.1.ffn_up.weight')!;
    assert.deepEqual(t.dims, [128, 704]);
    const src = w.get('model.layers.1.mlp.gate_up_proj.weight')!.data;
    const got = t.read();
    for (let i = 0; i < src.length; i += 97) assert.equal(got[i], bf16BitsToF32(f32ToBf16Bits(src[i])));
    g.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
