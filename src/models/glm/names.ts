/**
 * Tensor names of GLM checkpoints: the HF names (as released: `model.layers.{i}.self_attn.q_proj.weight`,
 * `mlp.experts.{e}.gate_proj.weight`, the MTP layer at index num_hidden_layers with `eh_proj`,
 * `enorm`, `hnorm`, `shared_head.{norm,head}`), the glmkit module paths (camelCase per segment,
 * mechanical: `model.layers.3.selfAttn.qProj.weight`) and the GGUF names llama.cpp reads (docs/methods.md §1.3).
 *
 * `expectedTensors(cfg)` lists every HF tensor with its shape (row-major, as PyTorch stores it);
 * `checkTensors` turns a missing tensor or a wrong shape into a CheckpointError naming the tensor,
 * the expected shape and the found one.
 */
import { CheckpointError } from '../../errors.js';
import { snakeCase } from '../../nn/module.js';
import type { GlmConfig } from './config.js';

export interface TensorSpec {
  /** HF name. */
  name: string;
  /** Row-major shape (PyTorch order). */
  shape: number[];
  /** Present in some released checkpoints but not required (e.g. the MTP layer's own embed_tokens). */
  optional?: boolean;
}

/** `model.layers.{i}.{suffix}` */
export function hfLayerName(i: number, suffix: string): string {
  return `model.layers.${i}.${suffix}`;
}

/** HF name -> glmkit module path: each snake_case segment to camelCase (`self_attn` -> `selfAttn`). */
export function hfToModulePath(name: string): string {
  return name
    .split('.')
    .map((s) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()))
    .join('.');
}

/** glmkit module path -> HF name (inverse of hfToModulePath). */
export function modulePathToHf(path: string): string {
  return path
    .split('.')
    .map(snakeCase)
    .join('.');
}

/** Number of layers stored in the checkpoint: decoder layers plus MTP layers (glm4_moe). */
export function storedLayerCount(cfg: GlmConfig, mtp = true): number {
  return cfg.numHiddenLayers + (mtp && cfg.modelType === 'glm4_moe' ? cfg.numNextnPredictLayers : 0);
}

function attentionTensors(cfg: GlmConfig, i: number, out: TensorSpec[]): void {
  const H = cfg.hiddenSize;
  const q = cfg.numAttentionHeads * cfg.headDim;
  const kv = cfg.numKeyValueHeads * cfg.headDim;
  const p = (s: string) => hfLayerName(i, s);
  out.push({ name: p('self_attn.q_proj.weight'), shape: [q, H] });
  if (cfg.attentionBias) out.push({ name: p('self_attn.q_proj.bias'), shape: [q] });
  out.push({ name: p('self_attn.k_proj.weight'), shape: [kv, H] });
  if (cfg.attentionBias) out.push({ name: p('self_attn.k_proj.bias'), shape: [kv] });
  out.push({ name: p('self_attn.v_proj.weight'), shape: [kv, H] });
  if (cfg.attentionBias) out.push({ name: p('self_attn.v_proj.bias'), shape: [kv] });
  out.push({ name: p('self_attn.o_proj.weight'), shape: [H, q] });
}

export interface TensorListOptions {
  /** Include the MTP layers of glm4_moe (default true). */
  mtp?: boolean;
  /**
   * A sequence-classification head (HF `*ForSequenceClassification`: `score.weight` [labels, H], no
   * bias) replaces `lm_head` when given; a reward model has 1 label (docs/methods.md §1.4).
   */
  scoreLabels?: number;
}

/** Every tensor of an HF checkpoint of this config, in HF order, with its shape. */
export function expectedTensors(cfg: GlmConfig, options: TensorListOptions = {}): TensorSpec[] {
  const H = cfg.hiddenSize;
  const V = cfg.vocabSize;
  const out: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [V, H] }];
  const nLayers = storedLayerCount(cfg, options.mtp ?? true);
  for (let i = 0; i < nLayers; i++) {
    const p = (s: string) => hfLayerName(i, s);
    out.push({ name: p('input_layernorm.weight'), shape: [H] });
    attentionTensors(cfg, i, out);
    if (cfg.modelType === 'glm4') {
      const I = cfg.intermediateSize;
      out.push({ name: p('post_self_attn_layernorm.weight'), shape: [H] });
      out.push({ name: p('post_attention_layernorm.weight'), shape: [H] });
      out.push({ name: p('mlp.gate_up_proj.weight'), shape: [2 * I, H] });
      out.push({ name: p('mlp.down_proj.weight'), shape: [H, I] });
      out.push({ name: p('post_mlp_layernorm.weight'), shape: [H] });
      continue;
    }
    if (cfg.useQkNorm) {
      out.push({ name: p('self_attn.q_norm.weight'), shape: [cfg.headDim] });
      out.push({ name: p('self_attn.k_norm.weight'), shape: [cfg.headDim] });
    }
    out.push({ name: p('post_attention_layernorm.weight'), shape: [H] });
    if (i < cfg.firstKDenseReplace) {
      const I = cfg.intermediateSize;
      out.push({ name: p('mlp.gate_proj.weight'), shape: [I, H] });
      out.push({ name: p('mlp.up_proj.weight'), shape: [I, H] });
      out.push({ name: p('mlp.down_proj.weight'), shape: [H, I] });
    } else {
      const E = cfg.nRoutedExperts;
      const Im = cfg.moeIntermediateSize;
      out.push({ name: p('mlp.gate.weight'), shape: [E, H] });
      out.push({ name: p('mlp.gate.e_score_correction_bias'), shape: [E] });
      for (let e = 0; e < E; e++) {
        out.push({ name: p(`mlp.experts.${e}.gate_proj.weight`), shape: [Im, H] });
        out.push({ name: p(`mlp.experts.${e}.up_proj.weight`), shape: [Im, H] });
        out.push({ name: p(`mlp.experts.${e}.down_proj.weight`), shape: [H, Im] });
      }
      if (cfg.nSharedExperts > 0) {
        const Is = Im * cfg.nSharedExperts;
        out.push({ name: p('mlp.shared_experts.gate_proj.weight'), shape: [Is, H] });
        out.push({ name: p('mlp.shared_experts.up_proj.weight'), shape: [Is, H] });
        out.push({ name: p('mlp.shared_experts.down_proj.weight'), shape: [H, Is] });
      }
    }
    if (i >= cfg.numHiddenLayers) {
      // MTP: x = eh_proj(concat(enorm(embed(t+1)), hnorm(h_t))) -> block -> shared_head.norm -> shared_head.head
      out.push({ name: p('eh_proj.weight'), shape: [H, 2 * H] });
      out.push({ name: p('enorm.weight'), shape: [H] });
      out.push({ name: p('hnorm.weight'), shape: [H] });
      out.push({ name: p('shared_head.norm.weight'), shape: [H] });
      out.push({ name: p('shared_head.head.weight'), shape: [V, H] });
      out.push({ name: p('embed_tokens.weight'), shape: [V, H], optional: true });
    }
  }
  out.push({ name: 'model.norm.weight', shape: [H] });
  if (options.scoreLabels !== undefined) out.push({ name: 'score.weight', shape: [options.scoreLabels, H] });
  else if (!cfg.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [V, H] });
  return out;
}

function fmtShape(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

/**
 * Checks found tensors (name -> shape) against `expectedTensors(cfg)`. Throws CheckpointError naming
 * the first missing tensor or wrong shape (with expected and found). Returns the names found that the
 * config does not expect (callers may warn or ignore; e.g. HF checkpoints carry no extra buffers).
 * `options.mtp`: whether MTP layers are required (default: required when the config has them).
 */
export function checkTensors(
  cfg: GlmConfig,
  found: ReadonlyMap<string, readonly number[]>,
  source: string,
  options: TensorListOptions = {},
): string[] {
  const expected = expectedTensors(cfg, options);
  const known = new Set<string>();
  for (const t of expected) {
    known.add(t.name);
    const shape = found.get(t.name);
    if (shape === undefined) {
      if (t.optional) continue;
      throw new CheckpointError(
        `${source}: missing tensor "${t.name}" (expected shape ${fmtShape(t.shape)}); the checkpoint does not match its config.json`,
      );
    }
    if (shape.length !== t.shape.length || shape.some((d, k) => d !== t.shape[k])) {
      throw new CheckpointError(
        `${source}: tensor "${t.name}": expected shape ${fmtShape(t.shape)}, found ${fmtShape(shape)}; the checkpoint does not match its config.json`,
      );
    }
  }
  return [...found.keys()].filter((n) => !known.has(n));
}

// ---- GGUF names (llama.cpp archs glm4 / glm4moe) ----

const GLM4_LAYER: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'post_self_attn_layernorm.weight': 'post_attention_norm.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'mlp.gate_up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
  'post_mlp_layernorm.weight': 'post_ffw_norm.weight',
};

const GLM4MOE_LAYER: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'self_attn.q_norm.weight': 'attn_q_norm.weight',
  'self_attn.k_norm.weight': 'attn_k_norm.weight',
  'post_attention_layernorm.weight': 'post_attention_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
  'mlp.gate.weight': 'ffn_gate_inp.weight',
  'mlp.gate.e_score_correction_bias': 'exp_probs_b.bias',
  'mlp.shared_experts.gate_proj.weight': 'ffn_gate_shexp.weight',
  'mlp.shared_experts.up_proj.weight': 'ffn_up_shexp.weight',
  'mlp.shared_experts.down_proj.weight': 'ffn_down_shexp.weight',
  'eh_proj.weight': 'nextn.eh_proj.weight',
  'enorm.weight': 'nextn.enorm.weight',
  'hnorm.weight': 'nextn.hnorm.weight',
  'shared_head.norm.weight': 'nextn.shared_head_norm.weight',
  'shared_head.head.weight': 'nextn.shared_head_head.weight',
  'embed_tokens.weight': 'nextn.embed_tokens.weight',
};

const GLOBAL: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** The per-expert HF name pattern: captures layer, expert and projection. */
export const EXPERT_NAME = /^model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight$/;

/**
 * GGUF name of one HF tensor, or null when it has none on its own (routed experts: they are stacked
 * into `blk.N.ffn_{gate,up,down}_exps.weight`, see `ggufExpertsName`) or is unknown.
 */
export function ggufTensorName(cfg: GlmConfig, hfName: string): string | null {
  const g = GLOBAL[hfName];
  if (g !== undefined) return g;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (!m) return null;
  const table = cfg.modelType === 'glm4' ? GLM4_LAYER : GLM4MOE_LAYER;
  const suffix = table[m[2]];
  return suffix === undefined ? null : `blk.${m[1]}.${suffix}`;
}

/** GGUF name of the stacked routed experts of layer `i` for one projection. */
export function ggufExpertsName(i: number, proj: 'gate' | 'up' | 'down'): string {
  return `blk.${i}.ffn_${proj}_exps.weight`;
}
