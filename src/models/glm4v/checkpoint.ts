/**
 * GLM-4.1V checkpoints as Hugging Face folders: config.json (model_type "glm4v"),
 * preprocessor_config.json, generation_config.json and safetensors under HF's names (single file or
 * shards with an index; f32, bf16 or f16 storage). `expectedGlm4vTensors` lists every tensor with
 * its shape; loading checks each against it and names the tensor, the expected and the found shape.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../../errors.js';
import { noGrad } from '../../tensor/autograd.js';
import { fromHalf } from '../../io/half.js';
import { openSafetensorsCheckpoint, writeShardedSafetensors, type TensorToWrite } from '../../io/safetensors.js';
import { expectedTensors, type TensorSpec } from '../glm/names.js';
import { glm4vConfigToHf, positionGridSide, readGlm4vConfigFile, type Glm4vConfig } from './config.js';
import { Glm4vForConditionalGeneration } from './model.js';
import { defaultImageProcessorConfig, imageProcessorConfigToHf, PREPROCESSOR_FILE } from './preprocess-config.js';

/** The vision tower's tensors (`model.visual.*`) with their shapes. */
export function expectedVisionTensors(cfg: Glm4vConfig): TensorSpec[] {
  const v = cfg.vision, D = v.hiddenSize, O = v.outHiddenSize, I = v.intermediateSize, m = v.spatialMergeSize;
  const side = positionGridSide(v);
  const p = (s: string) => `model.visual.${s}`;
  const out: TensorSpec[] = [
    { name: p('patch_embed.proj.weight'), shape: [D, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize] },
    { name: p('patch_embed.proj.bias'), shape: [D] },
    { name: p('post_conv_layernorm.weight'), shape: [D] },
    { name: p('embeddings.position_embedding.weight'), shape: [side * side, D] },
  ];
  for (let i = 0; i < v.depth; i++) {
    const b = (s: string) => p(`blocks.${i}.${s}`);
    out.push({ name: b('norm1.weight'), shape: [D] }, { name: b('norm2.weight'), shape: [D] });
    out.push({ name: b('attn.qkv.weight'), shape: [3 * D, D] });
    if (v.attentionBias) out.push({ name: b('attn.qkv.bias'), shape: [3 * D] });
    out.push({ name: b('attn.proj.weight'), shape: [D, D] });
    out.push({ name: b('mlp.gate_proj.weight'), shape: [O, D] }, { name: b('mlp.up_proj.weight'), shape: [O, D] }, { name: b('mlp.down_proj.weight'), shape: [D, O] });
  }
  out.push(
    { name: p('post_layernorm.weight'), shape: [D] },
    { name: p('downsample.weight'), shape: [O, D, m, m] },
    { name: p('downsample.bias'), shape: [O] },
    { name: p('merger.proj.weight'), shape: [O, O] },
    { name: p('merger.post_projection_norm.weight'), shape: [O] },
    { name: p('merger.post_projection_norm.bias'), shape: [O] },
    { name: p('merger.gate_proj.weight'), shape: [I, O] },
    { name: p('merger.up_proj.weight'), shape: [I, O] },
    { name: p('merger.down_proj.weight'), shape: [O, I] },
  );
  return out;
}

/** Every tensor of a glm4v checkpoint: the vision tower, then the text model under `model.language_model.`, then lm_head. */
export function expectedGlm4vTensors(cfg: Glm4vConfig): TensorSpec[] {
  const text = expectedTensors(cfg.text).map((t) => ({ ...t, name: t.name.startsWith('model.') ? `model.language_model.${t.name.slice(6)}` : t.name }));
  return [...expectedVisionTensors(cfg), ...text];
}

/** Checks found tensor shapes against the config; CheckpointError naming the first missing or wrong tensor. */
export function checkGlm4vTensors(cfg: Glm4vConfig, found: ReadonlyMap<string, readonly number[]>, source: string): void {
  for (const t of expectedGlm4vTensors(cfg)) {
    const shape = found.get(t.name);
    if (!shape) throw new CheckpointError(`${source}: missing tensor "${t.name}" (expected shape [${t.shape.join(', ')}]); the checkpoint does not match its config.json`);
    if (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i])) {
      throw new CheckpointError(`${source}: tensor "${t.name}": expected shape [${t.shape.join(', ')}], found [${shape.join(', ')}]; the checkpoint does not match its config.json`);
    }
  }
}

export interface Glm4vSaveOptions {
  dtype?: 'F32' | 'BF16' | 'F16';
  maxShardBytes?: number;
}

/** Writes config.json, preprocessor_config.json (unless one is there), generation_config.json and the weights. */
export function saveGlm4vModel(dir: string, model: Glm4vForConditionalGeneration, opts: Glm4vSaveOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  const cfg = model.config;
  const mixed = opts.dtype === undefined && [...model.stateDict().values()].some((t) => t.dtype === 'bf16');
  const dtype = opts.dtype ?? (mixed ? 'BF16' : 'F32');
  const hf = glm4vConfigToHf({ ...cfg, text: { ...cfg.text, torchDtype: dtype === 'BF16' ? 'bfloat16' : dtype === 'F16' ? 'float16' : 'float32' } });
  const tensors: TensorToWrite[] = [];
  for (const [name, t] of model.stateDict()) {
    const data = t.data instanceof Float32Array ? t.data : t.dtype === 'bf16' ? fromHalf(t.data as Uint16Array, 'bf16') : Float32Array.from(t.data);
    tensors.push({ name, shape: [...t.shape], data, dtype: mixed && t.dtype === 'f32' ? 'F32' : undefined });
  }
  writeShardedSafetensors(dir, tensors, { dtype, maxShardBytes: opts.maxShardBytes });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hf, null, 2) + '\n');
  const pre = join(dir, PREPROCESSOR_FILE);
  if (!existsSync(pre)) writeFileSync(pre, JSON.stringify(imageProcessorConfigToHf(defaultImageProcessorConfig(cfg.vision)), null, 2) + '\n');
  const eos = cfg.text.eosTokenId;
  writeFileSync(
    join(dir, 'generation_config.json'),
    JSON.stringify({ _from_model_config: true, ...(eos !== null ? { eos_token_id: eos } : {}), ...(cfg.text.padTokenId !== null ? { pad_token_id: cfg.text.padTokenId } : {}) }, null, 2) + '\n',
  );
}

/** Matrices that may be stored as bf16 in memory (those read through linear/embedding; the position table and convolutions stay f32). */
function bf16Eligible(name: string, ndim: number): boolean {
  return ndim === 2 && !name.endsWith('position_embedding.weight');
}

/**
 * Loads an HF glm4v folder. A missing tensor or a wrong shape (a truncated file is caught by the
 * safetensors reader, naming the tensor) is a CheckpointError. `dtype: 'bf16'` keeps the matrices
 * as bf16 for inference.
 */
export function loadGlm4vModel(dir: string, opts: { dtype?: 'f32' | 'bf16' } = {}): Glm4vForConditionalGeneration {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new CheckpointError(`${dir}: no config.json; expected a Hugging Face model folder (config.json + model.safetensors)`);
  const cfg = readGlm4vConfigFile(configPath);
  const ckpt = openSafetensorsCheckpoint(dir);
  try {
    const shapes = new Map<string, readonly number[]>();
    for (const [name, t] of ckpt.tensors) shapes.set(name, t.shape);
    checkGlm4vTensors(cfg, shapes, dir);
    const model = new Glm4vForConditionalGeneration(cfg);
    noGrad(() => {
      for (const [name, t] of model.stateDict()) (t.data as Float32Array).set(ckpt.tensors.get(name)!.read());
    });
    if (opts.dtype === 'bf16') model.castParameters('bf16', (name, t) => bf16Eligible(name, t.ndim));
    return model;
  } finally {
    ckpt.close();
  }
}

/** Whether `dir/config.json` is a glm4v config (so callers can pick the loader). */
export function isGlm4vFolder(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model_type?: unknown }).model_type === 'glm4v';
  } catch {
    return false;
  }
}
