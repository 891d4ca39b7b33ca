// `glmkit export gguf`: the file it writes (metadata, tokenizer, tensors read back against the
// source folder) and its errors on bad input. Runs without llama.cpp (tests/llamacpp-parity.test.ts
// checks that llama.cpp runs the files).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, ConfigError } from '../src/errors.js';
import { ggufGet, openGguf } from '../src/io/gguf.js';
import { exportGguf } from '../src/cli/export.js';
import { runCli, tempDir } from './helpers.js';
import { SPECIAL_TOKENS, randomGlmTensors, tinyDenseConfig, tinyMoeConfig, writeHfModelFolder, writeTokenizerFolder } from './hf-writer.js';

const work = tempDir('glmkit-export-');
after(() => rmSync(work, { recursive: true, force: true }));

const moeDir = join(work, 'moe');
const moeTensors = randomGlmTensors(tinyMoeConfig(), 7);
writeHfModelFolder(moeDir, tinyMoeConfig(), moeTensors, { dtype: 'F32' });
const tokDir = join(work, 'tok');
const nTokens = writeTokenizerFolder(tokDir, ['hello', ' world']);

test('export gguf (CLI): glm4moe f16 with the tokenizer of another folder, without MTP', () => {
  const out = join(work, 'out', 'moe.gguf');
  const r = runCli(['export', 'gguf', '--model', moeDir, '--tokenizer', tokDir, '--out', out, '--dtype', 'f16', '--no-mtp']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.arch, 'glm4moe');
  assert.equal(summary.mtp, false);
  assert.deepEqual(summary.warnings, [], 'a non-negative selection bias routes as llama.cpp does');
  assert.equal(r.stderr, '');
  const f = openGguf(out);
  try {
    assert.equal(ggufGet(f, 'general.architecture'), 'glm4moe');
    assert.equal(ggufGet(f, 'general.file_type'), 1);
    assert.equal(ggufGet(f, 'glm4moe.block_count'), 4);
    assert.equal(ggufGet(f, 'glm4moe.nextn_predict_layers'), 0);
    assert.equal(ggufGet(f, 'glm4moe.expert_group_count'), 2);
    assert.equal(ggufGet(f, 'glm4moe.expert_group_used_count'), 1);
    assert.equal(ggufGet(f, 'tokenizer.ggml.pre'), 'glm4');
    const tokens = ggufGet(f, 'tokenizer.ggml.tokens') as string[];
    assert.equal(tokens.length, 1024, 'padded to vocab_size');
    const types = ggufGet(f, 'tokenizer.ggml.token_type') as number[];
    const gmask = tokens.indexOf('[gMASK]');
    assert.equal(gmask, nTokens - SPECIAL_TOKENS.length + SPECIAL_TOKENS.indexOf('[gMASK]'));
    assert.equal(types[gmask], 3, '[gMASK] is a control token');
    assert.equal(ggufGet(f, 'tokenizer.ggml.bos_token_id'), gmask);
    assert.equal(tokens[ggufGet(f, 'tokenizer.ggml.eos_token_id') as number], '<|endoftext|>');
    assert.deepEqual(ggufGet(f, 'tokenizer.ggml.merges'), ['h e', 'he l', 'hel l', 'hell o', 'Ġ w', 'Ġw o', 'Ġwo r', 'Ġwor l', 'Ġworl d']);
    assert.match(ggufGet(f, 'tokenizer.chat_template') as string, /\[gMASK\]<sop>/);
    assert.equal(f.tensors.some((t) => t.name.startsWith('blk.4.')), false, 'no MTP block');
    // Stacked experts: expert 5's gate_proj of layer 2 is slice 5, rounded to f16.
    const exps = f.tensors.find((t) => t.name === 'blk.2.ffn_gate_exps.weight')!;
    assert.deepEqual(exps.shape, [8, 96, 128]);
    const src = moeTensors.find((t) => t.name === 'model.layers.2.mlp.experts.5.gate_proj.weight')!.data;
    const got = exps.read().subarray(5 * 96 * 128, 6 * 96 * 128);
    let err = 0;
    src.forEach((x, i) => (err = Math.max(err, Math.abs(x - got[i]) / Math.max(Math.abs(x), 1e-3))));
    assert.ok(err < 1e-3, `f16 rounding error ${err}`);
    assert.equal(f.tensors.find((t) => t.name === 'blk.2.ffn_gate_inp.weight')!.type, 0, 'the router stays F32');
  } finally {
    f.close();
  }
});

test('export gguf warns when group-limited routing may differ in llama.cpp (negative selection bias)', () => {
  const dir = join(work, 'moe-neg');
  const tensors = randomGlmTensors(tinyMoeConfig(), 8).map((t) => (t.name.endsWith('e_score_correction_bias') ? { ...t, data: t.data.map((x) => x - 0.4) } : t));
  writeHfModelFolder(dir, tinyMoeConfig(), tensors, { dtype: 'BF16' });
  const r = exportGguf(dir, join(work, 'neg.gguf'), { tokenizerDir: tokDir });
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /n_group 2 with a negative e_score_correction_bias .*-inf where glmkit and HF use 0/);
});

test('export gguf (CLI): a bad input exits non-zero with one line naming it', () => {
  const r = runCli(['export', 'gguf', '--model', join(work, 'nope'), '--out', join(work, 'x.gguf')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^glmkit: error\[usage\]: export gguf: --model .*nope does not exist; expected a Hugging Face model folder/);
  const u = runCli(['export', 'onnx', '--model', moeDir, '--out', join(work, 'x.onnx')]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /expected the format 'gguf', got 'onnx'/);
});

test('export gguf: errors name what is wrong', () => {
  const out = join(work, 'e.gguf');
  assert.throws(() => exportGguf(join(work, 'missing'), out), (e: Error) => e instanceof CheckpointError && /no such folder/.test(e.message));
  // a folder without config.json
  const empty = join(work, 'empty');
  mkdirSync(empty);
  assert.throws(() => exportGguf(empty, out), /no config\.json/);
  // a model folder without tokenizer.json
  assert.throws(() => exportGguf(moeDir, out), (e: Error) => e instanceof CheckpointError && /no tokenizer\.json; llama\.cpp needs the model's vocabulary/.test(e.message));
  // a different architecture
  const llamaDir = join(work, 'llama');
  cpSync(tokDir, llamaDir, { recursive: true });
  writeFileSync(join(llamaDir, 'config.json'), JSON.stringify({ ...tinyDenseConfig(), model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
  assert.throws(() => exportGguf(llamaDir, out), (e: Error) => e instanceof ConfigError && /model_type.*expected "glm4" or "glm4_moe".*"llama"/.test(e.message));
  // a reward model (sequence classifier) has no lm_head
  writeFileSync(join(llamaDir, 'config.json'), JSON.stringify({ ...tinyDenseConfig(), architectures: ['Glm4ForSequenceClassification'] }));
  assert.throws(() => exportGguf(llamaDir, out), /sequence classifier .*needs a causal LM/);
  // a tokenizer larger than the model's vocabulary
  const small = join(work, 'small');
  const smallConfig = { ...tinyDenseConfig(), vocab_size: 200, num_hidden_layers: 1 };
  writeHfModelFolder(small, smallConfig, randomGlmTensors(smallConfig, 1), { dtype: 'F32' });
  assert.throws(() => exportGguf(small, out, { tokenizerDir: tokDir }), /tokenizer has \d+ ids but .*vocab_size 200/);
  // a checkpoint missing a tensor
  const broken = join(work, 'broken');
  writeHfModelFolder(broken, tinyDenseConfig(), randomGlmTensors(tinyDenseConfig(), 1).filter((t) => t.name !== 'model.layers.2.post_mlp_layernorm.weight'), { dtype: 'BF16' });
  assert.throws(() => exportGguf(broken, out, { tokenizerDir: tokDir }), /missing tensor "model\.layers\.2\.post_mlp_layernorm\.weight"/);
  // nothing was left behind by the failed exports
  assert.throws(() => readFileSync(out), /ENOENT/);
  // a tokenizer whose pre-tokenizer llama.cpp does not know
  const odd = join(work, 'odd-tok');
  cpSync(tokDir, odd, { recursive: true });
  const tj = JSON.parse(readFileSync(join(odd, 'tokenizer.json'), 'utf8'));
  tj.pre_tokenizer.pretokenizers[0].pattern.Regex = '\\s+|\\S+';
  writeFileSync(join(odd, 'tokenizer.json'), JSON.stringify(tj));
  assert.throws(() => exportGguf(moeDir, out, { tokenizerDir: odd }), /pre-tokenizer pattern .* no llama\.cpp equivalent/);
  unlinkSync(join(odd, 'tokenizer.json'));
});

test('export gguf to an existing folder: one clear line (CLI and library), no temporary file left in the parent', () => {
  const parent = join(work, 'parent');
  const dirOut = join(parent, 'model.gguf');
  mkdirSync(dirOut, { recursive: true });
  const r = runCli(['export', 'gguf', '--model', moeDir, '--tokenizer', tokDir, '--out', dirOut]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /--out .*model\.gguf is a folder; expected a \.gguf file to write/);
  assert.doesNotMatch(r.stderr, /EISDIR|internal error/);
  // the library call (no CLI path check) fails before writing, and leaves nothing beside the folder
  assert.throws(() => exportGguf(moeDir, dirOut, { tokenizerDir: tokDir }), (e: Error) => e instanceof CheckpointError && /is a folder; expected a file path/.test(e.message));
  assert.deepEqual(readdirSync(parent), ['model.gguf']);
  assert.deepEqual(readdirSync(dirOut), []);
});
