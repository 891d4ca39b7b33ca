/**
 * GLM checkpoints as Hugging Face model folders: config.json, generation_config.json and
 * model.safetensors (or shards with model.safetensors.index.json). A folder holding only
 * config.json + safetensors is enough to run the model; tokenizer files sit beside them.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../../errors.js';
import { noGrad } from '../../tensor/autograd.js';
import { openSafetensorsCheckpoint, writeShardedSafetensors, type TensorToWrite } from '../../io/safetensors.js';
import { configToHf, HF_ARCHITECTURE, readConfigFile, type GlmConfig } from './config.js';
import { checkTensors } from './names.js';
import { GlmForCausalLM, GlmForSequenceClassification } from './model.js';

export type GlmModelKind = GlmForCausalLM | GlmForSequenceClassification;

const SEQ_CLS: Record<string, string> = { glm4: 'Glm4ForSequenceClassification', glm4_moe: 'Glm4MoeForSequenceClassification' };

export interface SaveOptions {
  /** storage dtype of float tensors (default F32) */
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
  hf.torch_dtype = opts.dtype === 'BF16' ? 'bfloat16' : opts.dtype === 'F16' ? 'float16' : 'float32';
  const tensors: TensorToWrite[] = [];
  for (const [name, t] of model.stateDict()) {
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
    // Norms, biases and the router's selection bias stay f32 (as released GLM checkpoints keep the bias).
    tensors.push({ name, shape: [...t.shape], data, dtype: name.endsWith('e_score_correction_bias') ? 'F32' : undefined });
  }
  writeShardedSafetensors(dir, tensors, { dtype: opts.dtype ?? 'F32', maxShardBytes: opts.maxShardBytes });
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
 * wrong shape is a CheckpointError naming it; tensors glmkit does not use are ignored.
 */
export function loadModel(dir: string): GlmModelKind {
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
    return model;
  } finally {
    ckpt.close();
  }
}

/** Loads a causal LM folder (a CheckpointError when it holds a classifier). */
export function loadCausalLM(dir: string): GlmForCausalLM {
  const m = loadModel(dir);
  if (!(m instanceof GlmForCausalLM)) throw new CheckpointError(`${dir}: holds a sequence-classification model; expected a causal LM (architectures *ForCausalLM)`);
  return m;
}
