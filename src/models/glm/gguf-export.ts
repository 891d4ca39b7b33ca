/**
 * GLM -> GGUF export for llama.cpp (archs `glm4` and `glm4moe`), per docs/methods.md §1.3 and llama.cpp's own
 * converter (convert_hf_to_gguf.py Glm4Model / Glm4MoeModel, src/llama-arch.cpp):
 * - no q/k row permutation: llama.cpp's `glm4` uses RoPE type "norm" (adjacent pairs), which is what
 *   GLM-4's interleaved rotary computes; `glm4moe` uses "neox" (halves), GLM-4.5's rotate_half.
 * - glm4's fused `mlp.gate_up_proj` is written as `ffn_up` unchanged (gate half first: ggml's swiglu
 *   applies silu to the first half).
 * - glm4_moe routed experts are stacked into 3-D `ffn_{gate,up,down}_exps` ([E, out, in] row-major,
 *   ggml dims {in, out, E}); the router stays f32 as llama.cpp's converter keeps it.
 * - the MTP layer is block `num_hidden_layers` and `block_count` counts it.
 * Tokenizer keys follow llama.cpp's GLM vocab: model "gpt2", pre "glm4" (the CHATGLM4 pre-tokenizer
 * regex), bos [gMASK], eos <|endoftext|>, eot <|user|>, eom <|observation|>, no automatic BOS.
 */
import { join } from 'node:path';
import { CheckpointError, ConfigError } from '../../errors.js';
import { type GgmlTypeName, type GgufKv, type GgufTensorToWrite, gv, writeGguf } from '../../io/gguf.js';
import { openSafetensorsCheckpoint } from '../../io/safetensors.js';
import { type GlmConfig, readConfigFile, rotaryDim } from './config.js';
import { EXPERT_NAME, checkTensors, expectedTensors, ggufExpertsName, ggufTensorName, storedLayerCount } from './names.js';

/** llama.cpp token types. */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface GgufTokenizer {
  /** Token strings by id (byte-level BPE symbols, as in tokenizer.json's vocab). */
  tokens: string[];
  /** llama.cpp token type per id (TokenType); special tokens are CONTROL. */
  tokenTypes: number[];
  /** BPE merges, "a b" or [a, b], highest priority first. */
  merges: (string | [string, string])[];
  /** Special ids; when absent they are looked up by the GLM token strings. */
  bosId?: number | null;
  eosId?: number | null;
  eotId?: number | null;
  eomId?: number | null;
  padId?: number | null;
  unkId?: number | null;
  chatTemplate?: string;
  /** `tokenizer.ggml.pre` (default "glm4"). */
  pre?: string;
}

export interface GlmGgufOptions {
  /** `general.name` (default "glmkit-<model_type>"). */
  name?: string;
  /** 'f16' / 'bf16' store 2-D/3-D weights as F16 / BF16; norms, biases and the router stay F32. Default 'f32'. */
  fileType?: GgufFileType;
  /** Export the MTP layers (default true; only glm4_moe has them). */
  mtp?: boolean;
  /** Names the source in error messages (default "GGUF export"). */
  source?: string;
}

/** A source tensor in HF naming: a loaded array or a lazy reader (safetensors LazyTensor fits). */
export type HfTensorSource = { shape: number[]; data: Float32Array } | { shape: number[]; read(): Float32Array };

export interface GgufTensorPlan {
  name: string;
  /** Row-major shape. */
  shape: number[];
  type: GgmlTypeName;
  /** HF tensors it is made of (several for stacked experts, in expert order). */
  sources: string[];
}

/** llama.cpp architecture name. */
export function ggufArch(cfg: GlmConfig): 'glm4' | 'glm4moe' {
  return cfg.modelType === 'glm4' ? 'glm4' : 'glm4moe';
}

export type GgufFileType = 'f32' | 'f16' | 'bf16';

/** The ggml type of the matrices for a file type. */
function halfType(fileType: GgufFileType | undefined): 'F32' | 'F16' | 'BF16' {
  return fileType === 'f16' ? 'F16' : fileType === 'bf16' ? 'BF16' : 'F32';
}

function keepF32(ggufName: string, shape: number[]): boolean {
  return shape.length < 2 || /\.ffn_gate_inp\.weight$/.test(ggufName);
}

/** The GGUF tensors (name, row-major shape, type, HF sources) of a model with this config. */
export function glmGgufTensorPlan(cfg: GlmConfig, options: GlmGgufOptions = {}): GgufTensorPlan[] {
  const mtp = options.mtp ?? true;
  const half = halfType(options.fileType);
  const plan: GgufTensorPlan[] = [];
  const experts = new Map<string, GgufTensorPlan>();
  for (const t of expectedTensors(cfg, { mtp })) {
    if (t.optional) continue;
    const m = EXPERT_NAME.exec(t.name);
    if (m) {
      const name = ggufExpertsName(Number(m[1]), m[3] as 'gate' | 'up' | 'down');
      let p = experts.get(name);
      if (!p) {
        p = { name, shape: [cfg.nRoutedExperts, ...t.shape], type: half, sources: [] };
        experts.set(name, p);
        plan.push(p);
      }
      p.sources.push(t.name);
      continue;
    }
    const name = ggufTensorName(cfg, t.name);
    if (name === null) throw new CheckpointError(`no GGUF name for HF tensor "${t.name}" (model_type ${cfg.modelType})`);
    plan.push({ name, shape: t.shape, type: keepF32(name, t.shape) ? 'F32' : half, sources: [t.name] });
  }
  return plan;
}

function findToken(tokens: string[], s: string): number | null {
  const i = tokens.indexOf(s);
  return i < 0 ? null : i;
}

/** GGUF metadata (architecture hyper-parameters and tokenizer) of a GLM model. */
export function glmGgufMetadata(cfg: GlmConfig, tok: GgufTokenizer, options: GlmGgufOptions = {}): GgufKv[] {
  const arch = ggufArch(cfg);
  if (cfg.ropeScaling) {
    throw new ConfigError(`export gguf: the model's config.json has rope_scaling "${cfg.ropeScaling.ropeType}", which the GGUF export does not write yet; export a model with plain RoPE (a larger rope_theta, as the long-context stage uses, exports fine)`);
  }
  const mtp = options.mtp ?? true;
  const kv: GgufKv[] = [];
  const add = (key: string, value: GgufKv['value']) => kv.push({ key, value });
  const a = (k: string) => `${arch}.${k}`;
  add('general.architecture', gv.str(arch));
  add('general.name', gv.str(options.name ?? `glmkit-${cfg.modelType}`));
  // llama.cpp's LLAMA_FTYPE: ALL_F32 0, MOSTLY_F16 1, MOSTLY_BF16 32
  add('general.file_type', gv.u32(options.fileType === 'f16' ? 1 : options.fileType === 'bf16' ? 32 : 0));
  add('general.alignment', gv.u32(32));
  add(a('vocab_size'), gv.u32(cfg.vocabSize));
  add(a('context_length'), gv.u32(cfg.maxPositionEmbeddings));
  add(a('embedding_length'), gv.u32(cfg.hiddenSize));
  add(a('block_count'), gv.u32(storedLayerCount(cfg, mtp)));
  add(a('feed_forward_length'), gv.u32(cfg.intermediateSize));
  add(a('attention.head_count'), gv.u32(cfg.numAttentionHeads));
  add(a('attention.head_count_kv'), gv.u32(cfg.numKeyValueHeads));
  add(a('attention.key_length'), gv.u32(cfg.headDim));
  add(a('attention.value_length'), gv.u32(cfg.headDim));
  add(a('rope.dimension_count'), gv.u32(rotaryDim(cfg)));
  add(a('rope.freq_base'), gv.f32(cfg.ropeTheta));
  add(a('attention.layer_norm_rms_epsilon'), gv.f32(cfg.rmsNormEps));
  if (cfg.modelType === 'glm4_moe') {
    add(a('expert_count'), gv.u32(cfg.nRoutedExperts));
    add(a('expert_used_count'), gv.u32(cfg.numExpertsPerTok));
    add(a('expert_shared_count'), gv.u32(cfg.nSharedExperts));
    add(a('leading_dense_block_count'), gv.u32(cfg.firstKDenseReplace));
    add(a('expert_feed_forward_length'), gv.u32(cfg.moeIntermediateSize));
    add(a('expert_weights_scale'), gv.f32(cfg.routedScalingFactor));
    add(a('expert_weights_norm'), gv.bool(cfg.normTopkProb));
    add(a('expert_gating_func'), gv.u32(2)); // sigmoid
    add(a('nextn_predict_layers'), gv.u32(mtp ? cfg.numNextnPredictLayers : 0));
    if (cfg.nGroup > 1) {
      add(a('expert_group_count'), gv.u32(cfg.nGroup));
      add(a('expert_group_used_count'), gv.u32(cfg.topkGroup));
    }
  }
  // ---- tokenizer ----
  const n = tok.tokens.length;
  if (tok.tokenTypes.length !== n) {
    throw new CheckpointError(`GGUF export: ${n} tokens but ${tok.tokenTypes.length} token types; expected one type per token`);
  }
  if (n > cfg.vocabSize) {
    throw new CheckpointError(`GGUF export: tokenizer has ${n} tokens, more than vocab_size ${cfg.vocabSize}; expected at most vocab_size`);
  }
  // Pad to vocab_size as llama.cpp's converter does: llama.cpp needs one token per embedding row.
  const tokens = [...tok.tokens];
  const types = [...tok.tokenTypes];
  for (let i = n; i < cfg.vocabSize; i++) {
    tokens.push(`[PAD${i}]`);
    types.push(TokenType.UNUSED);
  }
  add('tokenizer.ggml.model', gv.str('gpt2'));
  add('tokenizer.ggml.pre', gv.str(tok.pre ?? 'glm4'));
  add('tokenizer.ggml.tokens', gv.strs(tokens));
  add('tokenizer.ggml.token_type', gv.i32s(types));
  add('tokenizer.ggml.merges', gv.strs(tok.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`))));
  const pick = (given: number | null | undefined, token: string) =>
    given !== undefined ? given : findToken(tok.tokens, token);
  const ids: [string, number | null][] = [
    ['bos', pick(tok.bosId, '[gMASK]')],
    ['eos', pick(tok.eosId, '<|endoftext|>')],
    ['eot', pick(tok.eotId, '<|user|>')],
    ['eom', pick(tok.eomId, '<|observation|>')],
    ['unknown', pick(tok.unkId, '<|endoftext|>')],
    ['padding', pick(tok.padId, '<|endoftext|>')],
  ];
  for (const [k, id] of ids) {
    if (id === null) continue;
    if (!Number.isInteger(id) || id < 0 || id >= n) {
      throw new CheckpointError(`GGUF export: ${k} token id ${id} is outside the tokenizer's ${n} tokens`);
    }
    add(`tokenizer.ggml.${k}_token_id`, gv.u32(id));
  }
  add('tokenizer.ggml.add_bos_token', gv.bool(false));
  if (tok.chatTemplate !== undefined) add('tokenizer.chat_template', gv.str(tok.chatTemplate));
  return kv;
}

function readSource(src: HfTensorSource): Float32Array {
  return 'data' in src ? src.data : src.read();
}

/**
 * Writes `path` as a GGUF llama.cpp loads: metadata from the config and tokenizer, tensors from `tensors`
 * (HF names). The tensors are checked first against the config (CheckpointError naming a missing
 * tensor or a wrong shape). Each GGUF tensor is materialised only when written (stacked experts are
 * built then), so peak memory is about one tensor.
 */
export function exportGlmGguf(
  path: string,
  cfg: GlmConfig,
  tensors: ReadonlyMap<string, HfTensorSource>,
  tokenizer: GgufTokenizer,
  options: GlmGgufOptions = {},
): GgufTensorPlan[] {
  const mtp = options.mtp ?? true;
  checkTensors(cfg, new Map([...tensors].map(([k, v]) => [k, v.shape])), options.source ?? 'GGUF export', { mtp });
  const metadata = glmGgufMetadata(cfg, tokenizer, options);
  const plan = glmGgufTensorPlan(cfg, options);
  // Optional tensors present in the source (e.g. the MTP layer's own embed_tokens) are exported too.
  for (const t of expectedTensors(cfg, { mtp })) {
    if (!t.optional || !tensors.has(t.name)) continue;
    const name = ggufTensorName(cfg, t.name);
    if (name !== null) plan.push({ name, shape: t.shape, type: halfType(options.fileType), sources: [t.name] });
  }
  const out: GgufTensorToWrite[] = plan.map((p) => ({
    name: p.name,
    shape: p.shape,
    type: p.type,
    data: () => {
      if (p.sources.length === 1) return readSource(tensors.get(p.sources[0])!);
      const per = p.shape.slice(1).reduce((x, y) => x * y, 1);
      const stacked = new Float32Array(per * p.sources.length);
      p.sources.forEach((s, e) => stacked.set(readSource(tensors.get(s)!), e * per));
      return stacked;
    },
  }));
  writeGguf(path, metadata, out);
  return plan;
}

/**
 * Exports an HF model folder (config.json + model.safetensors or shards) to GGUF, reading each tensor
 * only when it is written. Returns the config and the tensor plan.
 */
export function exportGlmGgufFromFolder(
  modelDir: string,
  path: string,
  tokenizer: GgufTokenizer,
  options: GlmGgufOptions = {},
): { config: GlmConfig; plan: GgufTensorPlan[] } {
  const config = readConfigFile(join(modelDir, 'config.json'));
  const ck = openSafetensorsCheckpoint(modelDir);
  try {
    const plan = exportGlmGguf(path, config, ck.tensors, tokenizer, { source: modelDir, ...options });
    return { config, plan };
  } finally {
    ck.close();
  }
}
