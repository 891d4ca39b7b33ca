/**
 * `glmkit export gguf --model DIR --out FILE.gguf [--dtype f32|f16|bf16] [--tokenizer DIR] [--no-mtp]`:
 * an HF GLM model folder -> one GGUF v3 file that llama.cpp (and Ollama) run, architecture `glm4`
 * (GLM-4, dense) or `glm4moe` (GLM-4.5, MoE), with the tokenizer's vocabulary, merges, special ids
 * and chat template. The tensor layout is `src/models/glm/gguf-export.ts`'s; this file only gathers
 * the inputs and turns every bad one into an error naming it.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CheckpointError, UsageError } from '../errors.js';
import { openSafetensorsCheckpoint } from '../io/safetensors.js';
import { readConfigFile, type GlmConfig } from '../models/glm/config.js';
import { TokenType, exportGlmGguf, ggufArch, type GgufFileType, type GgufTokenizer } from '../models/glm/gguf-export.js';
import { GLM_CHAT_TEMPLATE } from '../tokenizer/chat-template.js';
import { GLM4_SPLIT_PATTERN, GPT2_SPLIT_PATTERN } from '../tokenizer/pretokenize.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { choice, commandHelp, field, parseCommand } from './args.js';
import { inputDir, outputFile } from './paths.js';

const spec = {
  name: 'export gguf',
  usage: 'glmkit export gguf --model DIR --out FILE.gguf [--dtype f32|f16|bf16] [--tokenizer DIR] [--no-mtp] [--name NAME] [--overwrite]',
  description:
    'Writes a GGUF v3 file for llama.cpp / Ollama from a Hugging Face GLM folder (config.json +\nmodel.safetensors or shards; f32, bf16 or f16 weights): architecture glm4 (model_type glm4) or\nglm4moe (model_type glm4_moe), with the tokenizer\'s vocabulary, merges and chat template.',
  schema: {
    model: field('path', '', 'the model folder (a causal LM: *ForCausalLM)', { required: true, placeholder: 'dir' }),
    out: field('path', '', 'the GGUF file to write (its folder is created; an existing file is refused unless --overwrite)', { required: true, placeholder: 'file' }),
    dtype: choice(['f32', 'f16', 'bf16'], 'f32', 'f16 / bf16 store the matrices as F16 / BF16; norms, biases and the MoE router stay F32'),
    tokenizer: field<string | null>('path', null, 'folder holding tokenizer.json (default: the model folder); llama.cpp needs the vocabulary', { nullable: true, placeholder: 'dir' }),
    mtp: field('boolean', true, "export GLM-4.5's MTP layers when stored (--no-mtp leaves them out; llama.cpp does not use them to generate)"),
    name: field<string | null>('string', null, 'general.name in the file (default glmkit-<model_type>)', { nullable: true }),
    overwrite: field('boolean', false, 'replace an existing --out file'),
  },
};

/** llama.cpp's `tokenizer.ggml.pre` for a tokenizer's pre-tokenizer, or a CheckpointError. */
export function ggufPreTokenizer(tok: Tokenizer, where: string): string {
  const p = tok.spec.preTokenizer;
  if (!p.byteLevel || p.addPrefixSpace) {
    throw new CheckpointError(`${where}: GGUF export needs a byte-level BPE tokenizer without add_prefix_space (as GLM's); this one has byteLevel ${p.byteLevel}, add_prefix_space ${p.addPrefixSpace}`);
  }
  const pats = p.patterns.join('\n');
  if (pats === GLM4_SPLIT_PATTERN) return 'glm4';
  // GLM-4's pattern with single digits (glmkit pipeline's default) is llama.cpp's "qwen2" pattern.
  if (pats === GLM4_SPLIT_PATTERN.replace('\\p{N}{1,3}', '\\p{N}')) return 'qwen2';
  if (pats === GPT2_SPLIT_PATTERN) return 'gpt-2';
  throw new CheckpointError(
    `${where}: the pre-tokenizer pattern ${JSON.stringify(p.patterns)} has no llama.cpp equivalent glmkit knows; expected GLM-4's Split pattern (tokenizer.ggml.pre "glm4"), its single-digit variant ("qwen2") or GPT-2's ("gpt-2")`,
  );
}

/**
 * The GGUF tokenizer of a glmkit Tokenizer: tokens by id (ids the tokenizer skips become unused
 * placeholders), special added tokens CONTROL, other added tokens USER_DEFINED, merges in rank
 * order, the chat template of tokenizer_config.json (glmkit's GLM template when it has none).
 */
export function ggufTokenizerOf(tok: Tokenizer, where: string): GgufTokenizer {
  const added = new Map(tok.addedTokens.map((t) => [t.id, t]));
  const tokens: string[] = [];
  const tokenTypes: number[] = [];
  for (let id = 0; id < tok.vocabSize; id++) {
    const s = tok.idToToken(id);
    const a = added.get(id);
    if (s === undefined) {
      tokens.push(`[PAD${id}]`);
      tokenTypes.push(TokenType.UNUSED);
    } else {
      tokens.push(s);
      tokenTypes.push(a ? (a.special ? TokenType.CONTROL : TokenType.USER_DEFINED) : TokenType.NORMAL);
    }
  }
  return {
    tokens,
    tokenTypes,
    merges: tok.spec.merges.map(([l, r]) => `${l} ${r}`),
    chatTemplate: tok.config.chatTemplate ?? GLM_CHAT_TEMPLATE,
    pre: ggufPreTokenizer(tok, where),
  };
}

function requireFolder(flag: string, dir: string): void {
  if (!existsSync(dir)) throw new CheckpointError(`${flag} ${dir}: no such folder; expected a Hugging Face model folder (config.json + model.safetensors)`);
  if (!statSync(dir).isDirectory()) throw new CheckpointError(`${flag} ${dir}: is a file; expected a folder (config.json + model.safetensors)`);
}

/** Reads the model folder's config and checks it is a GLM causal LM. */
function readCausalConfig(modelDir: string): GlmConfig {
  const configPath = join(modelDir, 'config.json');
  if (!existsSync(configPath)) throw new CheckpointError(`${modelDir}: no config.json; expected a Hugging Face model folder (config.json + model.safetensors)`);
  const cfg = readConfigFile(configPath);
  const cls = cfg.architectures.find((a) => a.endsWith('ForSequenceClassification'));
  if (cls) {
    throw new CheckpointError(`${modelDir}: architectures ${JSON.stringify(cfg.architectures)} is a sequence classifier (no lm_head); GGUF export needs a causal LM (Glm4ForCausalLM or Glm4MoeForCausalLM)`);
  }
  return cfg;
}

export interface ExportGgufResult {
  out: string;
  arch: 'glm4' | 'glm4moe';
  fileType: GgufFileType;
  tensors: number;
  bytes: number;
  mtp: boolean;
  /** Things llama.cpp may compute differently from glmkit for this model (empty when none). */
  warnings: string[];
}

/**
 * Group-limited routing (n_group > 1): glmkit, like HF transformers, gives the experts of dropped
 * groups a selection score of 0; llama.cpp gives them -inf. The two select the same experts whenever
 * every biased score sigmoid(logit) + bias is positive, which a non-negative bias guarantees. A
 * negative bias can make them differ, so it is reported.
 */
function routingWarnings(cfg: GlmConfig, tensors: ReadonlyMap<string, { read(): Float32Array }>): string[] {
  if (cfg.modelType !== 'glm4_moe' || cfg.nGroup <= 1) return [];
  let min = Infinity;
  for (const [name, t] of tensors) if (name.endsWith('mlp.gate.e_score_correction_bias')) for (const b of t.read()) min = Math.min(min, b);
  if (min >= 0) return [];
  return [
    `n_group ${cfg.nGroup} with a negative e_score_correction_bias (min ${min.toPrecision(3)}): llama.cpp masks the experts of dropped groups with -inf where glmkit and HF use 0, so tokens whose biased scores are negative may be routed differently in llama.cpp`,
  ];
}

/** Exports `modelDir` to `out` (see HELP). */
export function exportGguf(modelDir: string, out: string, opts: { fileType?: GgufFileType; tokenizerDir?: string; mtp?: boolean; name?: string } = {}): ExportGgufResult {
  requireFolder('--model', modelDir);
  const cfg = readCausalConfig(modelDir);
  const tokDir = opts.tokenizerDir ?? modelDir;
  if (opts.tokenizerDir !== undefined) requireFolder('--tokenizer', tokDir);
  if (!existsSync(join(tokDir, 'tokenizer.json'))) {
    throw new CheckpointError(
      `${tokDir}: no tokenizer.json; llama.cpp needs the model's vocabulary: copy tokenizer.json (and tokenizer_config.json) into the folder, or pass --tokenizer DIR`,
    );
  }
  const tok = loadTokenizer(tokDir);
  if (tok.vocabSize > cfg.vocabSize) {
    throw new CheckpointError(`${tokDir}: the tokenizer has ${tok.vocabSize} ids but ${modelDir}/config.json has vocab_size ${cfg.vocabSize}; expected a tokenizer that fits the model`);
  }
  const gtok = ggufTokenizerOf(tok, join(tokDir, 'tokenizer.json'));
  const fileType = opts.fileType ?? 'f32';
  mkdirSync(dirname(resolve(out)), { recursive: true });
  const ck = openSafetensorsCheckpoint(modelDir);
  try {
    // GLM-4.5 MTP layers are exported when the checkpoint has them (and --no-mtp is not given).
    const stored = cfg.modelType === 'glm4_moe' && cfg.numNextnPredictLayers > 0 && [...ck.tensors.keys()].some((n) => n.startsWith(`model.layers.${cfg.numHiddenLayers}.`));
    const mtp = stored && (opts.mtp ?? true);
    const plan = exportGlmGguf(out, cfg, ck.tensors, gtok, {
      fileType,
      mtp,
      name: opts.name,
      source: modelDir,
    });
    return { out, arch: ggufArch(cfg), fileType, tensors: plan.length, bytes: statSync(out).size, mtp, warnings: routingWarnings(cfg, ck.tensors) };
  } finally {
    ck.close();
  }
}

export async function exportCommand(argv: string[]): Promise<number> {
  const [format, ...rest] = argv;
  if (format === '--help' || format === '-h') {
    console.log(commandHelp(spec));
    return 0;
  }
  if (format !== 'gguf') throw new UsageError(`export: expected the format 'gguf', got ${format === undefined ? 'nothing' : `'${format}'`} (glmkit export gguf --model DIR --out FILE.gguf)`);
  const parsed = parseCommand(spec, rest);
  if (!parsed) return 0;
  const v = parsed.values;
  inputDir('export gguf', '--model', v.model, 'a Hugging Face model folder (config.json + model.safetensors)');
  if (v.tokenizer !== null) inputDir('export gguf', '--tokenizer', v.tokenizer, 'a folder with tokenizer.json');
  outputFile('export gguf', '--out', v.out, v.overwrite, 'a .gguf file');
  const r = exportGguf(v.model, v.out, { fileType: v.dtype, tokenizerDir: v.tokenizer ?? undefined, mtp: v.mtp, name: v.name ?? undefined });
  for (const w of r.warnings) console.error(`glmkit: warning: ${w}`);
  console.log(JSON.stringify(r));
  return 0;
}
