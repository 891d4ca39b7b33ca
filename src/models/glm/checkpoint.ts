/**
 * GLM checkpoints as Hugging Face model folders: config.json, generation_config.json and
 * model.safetensors (or shards with model.safetensors.index.json). A folder holding only
 * config.json + safetensors is enough to run the model; tokenizer files sit beside them.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../../errors.js';
import { noGrad } from '../../tensor/autograd.js';
import { fromHalf } from '../../io/half.js';
import { openSafetensorsCheckpoint, writeShardedSafetensors, type TensorToWrite } from '../../io/safetensors.js';
import { configToHf, HF_ARCHITECTURE, readConfigFile, type GlmConfig } from './config.js';
import { checkTensors } from './names.js';
import { GlmForCausalLM, GlmForSequenceClassification } from './model.js';

export type GlmModelKind = GlmForCausalLM | GlmForSequenceClassification;

const SEQ_CLS: Record<string, string> = { glm4: 'Glm4ForSequenceClassification', glm4_moe: 'Glm4MoeForSequenceClassification' };

/** How a loaded model keeps its weights in memory: f32, or bf16 for inference (half the memory). */
export type WeightDtype = 'f32' | 'bf16';

/**
 * Stores the matrices of a model (projections, experts, embeddings, heads) as bf16, or back as f32.
 * Norm weights, biases and the MoE router (`mlp.gate.weight`, whose top-k choice should not move by
 * rounding) stay f32. A bf16 model is for inference and frozen roles (reference, reward model):
 * its matrices take no gradient. Returns the number of tensors converted.
 */
export function castWeights(model: GlmModelKind, dtype: WeightDtype): number {
  return model.castParameters(dtype, (name, t) => t.ndim === 2 && !name.endsWith('mlp.gate.weight'));
}

export interface SaveOptions {
  /** storage dtype of float tensors (default F32, or BF16 when the model holds bf16 weights) */
  dtype?: 'F32' | 'BF16' | 'F16';
  /** shard size in bytes (default: one file) */
  maxShardBytes?: number;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

/** Writes config.json, generation_config.json and the weights of `model` into `dir`. */
export function saveModel(dir: string, model: GlmModelKind, opts: SaveOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  const cfg = model.config;
  const hf = configToHf(cfg);
  if (model instanceof GlmForSequenceClassification) {
    hf.architectures = [SEQ_CLS[cfg.modelType]];
    hf.id2label = Object.fromEntries(Array.from({ length: model.numLabels }, (_, i) => [String(i), `LABEL_${i}`]));
    hf.label2id = Object.fromEntries(Array.from({ length: model.numLabels }, (_, i) => [`LABEL_${i}`, i]));
  } else {
    hf.architectures = [HF_ARCHITECTURE[cfg.modelType]];
  }
  // Default: F32, or, for a model holding bf16 matrices, each tensor in the dtype it has in memory
  // (the f32 ones, e.g. the router, are not rounded on the way out).
  const mixed = opts.dtype === undefined && [...model.stateDict().values()].some((t) => t.dtype === 'bf16');
  const dtype = opts.dtype ?? (mixed ? 'BF16' : 'F32');
  hf.torch_dtype = dtype === 'BF16' ? 'bfloat16' : dtype === 'F16' ? 'float16' : 'float32';
  const tensors: TensorToWrite[] = [];
  for (const [name, t] of model.stateDict()) {
    const data = t.data instanceof Float32Array ? t.data : t.dtype === 'bf16' ? fromHalf(t.data as Uint16Array, 'bf16') : Float32Array.from(t.data);
    // Norms, biases and the router's selection bias stay f32 (as released GLM checkpoints keep the bias).
    tensors.push({ name, shape: [...t.shape], data, dtype: name.endsWith('e_score_correction_bias') || (mixed && t.dtype === 'f32') ? 'F32' : undefined });
  }
  writeShardedSafetensors(dir, tensors, { dtype, maxShardBytes: opts.maxShardBytes });
  writeJson(join(dir, 'config.json'), hf);
  const eos = cfg.eosTokenId;
  writeJson(join(dir, 'generation_config.json'), {
    _from_model_config: true,
    ...(eos !== null ? { eos_token_id: eos } : {}),
    ...(cfg.padTokenId !== null ? { pad_token_id: cfg.padTokenId } : {}),
  });
}

/** Number of labels of a sequence-classification config (HF: from id2label, else num_labels). */
function numLabels(cfg: GlmConfig): number {
  const id2label = cfg.extra.id2label as Record<string, string> | undefined;
  if (id2label && typeof id2label === 'object') return Object.keys(id2label).length;
  const n = cfg.extra.num_labels;
  return typeof n === 'number' && n > 0 ? n : 1;
}

/**
 * Loads an HF GLM folder. The kind of model follows `architectures`: *ForSequenceClassification
 * gives a GlmForSequenceClassification, anything else a GlmForCausalLM. A missing tensor or a
 * wrong shape is a CheckpointError naming it; tensors glmkit does not use are ignored. With
 * `dtype: 'bf16'` the matrices are kept as bf16 (see castWeights).
 */
export function loadModel(dir: string, opts: { dtype?: WeightDtype } = {}): GlmModelKind {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new CheckpointError(`${dir}: no config.json; expected a Hugging Face model folder (config.json + model.safetensors)`);
  const cfg = readConfigFile(configPath);
  const isCls = cfg.architectures.some((a) => a.endsWith('ForSequenceClassification'));
  const ckpt = openSafetensorsCheckpoint(dir);
  try {
    const shapes = new Map<string, readonly number[]>();
    for (const [name, t] of ckpt.tensors) shapes.set(name, t.shape);
    const labels = isCls ? numLabels(cfg) : undefined;
    const hasMtp = cfg.modelType === 'glm4_moe' && cfg.numNextnPredictLayers > 0 && [...shapes.keys()].some((n) => n.startsWith(`model.layers.${cfg.numHiddenLayers}.`));
    checkTensors(cfg, shapes, dir, { mtp: hasMtp, scoreLabels: labels });
    // A checkpoint without its MTP layers still runs: the model is built without them.
    const runCfg = cfg.modelType === 'glm4_moe' && !hasMtp ? { ...cfg, numNextnPredictLayers: 0 } : cfg;
    const model = isCls ? new GlmForSequenceClassification(runCfg, labels) : new GlmForCausalLM(runCfg);
    noGrad(() => {
      for (const [name, t] of model.stateDict()) {
        const src = ckpt.tensors.get(name);
        if (!src) throw new CheckpointError(`${dir}: missing tensor "${name}" (expected shape [${t.shape.join(', ')}])`);
        (t.data as Float32Array).set(src.read());
      }
    });
    if (opts.dtype === 'bf16') castWeights(model, 'bf16');
    return model;
  } finally {
    ckpt.close();
  }
}

/** Loads a causal LM folder (a CheckpointError when it holds a classifier). */
export function loadCausalLM(dir: string, opts: { dtype?: WeightDtype } = {}): GlmForCausalLM {
  const m = loadModel(dir, opts);
  if (!(m instanceof GlmForCausalLM)) throw new CheckpointError(`${dir}: holds a sequence-classification model; expected a causal LM (architectures *ForCausalLM)`);
  return m;
}
