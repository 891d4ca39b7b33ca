/**
 * An independent writer of small Hugging Face GLM model folders, for tests that load checkpoints
 * glmkit did not write. Nothing here uses glmkit's code: the tensor names and shapes are listed from
 * transformers' modeling_glm4.py / modeling_glm4_moe.py, the safetensors bytes (8-byte little-endian
 * header length, JSON header, raw data) and the bf16 rounding are built here, and tokenizer.json is
 * written in the tokenizers library's format.
 *
 * Weights are random at a realistic scale (not the near-zero initializer_range of a fresh model), so
 * attention patterns, RoPE, norms and MoE routing all change the output:
 * - matrices N(0, gain / sqrt(fan_in)); embeddings N(0, 1);
 * - RMSNorm weights 1 + N(0, 0.2) (QK-norm weights around 2: sharp attention after normalisation);
 * - q/k/v biases N(0, 0.3); the router N(0, 2 / sqrt(H)) so sigmoid scores spread over (0, 1);
 * - e_score_correction_bias uniform in [0, 0.5): large enough to change which experts are selected.
 *   It is non-negative on purpose: HF masks the experts of dropped groups with 0 and llama.cpp with
 *   -inf, which agree exactly when every biased score is positive.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type HfJson = Record<string, unknown>;

export interface HfTensor {
  name: string;
  /** Row-major (PyTorch) shape. */
  shape: number[];
  data: Float32Array;
}

// ---------------------------------------------------------------- configs

/** A tiny GLM-4 (dense) config.json body: 4 layers, H 128, GQA 4/2, head_dim 32, half rotary. */
export function tinyDenseConfig(): HfJson {
  return {
    architectures: ['Glm4ForCausalLM'],
    model_type: 'glm4',
    vocab_size: 1024,
    hidden_size: 128,
    intermediate_size: 352,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 32,
    partial_rotary_factor: 0.5,
    rope_theta: 10000.0,
    rms_norm_eps: 1e-5,
    max_position_embeddings: 512,
    attention_bias: true,
    attention_dropout: 0.0,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    initializer_range: 0.02,
    pad_token_id: null,
    bos_token_id: null,
    eos_token_id: null,
    torch_dtype: 'float32',
    transformers_version: '4.56.0',
    use_cache: true,
  };
}

/**
 * A tiny GLM-4.5 (MoE) config.json body: 1 dense lead layer + 3 MoE layers, 8 routed experts in 2
 * groups (topk_group 1, so only one group's experts are eligible), 2 per token, 1 shared expert,
 * QK-norm, routed_scaling_factor 2.5, one MTP layer.
 */
export function tinyMoeConfig(): HfJson {
  return {
    ...tinyDenseConfig(),
    architectures: ['Glm4MoeForCausalLM'],
    model_type: 'glm4_moe',
    moe_intermediate_size: 96,
    n_routed_experts: 8,
    n_shared_experts: 1,
    num_experts_per_tok: 2,
    first_k_dense_replace: 1,
    n_group: 2,
    topk_group: 1,
    norm_topk_prob: true,
    routed_scaling_factor: 2.5,
    use_qk_norm: true,
    num_nextn_predict_layers: 1,
  };
}

// ---------------------------------------------------------------- random weights

/** mulberry32 + Box-Muller: a small seeded generator of its own (not glmkit's Rng). */
export class TestRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
}

/**
 * Every tensor of a GLM-4 / GLM-4.5 HF checkpoint of `config` (MTP layer included for glm4_moe), in
 * the order transformers lists them, with random values at the scales of the file comment.
 */
export function randomGlmTensors(config: HfJson, seed: number): HfTensor[] {
  const rnd = new TestRandom(seed);
  const c = config as Record<string, number & boolean & string>;
  const H = c.hidden_size, V = c.vocab_size, D = c.head_dim;
  const q = c.num_attention_heads * D, kv = c.num_key_value_heads * D;
  const moe = c.model_type === 'glm4_moe';
  const out: HfTensor[] = [];
  const fill = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  const mat = (name: string, rows: number, cols: number, gain = 1) =>
    out.push({ name, shape: [rows, cols], data: fill(rows * cols, () => (rnd.normal() * gain) / Math.sqrt(cols)) });
  const norm = (name: string, n: number, center = 1, spread = 0.2) => out.push({ name, shape: [n], data: fill(n, () => center + spread * rnd.normal()) });
  const vec = (name: string, n: number, std: number) => out.push({ name, shape: [n], data: fill(n, () => std * rnd.normal()) });
  const mlp = (p: string, inter: number) => {
    mat(`${p}.gate_proj.weight`, inter, H);
    mat(`${p}.up_proj.weight`, inter, H);
    mat(`${p}.down_proj.weight`, H, inter);
  };

  out.push({ name: 'model.embed_tokens.weight', shape: [V, H], data: fill(V * H, () => rnd.normal()) });
  const layers = c.num_hidden_layers + (moe ? c.num_nextn_predict_layers : 0);
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    norm(`${p}.input_layernorm.weight`, H);
    mat(`${p}.self_attn.q_proj.weight`, q, H, 1.5);
    vec(`${p}.self_attn.q_proj.bias`, q, 0.3);
    mat(`${p}.self_attn.k_proj.weight`, kv, H, 1.5);
    vec(`${p}.self_attn.k_proj.bias`, kv, 0.3);
    mat(`${p}.self_attn.v_proj.weight`, kv, H);
    vec(`${p}.self_attn.v_proj.bias`, kv, 0.3);
    mat(`${p}.self_attn.o_proj.weight`, H, q);
    if (!moe) {
      // GLM-4: sandwich norms around attention and MLP, fused gate_up projection.
      norm(`${p}.post_self_attn_layernorm.weight`, H, 1, 0.3);
      norm(`${p}.post_attention_layernorm.weight`, H);
      mat(`${p}.mlp.gate_up_proj.weight`, 2 * c.intermediate_size, H);
      mat(`${p}.mlp.down_proj.weight`, H, c.intermediate_size);
      norm(`${p}.post_mlp_layernorm.weight`, H, 1, 0.3);
      continue;
    }
    if (c.use_qk_norm) {
      norm(`${p}.self_attn.q_norm.weight`, D, 2, 0.5);
      norm(`${p}.self_attn.k_norm.weight`, D, 2, 0.5);
    }
    norm(`${p}.post_attention_layernorm.weight`, H);
    if (i < c.first_k_dense_replace) {
      mlp(`${p}.mlp`, c.intermediate_size);
    } else {
      const E = c.n_routed_experts;
      mat(`${p}.mlp.gate.weight`, E, H, 2);
      out.push({ name: `${p}.mlp.gate.e_score_correction_bias`, shape: [E], data: fill(E, () => 0.5 * rnd.uniform()) });
      for (let e = 0; e < E; e++) mlp(`${p}.mlp.experts.${e}`, c.moe_intermediate_size);
      mlp(`${p}.mlp.shared_experts`, c.moe_intermediate_size * c.n_shared_experts);
    }
    if (i >= c.num_hidden_layers) {
      // The MTP layer: eh_proj([enorm(embed); hnorm(hidden)]) -> block -> shared_head.
      mat(`${p}.eh_proj.weight`, H, 2 * H);
      norm(`${p}.enorm.weight`, H);
      norm(`${p}.hnorm.weight`, H);
      norm(`${p}.shared_head.norm.weight`, H);
      mat(`${p}.shared_head.head.weight`, V, H, 3);
    }
  }
  norm('model.norm.weight', H);
  mat('lm_head.weight', V, H, 3);
  return out;
}

// ---------------------------------------------------------------- safetensors bytes

/** float32 -> bfloat16 bits, round to nearest even (NaN stays NaN). */
export function toBf16Bits(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0];
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits -> float32. */
export function fromBf16Bits(h: number): number {
  return new Float32Array(new Uint32Array([h << 16]).buffer)[0];
}

/** The values a tensor has after storage in `dtype` (what a reader gets back). */
export function storedValues(t: HfTensor, dtype: 'F32' | 'BF16'): Float32Array {
  return dtype === 'F32' ? t.data : Float32Array.from(t.data, (x) => fromBf16Bits(toBf16Bits(x)));
}

/** The storage dtype of one tensor in a checkpoint of `dtype`: the router's selection bias stays F32 (as released GLM-4.5 keeps it). */
function tensorDtype(name: string, dtype: 'F32' | 'BF16'): 'F32' | 'BF16' {
  return name.endsWith('e_score_correction_bias') ? 'F32' : dtype;
}

/** The bytes of one .safetensors file holding `tensors`. */
export function safetensorsBytes(tensors: HfTensor[], dtype: 'F32' | 'BF16'): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const parts: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    const dt = tensorDtype(t.name, dtype);
    let bytes: Buffer;
    if (dt === 'F32') {
      bytes = Buffer.alloc(t.data.length * 4);
      t.data.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
    } else {
      bytes = Buffer.alloc(t.data.length * 2);
      t.data.forEach((x, i) => bytes.writeUInt16LE(toBf16Bits(x), i * 2));
    }
    header[t.name] = { dtype: dt, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // the data starts 8-byte aligned
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...parts]);
}

export interface FolderOptions {
  dtype: 'F32' | 'BF16';
  /** Split the tensors over this many files with model.safetensors.index.json (default 1). */
  shards?: number;
}

/** Writes config.json, generation_config.json and the weights (one file or shards + index) into dir. */
export function writeHfModelFolder(dir: string, config: HfJson, tensors: HfTensor[], opts: FolderOptions): void {
  mkdirSync(dir, { recursive: true });
  const cfg = { ...config, torch_dtype: opts.dtype === 'BF16' ? 'bfloat16' : 'float32' };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: config.eos_token_id, pad_token_id: config.pad_token_id }));
  const n = opts.shards ?? 1;
  if (n === 1) {
    writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(tensors, opts.dtype));
    return;
  }
  const weightMap: Record<string, string> = {};
  let total = 0;
  const per = Math.ceil(tensors.length / n);
  for (let s = 0; s < n; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    const chunk = tensors.slice(s * per, (s + 1) * per);
    const bytes = safetensorsBytes(chunk, opts.dtype);
    writeFileSync(join(dir, file), bytes);
    for (const t of chunk) {
      weightMap[t.name] = file;
      total += t.data.length * (tensorDtype(t.name, opts.dtype) === 'F32' ? 4 : 2);
    }
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
}

// ---------------------------------------------------------------- tokenizer.json

/** GPT-2's byte -> printable character table (the ByteLevel alphabet). */
export function byteLevelAlphabet(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return table;
}

/** GLM-4's Split pattern, as in its tokenizer.json. */
export const GLM4_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** GLM's special tokens, appended after the BPE vocabulary in this order. */
export const SPECIAL_TOKENS = ['<|endoftext|>', '[MASK]', '[gMASK]', '[sMASK]', '<sop>', '<eop>', '<|system|>', '<|user|>', '<|assistant|>', '<|observation|>', '<think>', '</think>'];

export interface HfAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/**
 * The tokenizer.json document of a GLM-4 style byte-level BPE: Split(GLM-4 pattern) + ByteLevel
 * pre-tokenizer, ByteLevel decoder, BPE model with the given vocabulary, merges and added tokens.
 */
export function hfBpeTokenizerDoc(vocab: Record<string, number>, merges: [string, string][], added: HfAddedToken[]): HfJson {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: GLM4_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

/**
 * A byte-level BPE tokenizer.json: the 256 byte symbols, then for each word (ASCII) the merges that
 * build it left to right ("h e", "he l", ...; a leading space is the symbol "Ġ"), then GLM's special
 * tokens as added tokens. Returns the document and its size.
 */
export function byteLevelTokenizerJson(words: string[]): { json: HfJson; size: number } {
  const alphabet = byteLevelAlphabet();
  const vocab: Record<string, number> = {};
  alphabet.forEach((ch, i) => (vocab[ch] = i));
  const merges: [string, string][] = [];
  let next = 256;
  for (const w of words) {
    const syms = [...Buffer.from(w, 'utf8')].map((b) => alphabet[b]);
    let cur = syms[0];
    for (const s of syms.slice(1)) {
      const merged = cur + s;
      if (!(merged in vocab)) {
        merges.push([cur, s]);
        vocab[merged] = next++;
      }
      cur = merged;
    }
  }
  const added = SPECIAL_TOKENS.map((content, i) => ({ id: next + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const json = hfBpeTokenizerDoc(vocab, merges, added);
  return { json, size: next + SPECIAL_TOKENS.length };
}

/** Writes tokenizer.json and tokenizer_config.json (eos/pad <|endoftext|>) into dir; returns the token count. */
export function writeTokenizerFolder(dir: string, words: string[]): number {
  mkdirSync(dir, { recursive: true });
  const { json, size } = byteLevelTokenizerJson(words);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', model_max_length: 512, clean_up_tokenization_spaces: false }),
  );
  return size;
}
