/**
 * Glm4vForConditionalGeneration (HF, model_type "glm4v"): the vision tower's image features replace
 * the `<|image|>` placeholder embeddings in order, and the GLM-4 dense decoder runs with 3-D M-RoPE
 * positions. Tensor names are HF's (`model.visual.*`, `model.language_model.*`, `lm_head.weight`).
 * docs/vision.md.
 */
import { ShapeError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { Linear, type InitOptions } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import { KVCache } from '../../generation/kv-cache.js';
import { rotaryDim } from '../glm/config.js';
import type { LayerContext } from '../glm/layers.js';
import { GlmModel } from '../glm/model.js';
import { validateGlm4vConfig, type Glm4vConfig } from './config.js';
import { decodePositions, mropeTables, ropeIndex } from './rope-index.js';
import { Glm4vVisionModel, type GridThw } from './vision.js';

export interface Glm4vForwardOptions {
  /** int32 [B, T] */
  inputIds: Tensor;
  /** [sum of t*h*w, C*T*p*p] (preprocessImage's rows, images concatenated in order) */
  pixelValues?: Tensor | null;
  /** one [t, h, w] per image, in order of appearance */
  imageGridThw?: readonly GridThw[] | null;
  /** [B, T] 1 = token, 0 = padding (left padding for batched prompts) */
  attentionMask?: Int32Array | null;
  /** [3 * B * T] explicit M-RoPE positions (rows t, h, w); default: ropeIndex, or the cache's decode positions */
  positionIds?: Int32Array | null;
  /** KV cache (inference). The first call (prefill) computes rope deltas; later calls pass them back. */
  cache?: KVCache | null;
  /** [B] from the prefill's output, for decode steps with a cache */
  ropeDeltas?: Int32Array | null;
  /** [B, T] int32 next-token labels, -100 = ignore */
  targets?: Tensor | null;
  lossReduction?: 'mean' | 'sum' | 'none';
}

export interface Glm4vOutput {
  /** [B, T, V] */
  logits: Tensor;
  loss: Tensor | null;
  /** [B, T, H] after the final norm */
  hidden: Tensor;
  /** [3 * B * T] the positions used */
  positionIds: Int32Array;
  /** [B] rope deltas (max position + 1 - T) for decode steps */
  ropeDeltas: Int32Array;
}

export interface Glm4vInitOptions {
  seed?: number;
  dtype?: 'f32' | 'f64';
}

export class Glm4vModel extends Module {
  readonly visual: Glm4vVisionModel;
  readonly languageModel: GlmModel;
  constructor(readonly config: Glm4vConfig, init: InitOptions) {
    super();
    this.visual = this.child('visual', new Glm4vVisionModel(config.vision, init));
    this.languageModel = this.child('languageModel', new GlmModel(config.text, init));
  }
}

export class Glm4vForConditionalGeneration extends Module {
  readonly model: Glm4vModel;
  readonly lmHead: Linear | null;

  constructor(readonly config: Glm4vConfig, opts: Glm4vInitOptions = {}) {
    super();
    validateGlm4vConfig(config);
    const init: InitOptions = { rng: new Rng(opts.seed ?? 0), std: config.text.initializerRange, dtype: opts.dtype ?? 'f32' };
    this.model = this.child('model', new Glm4vModel(config, init));
    const t = config.text;
    this.lmHead = t.tieWordEmbeddings ? null : this.child('lmHead', new Linear(t.hiddenSize, t.vocabSize, false, init));
  }

  /** pixel_values + grids -> image features [sum of t*h*w / merge^2, H]. */
  imageFeatures(pixelValues: Tensor, grids: readonly GridThw[]): Tensor {
    return this.model.visual.forward(pixelValues, grids);
  }

  /** Text embeddings with the image features in place of the image placeholders (in order). */
  embed(ids: Tensor, features: Tensor | null): Tensor {
    const [B, T] = ids.shape;
    const lm = this.model.languageModel;
    const x = lm.embedTokens.forward(ids);
    const imageId = this.config.imageTokenId;
    let count = 0;
    for (let i = 0; i < B * T; i++) if (ids.data[i] === imageId) count++;
    const rows = features ? features.shape[0] : 0;
    if (count !== rows) {
      throw new ShapeError(`forward: the prompt holds ${count} image token(s) (id ${imageId}) but the images give ${rows} feature row(s); expand each image to imageTokenCount(grid) placeholders`);
    }
    if (!features || count === 0) return x;
    const H = this.config.text.hiddenSize;
    const index = new Int32Array(B * T);
    let k = 0;
    for (let i = 0; i < B * T; i++) index[i] = ids.data[i] === imageId ? B * T + k++ : i;
    const all = F.concat([F.reshape(x, [B * T, H]), features], 0);
    return F.reshape(F.indexSelect(all, 0, new Tensor(index, [B * T])), [B, T, H]);
  }

  /** M-RoPE positions of a prompt (prefill), as get_rope_index. */
  ropeIndex(ids: Tensor, grids: readonly GridThw[], attentionMask: Int32Array | null) {
    const [B, T] = ids.shape;
    const c = this.config;
    return ropeIndex({
      ids: ids.data as Int32Array, batch: B, seq: T, grids, attentionMask,
      imageTokenId: c.imageTokenId, videoStartTokenId: c.videoStartTokenId, videoEndTokenId: c.videoEndTokenId,
      spatialMergeSize: c.vision.spatialMergeSize,
    });
  }

  forward(opts: Glm4vForwardOptions): Glm4vOutput {
    const out = this.forwardHidden(opts);
    const logits = this.logits(out.hidden);
    const loss = opts.targets ? F.crossEntropy(logits, opts.targets, { reduction: opts.lossReduction ?? 'mean' }) : null;
    return { ...out, logits, loss };
  }

  /** The forward up to the final norm (no LM head): generation projects only the positions it samples from. */
  forwardHidden(opts: Omit<Glm4vForwardOptions, 'targets' | 'lossReduction'>): Omit<Glm4vOutput, 'logits' | 'loss'> {
    const ids = opts.inputIds;
    if (ids.ndim !== 2 || ids.dtype !== 'i32') throw new ShapeError(`forward: inputIds must be int32 [batch, seq], got ${ids.dtype} [${ids.shape.join(', ')}]`);
    const [B, T] = ids.shape;
    const grids = opts.imageGridThw ?? [];
    const mask = opts.attentionMask ?? null;
    if (mask && mask.length !== B * T) throw new ShapeError(`forward: attentionMask has ${mask.length} entries, expected B*T = ${B * T}`);
    if ((opts.pixelValues ? 1 : 0) !== (grids.length > 0 ? 1 : 0)) throw new ShapeError('forward: pixelValues and imageGridThw go together (both or neither)');
    const features = opts.pixelValues && grids.length > 0 ? this.imageFeatures(opts.pixelValues, grids) : null;
    const cache = opts.cache ?? null;
    const start = cache ? cache.length : 0;
    // A decode step without images embeds every id as text, as HF does after the prefill (a sampled
    // <|image|> is an ordinary token then); the placeholder count is checked where images go in.
    const x0 = cache && start > 0 && !features ? this.model.languageModel.embedTokens.forward(ids) : this.embed(ids, features);

    let positionIds = opts.positionIds ?? null;
    let ropeDeltas = opts.ropeDeltas ?? null;
    if (!positionIds) {
      if (cache && start > 0) {
        if (!ropeDeltas) throw new ShapeError('forward: a decode step with a filled cache needs ropeDeltas (from the prefill output)');
        positionIds = decodePositions(start, B, T, ropeDeltas);
      } else {
        const r = this.ropeIndex(ids, grids, mask);
        positionIds = r.positions;
        ropeDeltas = r.deltas;
      }
    }
    if (positionIds.length !== 3 * B * T) throw new ShapeError(`forward: positionIds has ${positionIds.length} entries, expected 3*B*T = ${3 * B * T}`);
    ropeDeltas ??= new Int32Array(B);
    if (cache) cache.advance(T, mask);

    const t = this.config.text;
    const dtype = x0.dtype === 'f64' ? 'f64' : 'f32';
    const { cos, sin } = mropeTables(positionIds, B * T, rotaryDim(t), t.ropeTheta, this.config.mropeSection, dtype);
    const ctx: LayerContext = { cos, sin, keyMask: cache ? null : mask, prefixLen: null, causal: true, cache };
    const lm = this.model.languageModel;
    let x = x0;
    for (let i = 0; i < t.numHiddenLayers; i++) x = lm.layers[i].forward(x, ctx, null);
    const hidden = lm.norm.forward(x);
    return { hidden, positionIds, ropeDeltas };
  }

  /** hidden [..., H] -> logits [..., V] (the LM head, or the tied embeddings). */
  logits(hidden: Tensor): Tensor {
    return this.lmHead ? this.lmHead.forward(hidden) : F.linear(hidden, this.model.languageModel.embedTokens.weight);
  }

  /** A KV cache sized for the text model. */
  createCache(batch: number, capacity: number): KVCache {
    const t = this.config.text;
    return new KVCache(batch, capacity, t.numHiddenLayers, t.numKeyValueHeads, t.headDim);
  }
}
