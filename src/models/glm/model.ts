/**
 * The GLM model family: GLM-4 (dense, "sandwich" norms) and GLM-4.5 (MoE, pre-norm, MTP), as
 * Hugging Face's Glm4ForCausalLM / Glm4MoeForCausalLM, plus the sequence-classification head used
 * for reward and value models. docs/methods.md §1.
 */
import { ShapeError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { Embedding, Linear, RMSNorm, type InitOptions } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import { KVCache, positionsFromMask } from '../../generation/kv-cache.js';
import { ropeFrequencies } from './rope-scaling.js';
import { isMoeLayer, rotaryDim, validateConfig, type GlmConfig } from './config.js';
import { GlmAttention, GlmFusedMlp, GlmMlp, type LayerContext } from './layers.js';
import { GlmMoe } from './moe.js';

export class GlmDecoderLayer extends Module {
  readonly inputLayernorm: RMSNorm;
  readonly selfAttn: GlmAttention;
  readonly postAttentionLayernorm: RMSNorm;
  /** GLM-4 only: the two extra "sandwich" norms */
  readonly postSelfAttnLayernorm: RMSNorm | null;
  readonly postMlpLayernorm: RMSNorm | null;
  readonly mlp: GlmFusedMlp | GlmMlp | GlmMoe;

  constructor(cfg: GlmConfig, readonly index: number, init: InitOptions) {
    super();
    const H = cfg.hiddenSize, eps = cfg.rmsNormEps;
    this.inputLayernorm = this.child('inputLayernorm', new RMSNorm(H, eps, init.dtype));
    this.selfAttn = this.child('selfAttn', new GlmAttention(cfg, index, init));
    this.postAttentionLayernorm = this.child('postAttentionLayernorm', new RMSNorm(H, eps, init.dtype));
    if (cfg.modelType === 'glm4') {
      this.postSelfAttnLayernorm = this.child('postSelfAttnLayernorm', new RMSNorm(H, eps, init.dtype));
      this.postMlpLayernorm = this.child('postMlpLayernorm', new RMSNorm(H, eps, init.dtype));
      this.mlp = this.child('mlp', new GlmFusedMlp(H, cfg.intermediateSize, init));
    } else {
      this.postSelfAttnLayernorm = null;
      this.postMlpLayernorm = null;
      this.mlp = this.child('mlp', isMoeLayer(cfg, index) ? new GlmMoe(cfg, init) : new GlmMlp(H, cfg.intermediateSize, init));
    }
  }

  /**
   * GLM-4:   h = x + post_self_attn_ln(attn(input_ln(x)));  y = h + post_mlp_ln(mlp(post_attn_ln(h)))
   * GLM-4.5: h = x + attn(input_ln(x));                     y = h + mlp(post_attn_ln(h))
   */
  forward(x: Tensor, ctx: LayerContext, balance: Tensor[] | null): Tensor {
    let a = this.selfAttn.forward(this.inputLayernorm.forward(x), ctx);
    if (this.postSelfAttnLayernorm) a = this.postSelfAttnLayernorm.forward(a);
    const h = F.add(x, a);
    const hn = this.postAttentionLayernorm.forward(h);
    let m: Tensor;
    if (this.mlp instanceof GlmMoe) {
      const r = this.mlp.forward(hn, balance !== null);
      if (balance && r.balanceLoss) balance.push(r.balanceLoss);
      m = r.y;
    } else {
      m = this.mlp.forward(hn);
    }
    if (this.postMlpLayernorm) m = this.postMlpLayernorm.forward(m);
    return F.add(h, m);
  }

  /**
   * The layer's output at one position per sequence only (`rows` [B]: flat indices b*T + t into x
   * [B, T, H]; `keyMask` [B, T]: the keys each position sees): the same values as `forward` at those
   * positions, for the attention's queries, the MLP and the norms run on B rows instead of B*T. -> [B, 1, H]
   */
  forwardRows(x: Tensor, rows: Tensor, keyMask: Int32Array, ctx: LayerContext): Tensor {
    const [B, T, H] = x.shape;
    let a = this.selfAttn.forwardRows(this.inputLayernorm.forward(x), rows, keyMask, ctx);
    if (this.postSelfAttnLayernorm) a = this.postSelfAttnLayernorm.forward(a);
    const h = F.add(F.reshape(F.indexSelect(F.reshape(x, [B * T, H]), 0, rows), [B, 1, H]), a);
    const hn = this.postAttentionLayernorm.forward(h);
    let m = this.mlp instanceof GlmMoe ? this.mlp.forward(hn, false).y : this.mlp.forward(hn);
    if (this.postMlpLayernorm) m = this.postMlpLayernorm.forward(m);
    return F.add(h, m);
  }
}

/** The MTP block (GLM-4.5): x = eh_proj([enorm(embed(t+1)); hnorm(h_t)]) -> decoder block -> shared_head. */
export class GlmMtpLayer extends GlmDecoderLayer {
  readonly ehProj: Linear;
  readonly enorm: RMSNorm;
  readonly hnorm: RMSNorm;
  readonly sharedHead: SharedHead;
  constructor(cfg: GlmConfig, index: number, init: InitOptions) {
    super(cfg, index, init);
    const H = cfg.hiddenSize;
    this.ehProj = this.child('ehProj', new Linear(2 * H, H, false, init));
    this.enorm = this.child('enorm', new RMSNorm(H, cfg.rmsNormEps, init.dtype));
    this.hnorm = this.child('hnorm', new RMSNorm(H, cfg.rmsNormEps, init.dtype));
    this.sharedHead = this.child('sharedHead', new SharedHead(cfg, init));
  }
}

export class SharedHead extends Module {
  readonly norm: RMSNorm;
  readonly head: Linear;
  constructor(cfg: GlmConfig, init: InitOptions) {
    super();
    this.norm = this.child('norm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, init.dtype));
    this.head = this.child('head', new Linear(cfg.hiddenSize, cfg.vocabSize, false, init));
  }
}

export interface ForwardOptions {
  /** [B, T] 1 = token, 0 = padding (for the tokens of this call; with a cache, the cache keeps earlier ones) */
  attentionMask?: Int32Array | null;
  /** [B*T] RoPE positions; default: from the attention mask (or the cache) */
  positions?: Int32Array | null;
  /** [B] prefix-bidirectional lengths (GLM blank infilling) */
  prefixLen?: Int32Array | null;
  cache?: KVCache | null;
  /** collect the MoE sequence balance loss */
  balanceLoss?: boolean;
}

/** Hidden states [B, T, H] entering decoder layer `layer`: where `forwardAt` starts instead of the embeddings. */
export interface LowerHidden {
  layer: number;
  hidden: Tensor;
}

export interface ModelOutput {
  /** [B, T, H] final hidden states (after model.norm) */
  hidden: Tensor;
  /** sum over MoE layers of the sequence balance loss (when asked) */
  balanceLoss: Tensor | null;
}

/** GlmModel / Glm4MoeModel: embeddings, decoder layers (+ MTP layers, stored after them), final norm. */
export class GlmModel extends Module {
  readonly embedTokens: Embedding;
  readonly layers: GlmDecoderLayer[];
  readonly norm: RMSNorm;

  constructor(readonly config: GlmConfig, init: InitOptions) {
    super();
    const cfg = config;
    this.embedTokens = this.child('embedTokens', new Embedding(cfg.vocabSize, cfg.hiddenSize, init));
    const layers: GlmDecoderLayer[] = [];
    for (let i = 0; i < cfg.numHiddenLayers; i++) layers.push(new GlmDecoderLayer(cfg, i, init));
    const mtp = cfg.modelType === 'glm4_moe' ? cfg.numNextnPredictLayers : 0;
    for (let j = 0; j < mtp; j++) layers.push(new GlmMtpLayer(cfg, cfg.numHiddenLayers + j, init));
    this.layers = this.children('layers', layers);
    this.norm = this.child('norm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, init.dtype));
  }

  /** The MTP layers (empty for GLM-4). */
  get mtpLayers(): GlmMtpLayer[] {
    return this.layers.slice(this.config.numHiddenLayers) as GlmMtpLayer[];
  }

  /** Builds the per-step layer context: RoPE tables for this step's positions and the key mask. */
  context(B: number, T: number, opts: ForwardOptions): LayerContext {
    const mask = opts.attentionMask ?? null;
    if (mask && mask.length !== B * T) throw new ShapeError(`forward: attentionMask has ${mask.length} entries, expected B*T = ${B * T}`);
    let positions = opts.positions ?? null;
    if (opts.cache) {
      const p = opts.cache.advance(T, mask);
      positions ??= p;
    }
    positions ??= positionsFromMask(mask, B, T);
    if (positions.length !== B * T) throw new ShapeError(`forward: positions has ${positions.length} entries, expected B*T = ${B * T}`);
    const cfg = this.config;
    const rd = rotaryDim(cfg);
    let freq: ReturnType<typeof ropeFrequencies> | undefined; // plain RoPE: the table's own theta^(-2i/d)
    if (cfg.ropeScaling) {
      let maxPos = 0; // dynamic NTK reads the call's length
      for (let i = 0; i < positions.length; i++) if (positions[i] > maxPos) maxPos = positions[i];
      freq = ropeFrequencies({ rotaryDim: rd, ropeTheta: cfg.ropeTheta, maxPositionEmbeddings: cfg.maxPositionEmbeddings, ropeScaling: cfg.ropeScaling }, maxPos + 1);
    }
    const { cos, sin } = F.ropeTables(positions, rd, cfg.ropeTheta, this.embedTokens.weight.dtype === 'f64' ? 'f64' : 'f32', freq);
    return { cos, sin, keyMask: opts.cache ? null : mask, prefixLen: opts.prefixLen ?? null, causal: true, cache: opts.cache ?? null };
  }

  /**
   * Final hidden states [B, H] at one position per sequence (`last` [B], each in [0, T)), for heads that
   * read a single position (the sequence classifier): the last decoder layer runs its queries, MLP and
   * norms on those B positions only; the layers below run in full (their keys and values feed it). The
   * same values as `forward` at those positions. Not for a KV cache, prefix-bidirectional attention or
   * the MoE balance loss (`forward` handles those).
   */
  forwardAt(ids: Tensor, last: Int32Array, opts: ForwardOptions & { start?: LowerHidden } = {}): Tensor {
    const [B, T] = ids.shape;
    if (opts.cache || opts.prefixLen || opts.balanceLoss) throw new ShapeError('forwardAt: no KV cache, prefixLen or balance loss (use forward)');
    if (last.length !== B) throw new ShapeError(`forwardAt: ${last.length} positions for a batch of ${B}`);
    const ctx = this.context(B, T, opts);
    const mask = opts.attentionMask ?? null;
    // the keys the query at last[b] sees in the causal forward: real tokens at positions <= last[b]
    const keyMask = new Int32Array(B * T);
    const rows = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      if (last[b] < 0 || last[b] >= T) throw new ShapeError(`forwardAt: position ${last[b]} of row ${b} is outside [0, ${T})`);
      rows[b] = b * T + last[b];
      for (let t = 0; t <= last[b]; t++) keyMask[b * T + t] = mask ? mask[b * T + t] : 1;
    }
    const L = this.config.numHiddenLayers;
    const from = opts.start?.layer ?? 0;
    if (from < 0 || from >= L) throw new ShapeError(`forwardAt: start layer ${from} is outside [0, ${L})`);
    if (opts.start && opts.start.hidden.shape.join() !== [B, T, this.config.hiddenSize].join()) throw new ShapeError(`forwardAt: start hidden states ${opts.start.hidden.shape.join('x')}, expected ${B}x${T}x${this.config.hiddenSize}`);
    let x = opts.start ? opts.start.hidden : this.embedTokens.forward(ids);
    for (let i = from; i < L - 1; i++) x = this.layers[i].forward(x, ctx, null);
    const y = this.layers[L - 1].forwardRows(x, new Tensor(rows, [B]), keyMask, ctx);
    return this.norm.forward(F.reshape(y, [B, this.config.hiddenSize]));
  }

  /** The hidden states [B, T, H] that enter decoder layer `layer` (the embeddings for 0), for `forwardAt`'s `start`. */
  lowerHidden(ids: Tensor, layer: number, opts: ForwardOptions = {}): Tensor {
    const [B, T] = ids.shape;
    if (layer < 0 || layer > this.config.numHiddenLayers) throw new ShapeError(`lowerHidden: layer ${layer} is outside [0, ${this.config.numHiddenLayers}]`);
    const ctx = this.context(B, T, { attentionMask: opts.attentionMask, positions: opts.positions });
    let x = this.embedTokens.forward(ids);
    for (let i = 0; i < layer; i++) x = this.layers[i].forward(x, ctx, null);
    return x;
  }

  /** ids int32 [B, T] -> final hidden states [B, T, H]. */
  forward(ids: Tensor, opts: ForwardOptions = {}): ModelOutput {
    if (ids.ndim !== 2) throw new ShapeError(`forward: ids must be [batch, seq], got [${ids.shape.join(', ')}]`);
    const [B, T] = ids.shape;
    const ctx = this.context(B, T, opts);
    let x = this.embedTokens.forward(ids);
    const balance: Tensor[] | null = opts.balanceLoss ? [] : null;
    for (let i = 0; i < this.config.numHiddenLayers; i++) x = this.layers[i].forward(x, ctx, balance);
    const balanceLoss = balance && balance.length > 0 ? balance.reduce((a, b) => F.add(a, b)) : null;
    return { hidden: this.norm.forward(x), balanceLoss };
  }
}

export interface CausalLMOptions extends ForwardOptions {
  /** [B, T] int32 label of each position (the next token), -100 = ignore */
  targets?: Tensor | null;
  /** how the loss is reduced: 'mean' over non-ignored targets (default), 'sum', or 'none' ([B, T]) */
  lossReduction?: 'mean' | 'sum' | 'none';
  /** also compute the MTP loss (GLM-4.5 with MTP layers and targets given) */
  mtp?: boolean;
  /** skip the LM head (e.g. a caller that only wants hidden states) */
  skipLogits?: boolean;
}

export interface CausalLMOutput extends ModelOutput {
  /** [B, T, V] */
  logits: Tensor | null;
  loss: Tensor | null;
  /** MTP next-next-token loss (mean over non-ignored), when asked */
  mtpLoss: Tensor | null;
}

export interface ModelInitOptions {
  seed?: number;
  /** parameter dtype: 'f32' (default); 'f64' runs on the reference backend, for gradient checks */
  dtype?: 'f32' | 'f64';
}

export function defaultInit(cfg: GlmConfig, opts: ModelInitOptions = {}): InitOptions {
  return { rng: new Rng(opts.seed ?? 0), std: cfg.initializerRange, dtype: opts.dtype ?? 'f32' };
}

export class GlmForCausalLM extends Module {
  readonly model: GlmModel;
  readonly lmHead: Linear | null;

  constructor(readonly config: GlmConfig, opts: ModelInitOptions = {}) {
    super();
    validateConfig(config);
    const init = defaultInit(config, opts);
    this.model = this.child('model', new GlmModel(config, init));
    this.lmHead = config.tieWordEmbeddings ? null : this.child('lmHead', new Linear(config.hiddenSize, config.vocabSize, false, init));
  }

  /** hidden [..., H] -> logits [..., V] */
  logits(hidden: Tensor): Tensor {
    return this.lmHead ? this.lmHead.forward(hidden) : F.linear(hidden, this.model.embedTokens.weight);
  }

  forward(ids: Tensor, opts: CausalLMOptions = {}): CausalLMOutput {
    const out = this.model.forward(ids, opts);
    const logits = opts.skipLogits ? null : this.logits(out.hidden);
    let loss: Tensor | null = null, mtpLoss: Tensor | null = null;
    if (opts.targets) {
      if (!logits) throw new ShapeError('forward: targets need logits (skipLogits is set)');
      loss = F.crossEntropy(logits, opts.targets, { reduction: opts.lossReduction ?? 'mean' });
      if (opts.mtp && this.model.mtpLayers.length > 0) mtpLoss = this.mtpLoss(ids, out.hidden, opts.targets, opts);
    }
    return { ...out, logits, loss, mtpLoss };
  }

  /**
   * MTP loss of the first MTP layer: at position t (t < T-1), input token t+1 and hidden h_t,
   * predict targets[t+1] (token t+2). Positions of the block are those of token t+1.
   */
  mtpLoss(ids: Tensor, hidden: Tensor, targets: Tensor, opts: ForwardOptions): Tensor {
    if (ids.shape[1] < 2) return Tensor.scalar(0);
    return F.crossEntropy(this.mtpLogits(ids, hidden, opts), F.slice(targets, 1, 1), { reduction: 'mean' });
  }

  /**
   * The first MTP layer's draft logits [B, T-1, V]: row t predicts token t+2 from h_t (the main
   * stack's final hidden state at t) and token t+1 (T >= 2).
   */
  mtpLogits(ids: Tensor, hidden: Tensor, opts: ForwardOptions = {}): Tensor {
    const [B, T] = ids.shape;
    if (T < 2) throw new ShapeError(`mtpLogits: expected at least 2 tokens per row, got ${T}`);
    const layer = this.model.mtpLayers[0];
    if (!layer) throw new ShapeError('mtpLogits: the model has no MTP layer (num_nextn_predict_layers = 0)');
    const nextIds = F.slice(ids, 1, 1); // [B, T-1]
    const h = F.slice(hidden, 1, 0, T - 1); // [B, T-1, H]
    const e = this.model.embedTokens.forward(nextIds);
    const x = layer.ehProj.forward(F.concat([layer.enorm.forward(e), layer.hnorm.forward(h)], -1));
    const mask = opts.attentionMask ? F.slice(new Tensor(opts.attentionMask, [B, T]), 1, 1).data as Int32Array : null;
    const positions = new Int32Array(B * (T - 1));
    const full = positionsFromMask(opts.attentionMask ?? null, B, T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) positions[b * (T - 1) + t] = full[b * T + t + 1];
    const ctx = this.model.context(B, T - 1, { attentionMask: mask, positions });
    const y = layer.forward(x, ctx, null);
    return layer.sharedHead.head.forward(layer.sharedHead.norm.forward(y));
  }

  /** MoE layers of the main stack (for load statistics and the bias update). */
  moeLayers(): GlmMoe[] {
    return this.model.layers.slice(0, this.config.numHiddenLayers).map((l) => l.mlp).filter((m): m is GlmMoe => m instanceof GlmMoe);
  }

  /** Creates a KV cache sized for this model. */
  createCache(batch: number, capacity: number): KVCache {
    return new KVCache(batch, capacity, this.config.numHiddenLayers, this.config.numKeyValueHeads, this.config.headDim);
  }
}

/**
 * GlmForSequenceClassification: the `score` head (H -> numLabels, no bias) on the final hidden
 * state of the last real token of each sequence (right padding: the last position whose mask is 1).
 */
export class GlmForSequenceClassification extends Module {
  readonly model: GlmModel;
  readonly score: Linear;

  constructor(readonly config: GlmConfig, readonly numLabels = 1, opts: ModelInitOptions = {}) {
    super();
    validateConfig(config);
    const init = defaultInit(config, opts);
    this.model = this.child('model', new GlmModel(config, init));
    this.score = this.child('score', new Linear(config.hiddenSize, numLabels, false, init));
  }

  /** ids [B, T] -> scores [B, numLabels]; `start`: the hidden states entering a decoder layer (the layers below are skipped) */
  forward(ids: Tensor, opts: ForwardOptions & { start?: LowerHidden } = {}): Tensor {
    const [B, T] = ids.shape;
    const last = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      let l = T - 1;
      if (opts.attentionMask) while (l > 0 && !opts.attentionMask[b * T + l]) l--;
      last[b] = l;
    }
    if (opts.cache || opts.prefixLen || opts.balanceLoss) {
      const { hidden } = this.model.forward(ids, opts);
      const flat = Int32Array.from(last, (l, b) => b * T + l);
      return this.score.forward(F.indexSelect(F.reshape(hidden, [B * T, this.config.hiddenSize]), 0, new Tensor(flat, [B])));
    }
    // only the last real token's hidden state is read: the top layer runs at that position alone
    return this.score.forward(this.model.forwardAt(ids, last, opts));
  }
}
