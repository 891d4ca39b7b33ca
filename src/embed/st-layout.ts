/**
 * Encoder folders in sentence-transformers' layout: the Hugging Face model files (config.json,
 * model.safetensors, tokenizer files) at the root, plus
 *   modules.json                 the module pipeline: Transformer (path ""), Pooling ("1_Pooling"),
 *                                and Normalize ("2_Normalize") when the vectors are normalised
 *   sentence_bert_config.json    {max_seq_length, do_lower_case}
 *   1_Pooling/config.json        word_embedding_dimension and one pooling_mode_* flag set
 *   2_Normalize/                 an empty folder (the module has no parameters)
 *   config_sentence_transformers.json   similarity_fn_name "cosine"
 * glmkit's own setting (bidirectional attention) sits in glmkit_encoder.json, which that library
 * ignores. Reading goes the same way the library does: modules.json first, each module's folder
 * from its `path`.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { loadCausalLM, saveModel } from '../models/glm/checkpoint.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import { loadTokenizer, saveTokenizer } from '../tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../tokenizer/special-tokens.js';
import { SentenceEncoder, type EncoderConfig, type PoolingMode } from './encoder.js';

export const ST_TRANSFORMER = 'sentence_transformers.models.Transformer';
export const ST_POOLING = 'sentence_transformers.models.Pooling';
export const ST_NORMALIZE = 'sentence_transformers.models.Normalize';

export interface StModule {
  idx: number;
  name: string;
  path: string;
  type: string;
}

const POOLING_FLAGS = ['pooling_mode_cls_token', 'pooling_mode_mean_tokens', 'pooling_mode_max_tokens', 'pooling_mode_mean_sqrt_len_tokens', 'pooling_mode_weightedmean_tokens', 'pooling_mode_lasttoken'] as const;

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

/** The sentence-transformers files (not the model) of an encoder with hidden size `dim`. */
export function writeStFiles(dir: string, cfg: EncoderConfig, dim: number): void {
  mkdirSync(join(dir, '1_Pooling'), { recursive: true });
  const modules: StModule[] = [
    { idx: 0, name: '0', path: '', type: ST_TRANSFORMER },
    { idx: 1, name: '1', path: '1_Pooling', type: ST_POOLING },
  ];
  if (cfg.normalize) {
    modules.push({ idx: 2, name: '2', path: '2_Normalize', type: ST_NORMALIZE });
    mkdirSync(join(dir, '2_Normalize'), { recursive: true });
  }
  writeJson(join(dir, 'modules.json'), modules);
  writeJson(join(dir, 'sentence_bert_config.json'), { max_seq_length: cfg.maxSeqLength, do_lower_case: false });
  const pooling: Record<string, unknown> = { word_embedding_dimension: dim };
  for (const f of POOLING_FLAGS) pooling[f] = (f === 'pooling_mode_mean_tokens' && cfg.pooling === 'mean') || (f === 'pooling_mode_lasttoken' && cfg.pooling === 'lasttoken');
  pooling.include_prompt = true;
  writeJson(join(dir, '1_Pooling', 'config.json'), pooling);
  writeJson(join(dir, 'config_sentence_transformers.json'), { prompts: {}, default_prompt_name: null, similarity_fn_name: 'cosine' });
  writeJson(join(dir, 'glmkit_encoder.json'), { bidirectional: cfg.bidirectional });
}

/** Writes a whole encoder folder: model, tokenizer and the sentence-transformers files. */
export function saveEncoder(dir: string, enc: SentenceEncoder): void {
  saveModel(dir, enc.lm);
  saveTokenizer(enc.tokenizer, dir);
  writeStFiles(dir, enc.config, enc.dimension);
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${path}: cannot read ${what}: ${(e as Error).message}`);
  }
}

/**
 * Reads an encoder folder's configuration as sentence-transformers does: modules.json names the
 * modules; the Pooling module's config.json gives the mode; a Normalize module means normalised.
 * A folder without modules.json or without a Pooling module is a CheckpointError saying how to make one.
 */
export function readEncoderConfig(dir: string): EncoderConfig {
  const modPath = join(dir, 'modules.json');
  if (!existsSync(modPath)) {
    throw new CheckpointError(`${dir}: no modules.json, so no pooling config; expected a sentence encoder folder (made by \`glmkit embed train\`), not a plain model folder`);
  }
  const modules = readJson(modPath, 'the module list') as StModule[];
  if (!Array.isArray(modules)) throw new CheckpointError(`${modPath}: expected a JSON array of modules, got ${typeof modules}`);
  const poolMod = modules.find((m) => m?.type === ST_POOLING);
  if (!poolMod) throw new CheckpointError(`${modPath}: no ${ST_POOLING} module, so no pooling config; expected one (e.g. {"path": "1_Pooling", "type": "${ST_POOLING}"})`);
  const poolPath = join(dir, poolMod.path, 'config.json');
  if (!existsSync(poolPath)) throw new CheckpointError(`${poolPath}: missing; the Pooling module of ${modPath} needs its config.json (pooling_mode_mean_tokens or pooling_mode_lasttoken)`);
  const pc = readJson(poolPath, 'the pooling config') as Record<string, unknown>;
  const set = POOLING_FLAGS.filter((f) => pc[f] === true);
  let pooling: PoolingMode;
  if (set.length === 1 && set[0] === 'pooling_mode_mean_tokens') pooling = 'mean';
  else if (set.length === 1 && set[0] === 'pooling_mode_lasttoken') pooling = 'lasttoken';
  else throw new CheckpointError(`${poolPath}: pooling modes ${JSON.stringify(set)}; glmkit supports exactly one of pooling_mode_mean_tokens or pooling_mode_lasttoken`);
  const stPath = join(dir, 'sentence_bert_config.json');
  const st = existsSync(stPath) ? (readJson(stPath, 'the sentence_bert config') as { max_seq_length?: unknown }) : {};
  const maxSeqLength = typeof st.max_seq_length === 'number' && st.max_seq_length > 0 ? st.max_seq_length : 512;
  const gPath = join(dir, 'glmkit_encoder.json');
  const g = existsSync(gPath) ? (readJson(gPath, 'the glmkit encoder settings') as { bidirectional?: unknown }) : {};
  const normalize = modules.some((m) => m?.type === ST_NORMALIZE);
  return { pooling, normalize, bidirectional: g.bidirectional === true, maxSeqLength };
}

/** The Pooling module's folder (relative), from modules.json (after readEncoderConfig checked it). */
function readPoolingPath(dir: string): string {
  return (readJson(join(dir, 'modules.json'), 'the module list') as StModule[]).find((m) => m.type === ST_POOLING)!.path;
}

/** Whether a folder holds a sentence encoder (modules.json). */
export function isEncoderFolder(dir: string): boolean {
  return existsSync(join(dir, 'modules.json')) && statSync(dir).isDirectory();
}

/** The padding id of a tokenizer (EOS, as the trainers pad). */
export function padIdOf(tok: Tokenizer): number {
  return tok.requireId(EOS_TOKEN);
}

/** Loads an encoder folder (model, tokenizer, sentence-transformers config). */
export function loadEncoder(dir: string): SentenceEncoder {
  const cfg = readEncoderConfig(dir);
  const tok = loadTokenizer(dir);
  const lm: GlmForCausalLM = loadCausalLM(dir);
  const pc = readJson(join(dir, readPoolingPath(dir), 'config.json'), 'the pooling config') as { word_embedding_dimension?: unknown };
  if (pc.word_embedding_dimension !== lm.config.hiddenSize) {
    throw new CheckpointError(`${dir}: the pooling config says word_embedding_dimension ${String(pc.word_embedding_dimension)}, the model's hidden_size is ${lm.config.hiddenSize}; they must agree`);
  }
  return new SentenceEncoder(lm, tok, cfg, padIdOf(tok), dir);
}
