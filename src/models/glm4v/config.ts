/**
 * Glm4vConfig: the GLM-4.1V vision-language model (HF `Glm4vConfig`, model_type "glm4v"): a vision
 * tower (`vision_config`), a GLM-4 dense text model (`text_config`, or the text keys at the top level
 * as in the released checkpoint's flat config.json) with 3-D M-RoPE sections, and the image/video
 * token ids. docs/vision.md.
 *
 * - `glm4vConfigFromHf(json, source)` reads either layout (transformers 4.x `rope_scaling` or 5.x
 *   `rope_parameters`); `glm4vConfigToHf` writes the nested layout with 4.x keys.
 * - Missing keys take the defaults of transformers' Glm4vConfig / Glm4vTextConfig / Glm4vVisionConfig.
 * - The text part is a GlmConfig of model_type "glm4" (the same decoder as GLM-4), so the GLM code runs it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { configFromHf, configToHf, presetDir, presetNamesOfType, readConfigJson, validateConfig, type GlmConfig } from '../glm/config.js';

export interface Glm4vVisionConfig {
  depth: number;
  hiddenSize: number;
  numHeads: number;
  hiddenAct: string;
  attentionBias: boolean;
  inChannels: number;
  /** the learned position table is (imageSize / patchSize)^2 rows */
  imageSize: number;
  patchSize: number;
  temporalPatchSize: number;
  spatialMergeSize: number;
  /** the text model's width; also the ViT MLP's intermediate width (as HF) */
  outHiddenSize: number;
  /** the merger's SwiGLU width */
  intermediateSize: number;
  rmsNormEps: number;
  initializerRange: number;
  /** HF keys glmkit does not use, kept for the round trip */
  extra: Record<string, unknown>;
}

export interface Glm4vConfig {
  architectures: string[];
  text: GlmConfig;
  vision: Glm4vVisionConfig;
  /** M-RoPE sections (temporal, height, width) in rotary pairs; they sum to rotary_dim / 2 */
  mropeSection: [number, number, number];
  imageTokenId: number;
  videoTokenId: number;
  imageStartTokenId: number;
  imageEndTokenId: number;
  videoStartTokenId: number;
  videoEndTokenId: number;
  /** top-level HF keys glmkit does not use */
  extra: Record<string, unknown>;
}

export const GLM4V_ARCHITECTURE = 'Glm4vForConditionalGeneration';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** HF names of the vision keys, their glmkit fields, kinds and transformers defaults. */
const VISION_KEYS: [string, keyof Glm4vVisionConfig, 'posint' | 'number' | 'bool' | 'string', unknown][] = [
  ['depth', 'depth', 'posint', 24],
  ['hidden_size', 'hiddenSize', 'posint', 1536],
  ['num_heads', 'numHeads', 'posint', 12],
  ['hidden_act', 'hiddenAct', 'string', 'silu'],
  ['attention_bias', 'attentionBias', 'bool', false],
  ['in_channels', 'inChannels', 'posint', 3],
  ['image_size', 'imageSize', 'posint', 336],
  ['patch_size', 'patchSize', 'posint', 14],
  ['temporal_patch_size', 'temporalPatchSize', 'posint', 2],
  ['spatial_merge_size', 'spatialMergeSize', 'posint', 2],
  ['out_hidden_size', 'outHiddenSize', 'posint', 4096],
  ['intermediate_size', 'intermediateSize', 'posint', 13696],
  ['rms_norm_eps', 'rmsNormEps', 'number', 1e-5],
  ['initializer_range', 'initializerRange', 'number', 0.02],
];

const TOKEN_KEYS: [string, keyof Glm4vConfig, number][] = [
  ['image_token_id', 'imageTokenId', 151343],
  ['video_token_id', 'videoTokenId', 151344],
  ['image_start_token_id', 'imageStartTokenId', 151339],
  ['image_end_token_id', 'imageEndTokenId', 151340],
  ['video_start_token_id', 'videoStartTokenId', 151341],
  ['video_end_token_id', 'videoEndTokenId', 151342],
];

/** Glm4vTextConfig defaults where they differ from Glm4Config's (configuration_glm4v.py). */
const TEXT_DEFAULTS: Obj = {
  vocab_size: 151552,
  hidden_size: 4096,
  intermediate_size: 13696,
  num_hidden_layers: 40,
  num_attention_heads: 32,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 32768,
  partial_rotary_factor: 0.5,
  tie_word_embeddings: false,
  attention_bias: true,
  pad_token_id: null,
  eos_token_id: null,
};

/** Top-level keys that are not text keys in a flat config.json. */
const TOP_KEYS = new Set(['architectures', 'model_type', 'vision_config', 'text_config', 'transformers_version', ...TOKEN_KEYS.map((k) => k[0])]);

function readVision(v: unknown, source: string): Glm4vVisionConfig {
  const obj: Obj = v === undefined ? {} : isObj(v) ? v : {};
  if (v !== undefined && !isObj(v)) throw new ConfigError(`${source}: key "vision_config": expected an object, found ${describe(v)}`);
  const out = { extra: {} } as unknown as Glm4vVisionConfig & Obj;
  const used = new Set<string>();
  for (const [hf, field, kind, def] of VISION_KEYS) {
    const val = obj[hf] === undefined ? def : obj[hf];
    used.add(hf);
    const bad = (what: string) => new ConfigError(`${source}: key "vision_config.${hf}": expected ${what}, found ${describe(val)}; fix the value in config.json`);
    if (kind === 'posint' && !(typeof val === 'number' && Number.isInteger(val) && val > 0)) throw bad('a positive integer');
    if (kind === 'number' && !(typeof val === 'number' && Number.isFinite(val))) throw bad('a finite number');
    if (kind === 'bool' && typeof val !== 'boolean') throw bad('true or false');
    if (kind === 'string' && typeof val !== 'string') throw bad('a string');
    (out as Obj)[field] = val;
  }
  for (const [k, val] of Object.entries(obj)) if (!used.has(k) && k !== 'model_type') out.extra[k] = val;
  return out;
}

function readMropeSection(text: Obj, source: string): [number, number, number] {
  const rs = text.rope_scaling, rp = text.rope_parameters;
  const sec = (isObj(rs) ? rs.mrope_section : undefined) ?? (isObj(rp) ? rp.mrope_section : undefined);
  if (!Array.isArray(sec) || sec.length !== 3 || !sec.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
    throw new ConfigError(`${source}: key "rope_scaling.mrope_section": expected three non-negative integers (temporal, height, width), found ${describe(sec)}`);
  }
  return sec as [number, number, number];
}

/**
 * Reads an HF glm4v config.json body: nested (`text_config`) or flat (text keys at the top level).
 * Throws ConfigError naming the key for a wrong model_type or value.
 */
export function glm4vConfigFromHf(json: unknown, source: string): Glm4vConfig {
  if (!isObj(json)) throw new ConfigError(`${source}: expected a JSON object (an HF config.json), found ${describe(json)}`);
  if (json.model_type !== 'glm4v') {
    throw new ConfigError(`${source}: key "model_type": expected "glm4v" (a GLM-4.1V vision-language checkpoint), found ${describe(json.model_type)}`);
  }
  let textObj: Obj;
  if (json.text_config !== undefined) {
    if (!isObj(json.text_config)) throw new ConfigError(`${source}: key "text_config": expected an object, found ${describe(json.text_config)}`);
    textObj = { ...json.text_config };
  } else {
    textObj = Object.fromEntries(Object.entries(json).filter(([k]) => !TOP_KEYS.has(k)));
  }
  const mropeSection = readMropeSection(textObj, source);
  const textModelType = textObj.model_type;
  const glmBody: Obj = { ...TEXT_DEFAULTS, ...textObj, model_type: 'glm4' };
  delete glmBody.rope_scaling;
  if (isObj(glmBody.rope_parameters)) {
    const r = { ...glmBody.rope_parameters };
    delete r.mrope_section;
    glmBody.rope_parameters = r;
  }
  // Glm4vTextAttention hard-codes q/k/v bias; head_dim is always hidden_size / num_attention_heads.
  glmBody.attention_bias = true;
  delete glmBody.head_dim;
  const text = configFromHf(glmBody, `${source} (text_config)`);
  text.architectures = [GLM4V_ARCHITECTURE];
  text.extra = { ...text.extra };
  if (textModelType !== undefined) text.extra.model_type_text = textModelType;
  const vision = readVision(json.vision_config, source);
  const cfg: Glm4vConfig = {
    architectures: Array.isArray(json.architectures) ? (json.architectures as string[]) : [GLM4V_ARCHITECTURE],
    text,
    vision,
    mropeSection,
    imageTokenId: 0, videoTokenId: 0, imageStartTokenId: 0, imageEndTokenId: 0, videoStartTokenId: 0, videoEndTokenId: 0,
    extra: {},
  };
  for (const [hf, field, def] of TOKEN_KEYS) {
    const v = json[hf] === undefined ? def : json[hf];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0)) throw new ConfigError(`${source}: key "${hf}": expected a token id, found ${describe(v)}`);
    (cfg as unknown as Obj)[field] = v;
  }
  if (json.text_config !== undefined) {
    for (const [k, v] of Object.entries(json)) if (!TOP_KEYS.has(k) && k !== 'tie_word_embeddings') cfg.extra[k] = v;
    if (typeof json.tie_word_embeddings === 'boolean') cfg.text.tieWordEmbeddings = json.tie_word_embeddings;
  }
  return cfg;
}

/** Writes the nested HF layout (what transformers' save_pretrained writes); an object, JSON.stringify it. */
export function glm4vConfigToHf(cfg: Glm4vConfig): Obj {
  const text = configToHf(cfg.text);
  delete text.architectures;
  delete text.head_dim;
  const tmt = cfg.text.extra.model_type_text;
  delete text.model_type_text;
  text.model_type = typeof tmt === 'string' ? tmt : 'glm4v_text';
  text.rope_scaling = { type: 'default', mrope_section: [...cfg.mropeSection] };
  if (isObj(text.rope_parameters)) text.rope_parameters = { ...text.rope_parameters, mrope_section: [...cfg.mropeSection] };
  const vision: Obj = { model_type: 'glm4v_vision' };
  for (const [hf, field] of VISION_KEYS) vision[hf] = cfg.vision[field];
  Object.assign(vision, cfg.vision.extra);
  const out: Obj = { architectures: [...cfg.architectures], model_type: 'glm4v' };
  for (const [hf, field] of TOKEN_KEYS) out[hf] = cfg[field];
  out.tie_word_embeddings = cfg.text.tieWordEmbeddings;
  out.torch_dtype = cfg.text.torchDtype;
  Object.assign(out, cfg.extra);
  out.text_config = text;
  out.vision_config = vision;
  return out;
}

/** Consistency checks; ConfigError naming the key, expected and found. */
export function validateGlm4vConfig(cfg: Glm4vConfig, source = 'config'): void {
  validateConfig(cfg.text, `${source} (text_config)`);
  const fail = (key: string, expected: string, found: unknown): never => {
    throw new ConfigError(`${source}: key "${key}": expected ${expected}, found ${describe(found)}`);
  };
  const t = cfg.text, v = cfg.vision;
  if (t.headDim * t.numAttentionHeads !== t.hiddenSize) fail('text_config.hidden_size', `a multiple of num_attention_heads (${t.numAttentionHeads})`, t.hiddenSize);
  const pairs = Math.round(t.headDim * t.partialRotaryFactor) / 2;
  const sum = cfg.mropeSection[0] + cfg.mropeSection[1] + cfg.mropeSection[2];
  if (sum !== pairs) fail('rope_scaling.mrope_section', `sections summing to rotary_dim / 2 = ${pairs}`, cfg.mropeSection);
  if (v.hiddenSize % v.numHeads !== 0) fail('vision_config.hidden_size', `a multiple of num_heads (${v.numHeads})`, v.hiddenSize);
  if ((v.hiddenSize / v.numHeads) % 4 !== 0) fail('vision_config.num_heads', 'a head dim divisible by 4 (2-D rotary over halves)', v.numHeads);
  if (v.outHiddenSize !== t.hiddenSize) fail('vision_config.out_hidden_size', `the text hidden_size (${t.hiddenSize})`, v.outHiddenSize);
  if (v.imageSize % v.patchSize !== 0) fail('vision_config.image_size', `a multiple of patch_size (${v.patchSize})`, v.imageSize);
  if (v.hiddenAct !== 'silu') fail('vision_config.hidden_act', '"silu"', v.hiddenAct);
  if (v.temporalPatchSize < 1) fail('vision_config.temporal_patch_size', 'at least 1', v.temporalPatchSize);
  for (const [hf, field] of TOKEN_KEYS) {
    const id = cfg[field] as number;
    if (id >= t.vocabSize) fail(hf, `a token id below vocab_size (${t.vocabSize})`, id);
  }
}

/** Reads and validates a glm4v config.json file. */
export function readGlm4vConfigFile(file: string): Glm4vConfig {
  const cfg = glm4vConfigFromHf(readConfigJson(file), file);
  validateGlm4vConfig(cfg, file);
  return cfg;
}

/** Whether a parsed config.json body is a glm4v one. */
export function isGlm4vConfigJson(json: unknown): boolean {
  return isObj(json) && json.model_type === 'glm4v';
}

/** Names of the vision-language presets in configs/ (config.json bodies with model_type "glm4v"). */
export function vlPresetNames(): string[] {
  return presetNamesOfType(['glm4v']);
}

/** Loads and validates the vision-language preset `configs/<name>.json` (e.g. tiny-vl, small-vl). */
export function loadVlPreset(name: string): Glm4vConfig {
  const file = join(presetDir(), `${name}.json`);
  if (!/^[a-z0-9][a-z0-9-]*$/i.test(name) || !existsSync(file) || !vlPresetNames().includes(name)) {
    throw new ConfigError(`unknown vision-language preset "${name}": expected one of ${vlPresetNames().join(', ')}`);
  }
  return readGlm4vConfigFile(file);
}

/** Position-table side (image_size / patch_size). */
export function positionGridSide(v: Glm4vVisionConfig): number {
  return v.imageSize / v.patchSize;
}
