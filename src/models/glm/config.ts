/**
 * GlmConfig: the GLM-4 (dense, HF `Glm4Config`, model_type "glm4") and GLM-4.5 (MoE, HF
 * `Glm4MoeConfig`, model_type "glm4_moe") hyper-parameters, in camelCase inside glmkit and in HF
 * `config.json` keys at the boundary (docs/methods.md §1.1-1.2).
 *
 * - `configFromHf(json, source)` reads a config.json body; keys glmkit does not use are kept in
 *   `extra` and written back unchanged by `configToHf`, so a round trip loses nothing.
 * - Missing keys take the defaults of transformers' config classes for that model_type.
 * - `validateConfig` checks consistency and throws `ConfigError` naming the key, expected and found.
 * - `loadPreset(name)` reads `configs/<name>.json` (stored as HF config.json bodies).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors.js';
import { expectedTensors } from './names.js';
import { parseRopeScaling, validateRopeScaling, writeRopeScaling, type RopeScaling } from './rope-scaling.js';

export type GlmModelType = 'glm4' | 'glm4_moe';

export interface GlmConfig {
  modelType: GlmModelType;
  /** HF `architectures`, e.g. ["Glm4ForCausalLM"] (a reward model keeps its own, e.g. *ForSequenceClassification). */
  architectures: string[];
  vocabSize: number;
  hiddenSize: number;
  /** Dense MLP width (glm4: every layer; glm4_moe: the first `firstKDenseReplace` layers). */
  intermediateSize: number;
  /** Decoder layers, not counting MTP layers. */
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  /** Fraction of head_dim that rotates (GLM: 0.5). */
  partialRotaryFactor: number;
  ropeTheta: number;
  /** Scaled RoPE (HF `rope_scaling`, or the scaling keys of 5.x `rope_parameters`); null = plain RoPE. */
  ropeScaling: RopeScaling | null;
  rmsNormEps: number;
  maxPositionEmbeddings: number;
  /** q/k/v projections carry a bias (o_proj never does). */
  attentionBias: boolean;
  tieWordEmbeddings: boolean;
  hiddenAct: string;
  initializerRange: number;
  padTokenId: number | null;
  bosTokenId: number | null;
  /** One id or several (GLM: <|endoftext|>, <|user|>, <|observation|>). */
  eosTokenId: number | number[] | null;
  torchDtype: string;
  // ---- MoE (glm4_moe only; ignored for glm4) ----
  moeIntermediateSize: number;
  nRoutedExperts: number;
  nSharedExperts: number;
  numExpertsPerTok: number;
  firstKDenseReplace: number;
  nGroup: number;
  topkGroup: number;
  normTopkProb: boolean;
  routedScalingFactor: number;
  useQkNorm: boolean;
  /** MTP layers stored at layer index numHiddenLayers.. (glm4_moe only). */
  numNextnPredictLayers: number;
  /** HF keys glmkit does not use, kept verbatim for the round trip. */
  extra: Record<string, unknown>;
}

type Kind = 'int' | 'posint' | 'number' | 'bool' | 'string' | 'idOrNull' | 'idsOrNull';
interface KeySpec {
  hf: string;
  field: keyof GlmConfig;
  kind: Kind;
  /** Only for glm4_moe. */
  moe?: boolean;
}

/** The HF keys glmkit reads, in the order they are written. */
const KEYS: KeySpec[] = [
  { hf: 'vocab_size', field: 'vocabSize', kind: 'posint' },
  { hf: 'hidden_size', field: 'hiddenSize', kind: 'posint' },
  { hf: 'intermediate_size', field: 'intermediateSize', kind: 'posint' },
  { hf: 'num_hidden_layers', field: 'numHiddenLayers', kind: 'posint' },
  { hf: 'num_attention_heads', field: 'numAttentionHeads', kind: 'posint' },
  { hf: 'num_key_value_heads', field: 'numKeyValueHeads', kind: 'posint' },
  { hf: 'head_dim', field: 'headDim', kind: 'posint' },
  { hf: 'partial_rotary_factor', field: 'partialRotaryFactor', kind: 'number' },
  { hf: 'rope_theta', field: 'ropeTheta', kind: 'number' },
  { hf: 'rms_norm_eps', field: 'rmsNormEps', kind: 'number' },
  { hf: 'max_position_embeddings', field: 'maxPositionEmbeddings', kind: 'posint' },
  { hf: 'attention_bias', field: 'attentionBias', kind: 'bool' },
  { hf: 'tie_word_embeddings', field: 'tieWordEmbeddings', kind: 'bool' },
  { hf: 'hidden_act', field: 'hiddenAct', kind: 'string' },
  { hf: 'initializer_range', field: 'initializerRange', kind: 'number' },
  { hf: 'pad_token_id', field: 'padTokenId', kind: 'idOrNull' },
  { hf: 'bos_token_id', field: 'bosTokenId', kind: 'idOrNull' },
  { hf: 'eos_token_id', field: 'eosTokenId', kind: 'idsOrNull' },
  { hf: 'torch_dtype', field: 'torchDtype', kind: 'string' },
  { hf: 'moe_intermediate_size', field: 'moeIntermediateSize', kind: 'posint', moe: true },
  { hf: 'n_routed_experts', field: 'nRoutedExperts', kind: 'posint', moe: true },
  { hf: 'n_shared_experts', field: 'nSharedExperts', kind: 'int', moe: true },
  { hf: 'num_experts_per_tok', field: 'numExpertsPerTok', kind: 'posint', moe: true },
  { hf: 'first_k_dense_replace', field: 'firstKDenseReplace', kind: 'int', moe: true },
  { hf: 'n_group', field: 'nGroup', kind: 'posint', moe: true },
  { hf: 'topk_group', field: 'topkGroup', kind: 'posint', moe: true },
  { hf: 'norm_topk_prob', field: 'normTopkProb', kind: 'bool', moe: true },
  { hf: 'routed_scaling_factor', field: 'routedScalingFactor', kind: 'number', moe: true },
  { hf: 'use_qk_norm', field: 'useQkNorm', kind: 'bool', moe: true },
  { hf: 'num_nextn_predict_layers', field: 'numNextnPredictLayers', kind: 'int', moe: true },
];

export const HF_ARCHITECTURE: Record<GlmModelType, string> = {
  glm4: 'Glm4ForCausalLM',
  glm4_moe: 'Glm4MoeForCausalLM',
};

/** transformers' defaults (configuration_glm4.py / configuration_glm4_moe.py). head_dim: see `configFromHf`. */
function defaults(modelType: GlmModelType): Omit<GlmConfig, 'headDim' | 'extra'> {
  const common = {
    vocabSize: 151552,
    hiddenSize: 4096,
    partialRotaryFactor: 0.5,
    ropeTheta: 10000,
    ropeScaling: null,
    maxPositionEmbeddings: 131072,
    tieWordEmbeddings: false,
    hiddenAct: 'silu',
    initializerRange: 0.02,
    torchDtype: 'float32',
    moeIntermediateSize: 1408,
    nRoutedExperts: 128,
    nSharedExperts: 1,
    numExpertsPerTok: 8,
    firstKDenseReplace: 1,
    nGroup: 1,
    topkGroup: 1,
    normTopkProb: true,
    routedScalingFactor: 1.0,
    useQkNorm: false,
    numNextnPredictLayers: 0,
  };
  if (modelType === 'glm4') {
    return {
      ...common,
      modelType,
      architectures: [HF_ARCHITECTURE.glm4],
      intermediateSize: 13696,
      numHiddenLayers: 40,
      numAttentionHeads: 32,
      numKeyValueHeads: 2,
      rmsNormEps: 1.5625e-7,
      attentionBias: true,
      padTokenId: 151329,
      bosTokenId: null,
      eosTokenId: [151329, 151336, 151338],
    };
  }
  return {
    ...common,
    modelType,
    architectures: [HF_ARCHITECTURE.glm4_moe],
    intermediateSize: 10944,
    numHiddenLayers: 46,
    numAttentionHeads: 96,
    numKeyValueHeads: 8,
    rmsNormEps: 1e-5,
    attentionBias: false,
    padTokenId: null,
    bosTokenId: null,
    eosTokenId: null,
  };
}

function describe(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

function readKey(json: Record<string, unknown>, spec: KeySpec, source: string): unknown {
  const v = json[spec.hf];
  const bad = (expected: string) =>
    new ConfigError(`${source}: key "${spec.hf}": expected ${expected}, found ${describe(v)}; fix the value in config.json`);
  const isId = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  switch (spec.kind) {
    case 'posint':
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad('a positive integer');
      return v;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad('a non-negative integer');
      return v;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('a finite number');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      return v;
    case 'idOrNull':
      if (v !== null && !isId(v)) throw bad('a token id (non-negative integer) or null');
      return v;
    case 'idsOrNull':
      if (v === null || isId(v)) return v;
      if (Array.isArray(v) && v.length > 0 && v.every(isId)) return [...v];
      throw bad('a token id, a non-empty list of token ids, or null');
  }
}

/**
 * Reads an HF config.json body (already parsed) into a GlmConfig. `source` names the file for
 * error messages. Throws ConfigError for an unknown model_type or a value of the wrong type.
 * Accepts both transformers 4.x keys (`rope_theta`, `torch_dtype`) and 5.x ones
 * (`rope_parameters.rope_theta`, `dtype`); the 5.x keys are also kept in `extra`.
 */
export function configFromHf(json: unknown, source: string): GlmConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${source}: expected a JSON object (an HF config.json), found ${describe(json)}`);
  }
  const obj = json as Record<string, unknown>;
  const modelType = obj.model_type;
  if (modelType !== 'glm4' && modelType !== 'glm4_moe') {
    throw new ConfigError(
      `${source}: key "model_type": expected "glm4" or "glm4_moe", found ${describe(modelType)}; glmkit reads GLM-4 and GLM-4.5 checkpoints only`,
    );
  }
  const cfg = { ...defaults(modelType), extra: {} } as GlmConfig & Record<string, unknown>;
  const used = new Set<string>(['model_type', 'architectures']);
  if (obj.architectures !== undefined) {
    const a = obj.architectures;
    if (!Array.isArray(a) || a.length === 0 || !a.every((x) => typeof x === 'string')) {
      throw new ConfigError(`${source}: key "architectures": expected a non-empty list of strings, found ${describe(a)}`);
    }
    cfg.architectures = [...(a as string[])];
  }
  // transformers 5.x moved these; read them there when the 4.x key is absent.
  const view: Record<string, unknown> = { ...obj };
  const rp = obj.rope_parameters;
  if (rp && typeof rp === 'object' && !Array.isArray(rp)) {
    const r = rp as Record<string, unknown>;
    if (view.rope_theta === undefined && r.rope_theta !== undefined) view.rope_theta = r.rope_theta;
    if (view.partial_rotary_factor === undefined && r.partial_rotary_factor !== undefined) {
      view.partial_rotary_factor = r.partial_rotary_factor;
    }
  }
  if (view.torch_dtype === undefined && typeof obj.dtype === 'string') view.torch_dtype = obj.dtype;
  for (const spec of KEYS) {
    if (view[spec.hf] === undefined) continue;
    if (spec.moe && modelType !== 'glm4_moe' && spec.hf !== 'num_nextn_predict_layers') continue;
    (cfg as Record<string, unknown>)[spec.field] = readKey(view, spec, source);
    used.add(spec.hf);
  }
  // HF: head_dim defaults to hidden_size // num_attention_heads.
  if (view.head_dim === undefined) cfg.headDim = Math.floor(cfg.hiddenSize / cfg.numAttentionHeads);
  // Scaled RoPE: 4.x `rope_scaling` (null or absent = plain), else the scaling keys of 5.x `rope_parameters`.
  const rs = obj.rope_scaling;
  if (rs !== undefined && rs !== null) {
    if (typeof rs !== 'object' || Array.isArray(rs)) {
      throw new ConfigError(`${source}: key "rope_scaling": expected null or an object with "rope_type" and "factor", found ${describe(rs)}`);
    }
    // the raw dict stays in `extra` too, so configToHf keeps its spelling ("type" or "rope_type") and extra keys
    cfg.ropeScaling = parseRopeScaling(rs as Record<string, unknown>, `${source}: key "rope_scaling"`);
  } else if (rp && typeof rp === 'object' && !Array.isArray(rp)) {
    cfg.ropeScaling = parseRopeScaling(rp as Record<string, unknown>, `${source}: key "rope_parameters"`);
  }
  for (const [k, v] of Object.entries(obj)) {
    if (!used.has(k)) cfg.extra[k] = v;
  }
  return cfg as GlmConfig;
}

/**
 * Writes a GlmConfig as an HF config.json body (an object; JSON.stringify it). MoE keys appear only
 * for glm4_moe. Keys kept in `extra` come back unchanged, except that a transformers 5.x
 * `rope_parameters` object is kept consistent with ropeTheta / partialRotaryFactor.
 */
export function configToHf(cfg: GlmConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: [...cfg.architectures],
    model_type: cfg.modelType,
  };
  for (const spec of KEYS) {
    if (spec.moe && cfg.modelType !== 'glm4_moe') {
      if (!(spec.hf === 'num_nextn_predict_layers' && cfg.numNextnPredictLayers > 0)) continue;
    }
    const v = cfg[spec.field];
    // A null token id is written only where the model_type's default is not null (else it is implied).
    if (v === null && defaults(cfg.modelType)[spec.field as keyof ReturnType<typeof defaults>] === null) continue;
    out[spec.hf] = Array.isArray(v) ? [...v] : v;
  }
  for (const [k, v] of Object.entries(cfg.extra)) {
    if (k in out) continue;
    out[k] = v;
  }
  const rp = out.rope_parameters;
  const has5x = rp !== null && typeof rp === 'object' && !Array.isArray(rp);
  if (has5x) {
    // 5.x: the scaling lives in rope_parameters (a 4.x rope_scaling beside it is kept in step too).
    const r = writeRopeScaling(cfg.ropeScaling, rp as Record<string, unknown>, 'rope_type');
    if ('rope_theta' in r) r.rope_theta = cfg.ropeTheta;
    if ('partial_rotary_factor' in r) r.partial_rotary_factor = cfg.partialRotaryFactor;
    out.rope_parameters = r;
  }
  if (cfg.ropeScaling) {
    const prev = cfg.extra.rope_scaling;
    const base = prev && typeof prev === 'object' && !Array.isArray(prev) ? (prev as Record<string, unknown>) : {};
    if (!has5x || prev) out.rope_scaling = writeRopeScaling(cfg.ropeScaling, base, 'type' in base && !('rope_type' in base) ? 'type' : 'rope_type');
  } else if (out.rope_scaling !== undefined && out.rope_scaling !== null) {
    out.rope_scaling = null;
  }
  return out;
}

/** rotary_dim = head_dim * partial_rotary_factor: the number of rotating dims per head. */
export function rotaryDim(cfg: GlmConfig): number {
  return Math.round(cfg.headDim * cfg.partialRotaryFactor);
}

/** Whether layer `i` (0-based, MTP layers included) has an MoE MLP. */
export function isMoeLayer(cfg: GlmConfig, i: number): boolean {
  return cfg.modelType === 'glm4_moe' && i >= cfg.firstKDenseReplace;
}

/**
 * Checks that the values fit together; throws ConfigError naming the key, the expected value and the
 * found one. `source` prefixes the message (a file name or a preset name).
 */
export function validateConfig(cfg: GlmConfig, source = 'config'): void {
  const fail = (key: string, expected: string, found: unknown): never => {
    throw new ConfigError(`${source}: key "${key}": expected ${expected}, found ${describe(found)}`);
  };
  const posInt = (key: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) fail(key, 'a positive integer', v);
  };
  posInt('vocab_size', cfg.vocabSize);
  posInt('hidden_size', cfg.hiddenSize);
  posInt('intermediate_size', cfg.intermediateSize);
  posInt('num_hidden_layers', cfg.numHiddenLayers);
  posInt('num_attention_heads', cfg.numAttentionHeads);
  posInt('num_key_value_heads', cfg.numKeyValueHeads);
  posInt('head_dim', cfg.headDim);
  posInt('max_position_embeddings', cfg.maxPositionEmbeddings);
  if (cfg.numAttentionHeads % cfg.numKeyValueHeads !== 0) {
    fail(
      'num_key_value_heads',
      `a divisor of num_attention_heads (${cfg.numAttentionHeads})`,
      cfg.numKeyValueHeads,
    );
  }
  if (!(cfg.partialRotaryFactor > 0 && cfg.partialRotaryFactor <= 1)) {
    fail('partial_rotary_factor', 'a number in (0, 1]', cfg.partialRotaryFactor);
  }
  const rd = cfg.headDim * cfg.partialRotaryFactor;
  if (!Number.isInteger(rd) || rd % 2 !== 0) {
    fail(
      'partial_rotary_factor',
      `head_dim * partial_rotary_factor to be an even integer (head_dim ${cfg.headDim}); rotary dim`,
      rd,
    );
  }
  if (!(cfg.ropeTheta > 0)) fail('rope_theta', 'a positive number', cfg.ropeTheta);
  validateRopeScaling(cfg.ropeScaling ?? null, cfg.maxPositionEmbeddings, fail);
  if (!(cfg.rmsNormEps > 0)) fail('rms_norm_eps', 'a positive number', cfg.rmsNormEps);
  if (!(cfg.initializerRange > 0)) fail('initializer_range', 'a positive number', cfg.initializerRange);
  if (cfg.hiddenAct !== 'silu') fail('hidden_act', '"silu" (GLM uses SwiGLU)', cfg.hiddenAct);
  const ids: [string, number | number[] | null][] = [
    ['pad_token_id', cfg.padTokenId],
    ['bos_token_id', cfg.bosTokenId],
    ['eos_token_id', cfg.eosTokenId],
  ];
  for (const [key, v] of ids) {
    const list = v === null ? [] : Array.isArray(v) ? v : [v];
    for (const id of list) {
      if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) fail(key, `token ids in [0, vocab_size=${cfg.vocabSize})`, v);
    }
  }
  if (cfg.modelType === 'glm4') {
    if (cfg.numNextnPredictLayers !== 0) {
      fail('num_nextn_predict_layers', '0 for model_type "glm4" (MTP is a glm4_moe feature)', cfg.numNextnPredictLayers);
    }
    return;
  }
  posInt('moe_intermediate_size', cfg.moeIntermediateSize);
  posInt('n_routed_experts', cfg.nRoutedExperts);
  posInt('num_experts_per_tok', cfg.numExpertsPerTok);
  posInt('n_group', cfg.nGroup);
  posInt('topk_group', cfg.topkGroup);
  if (!Number.isInteger(cfg.nSharedExperts) || cfg.nSharedExperts < 0) fail('n_shared_experts', 'a non-negative integer', cfg.nSharedExperts);
  if (!Number.isInteger(cfg.numNextnPredictLayers) || cfg.numNextnPredictLayers < 0) {
    fail('num_nextn_predict_layers', 'a non-negative integer', cfg.numNextnPredictLayers);
  }
  if (!Number.isInteger(cfg.firstKDenseReplace) || cfg.firstKDenseReplace < 0 || cfg.firstKDenseReplace > cfg.numHiddenLayers) {
    fail('first_k_dense_replace', `an integer in [0, num_hidden_layers=${cfg.numHiddenLayers}]`, cfg.firstKDenseReplace);
  }
  if (cfg.numExpertsPerTok > cfg.nRoutedExperts) {
    fail('num_experts_per_tok', `at most n_routed_experts (${cfg.nRoutedExperts})`, cfg.numExpertsPerTok);
  }
  if (cfg.nRoutedExperts % cfg.nGroup !== 0) {
    fail('n_routed_experts', `a multiple of n_group (${cfg.nGroup})`, cfg.nRoutedExperts);
  }
  if (cfg.topkGroup > cfg.nGroup) fail('topk_group', `at most n_group (${cfg.nGroup})`, cfg.topkGroup);
  const perGroup = cfg.nRoutedExperts / cfg.nGroup;
  if (cfg.nGroup > 1 && perGroup < 2) {
    fail('n_group', `at most n_routed_experts / 2 (group scores sum the top-2 experts of each group)`, cfg.nGroup);
  }
  if (cfg.numExpertsPerTok > cfg.topkGroup * perGroup) {
    fail(
      'num_experts_per_tok',
      `at most topk_group * n_routed_experts / n_group (${cfg.topkGroup * perGroup} experts in the kept groups)`,
      cfg.numExpertsPerTok,
    );
  }
  if (!(cfg.routedScalingFactor > 0)) fail('routed_scaling_factor', 'a positive number', cfg.routedScalingFactor);
}

/**
 * Number of parameters (elements of all weights) of a model with this config, from the tensor list
 * of names.ts. `mtp` (default true) counts the MTP layers; a tied lm_head is not counted twice.
 */
export function numParameters(cfg: GlmConfig, options: { mtp?: boolean } = {}): number {
  const mtp = options.mtp ?? true;
  let n = 0;
  for (const t of expectedTensors(cfg, { mtp })) {
    if (t.optional) continue;
    n += t.shape.reduce((a, b) => a * b, 1);
  }
  return n;
}

/** The folder that holds the JSON presets (`configs/` at the package root). */
export function presetDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const cand = join(dir, 'configs');
    if (existsSync(join(dir, 'package.json')) && existsSync(cand)) return cand;
    dir = dirname(dir);
  }
  throw new ConfigError('cannot find the configs/ folder of the glmkit package (expected beside package.json)');
}

/** Names of the presets in configs/ whose config.json body has one of `modelTypes` as its model_type, sorted. */
export function presetNamesOfType(modelTypes: readonly string[]): string[] {
  const dir = presetDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .filter((name) => {
      try {
        const j = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as unknown;
        return typeof j === 'object' && j !== null && modelTypes.includes((j as Record<string, unknown>).model_type as string);
      } catch {
        return false;
      }
    })
    .sort();
}

/** Names of the model presets in configs/ (files that are HF config.json bodies of GLM-4 or GLM-4.5). */
export function presetNames(): string[] {
  return presetNamesOfType(['glm4', 'glm4_moe']);
}

/** Loads and validates the model preset `configs/<name>.json`. */
export function loadPreset(name: string): GlmConfig {
  const dir = presetDir();
  const file = join(dir, `${name}.json`);
  if (!/^[a-z0-9][a-z0-9-]*$/i.test(name) || !existsSync(file)) {
    throw new ConfigError(`unknown model preset "${name}": expected one of ${presetNames().join(', ')}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const cfg = configFromHf(json, file);
  validateConfig(cfg, file);
  return cfg;
}

/** The parsed body of an HF config.json file, or one ConfigError naming it. */
export function readConfigJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: cannot read an HF config.json (${(e as Error).message})`);
  }
}

/** Reads and validates an HF config.json file. */
export function readConfigFile(file: string): GlmConfig {
  const cfg = configFromHf(readConfigJson(file), file);
  validateConfig(cfg, file);
  return cfg;
}
