/**
 * GLM building blocks: self-attention (GQA, q/k/v bias, partial RoPE in GLM-4's interleaved or
 * GLM-4.5's half-split style, optional QK-norm) and the MLPs (GLM-4's fused gate_up, GLM-4.5's
 * separate gate/up/down). docs/methods.md §1.1-1.2.
 */
import { noGrad } from '../../tensor/autograd.js';
import { getBackend } from '../../tensor/backend/index.js';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { Linear, RMSNorm, type InitOptions } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import type { KVCache } from '../../generation/kv-cache.js';
import { rotaryDim, type GlmConfig } from './config.js';

/** Per-forward context shared by all layers. */
export interface LayerContext {
  /** RoPE tables [B*T, rotaryDim/2] for this step's tokens */
  cos: Tensor;
  sin: Tensor;
  /** [B, Tk] key mask for the whole attended sequence, or null (all real) */
  keyMask: Int32Array | null;
  prefixLen: Int32Array | null;
  causal: boolean;
  cache: KVCache | null;
}

export class GlmAttention extends Module {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly oProj: Linear;
  readonly qNorm: RMSNorm | null;
  readonly kNorm: RMSNorm | null;
  private readonly heads: number;
  private readonly headsKv: number;
  private readonly headDim: number;
  private readonly rotary: number;
  private readonly interleaved: boolean;

  constructor(cfg: GlmConfig, readonly layerIndex: number, init: InitOptions) {
    super();
    const H = cfg.hiddenSize;
    this.heads = cfg.numAttentionHeads;
    this.headsKv = cfg.numKeyValueHeads;
    this.headDim = cfg.headDim;
    this.rotary = rotaryDim(cfg);
    this.interleaved = cfg.modelType === 'glm4';
    this.qProj = this.child('qProj', new Linear(H, this.heads * this.headDim, cfg.attentionBias, init));
    this.kProj = this.child('kProj', new Linear(H, this.headsKv * this.headDim, cfg.attentionBias, init));
    this.vProj = this.child('vProj', new Linear(H, this.headsKv * this.headDim, cfg.attentionBias, init));
    this.oProj = this.child('oProj', new Linear(this.heads * this.headDim, H, false, init));
    const qk = cfg.modelType === 'glm4_moe' && cfg.useQkNorm;
    this.qNorm = qk ? this.child('qNorm', new RMSNorm(this.headDim, cfg.rmsNormEps, init.dtype)) : null;
    this.kNorm = qk ? this.child('kNorm', new RMSNorm(this.headDim, cfg.rmsNormEps, init.dtype)) : null;
  }

  /** x [B, T, H] -> [B, T, H] */
  forward(x: Tensor, ctx: LayerContext): Tensor {
    const [B, T] = x.shape;
    const D = this.headDim;
    let q = F.reshape(this.qProj.forward(x), [B, T, this.heads, D]); // [B, T, Hq, D]
    let k = F.reshape(this.kProj.forward(x), [B, T, this.headsKv, D]); // [B, T, Hkv, D]
    const v = F.reshape(this.vProj.forward(x), [B, T, this.headsKv, D]);
    if (this.qNorm && this.kNorm) {
      q = this.qNorm.forward(q);
      k = this.kNorm.forward(k);
    }
    const ropeOpts = { rotaryDim: this.rotary, interleaved: this.interleaved };
    q = F.rope(q, ctx.cos, ctx.sin, ropeOpts);
    k = F.rope(k, ctx.cos, ctx.sin, ropeOpts);
    const y = ctx.cache
      ? this.cachedAttention(q, k, v, ctx)
      : F.attention(q, k, v, { causal: ctx.causal, keyMask: ctx.keyMask, prefixLen: ctx.prefixLen }); // [B, T, Hq, D]
    return this.oProj.forward(F.reshape(y, [B, T, this.heads * D]));
  }

  /**
   * Attention output at one query row per sequence: `rows` [B] are flat indices b*T + t into x [B, T, H]
   * (the normed input), `keyMask` [B, T] the keys each row's query may see (for a causal model: the real
   * tokens up to and including its own position). Keys and values come from every position, queries only
   * from the rows: what the full causal forward gives at those positions. -> [B, 1, H]
   */
  forwardRows(x: Tensor, rows: Tensor, keyMask: Int32Array, ctx: LayerContext): Tensor {
    const [B, T, H] = x.shape;
    const D = this.headDim;
    let q = F.reshape(this.qProj.forward(F.indexSelect(F.reshape(x, [B * T, H]), 0, rows)), [B, 1, this.heads, D]);
    let k = F.reshape(this.kProj.forward(x), [B, T, this.headsKv, D]);
    const v = F.reshape(this.vProj.forward(x), [B, T, this.headsKv, D]);
    if (this.qNorm && this.kNorm) {
      q = this.qNorm.forward(q);
      k = this.kNorm.forward(k);
    }
    const ropeOpts = { rotaryDim: this.rotary, interleaved: this.interleaved };
    q = F.rope(q, F.indexSelect(ctx.cos, 0, rows), F.indexSelect(ctx.sin, 0, rows), ropeOpts);
    k = F.rope(k, ctx.cos, ctx.sin, ropeOpts);
    const y = F.attention(q, k, v, { causal: false, keyMask }); // [B, 1, Hq, D]
    return this.oProj.forward(F.reshape(y, [B, 1, this.heads * D]));
  }

  /**
   * Inference with a KV cache: append this step's k, v, then attend every sequence over the filled
   * slots of the cache. When batch row b is cache row b (always for generate()'s cache) the kernel
   * reads the cache's [B, capacity, Hkv, D] buffers in one call; otherwise once per sequence on views.
   */
  private cachedAttention(q: Tensor, k: Tensor, v: Tensor, ctx: LayerContext): Tensor {
    const cache = ctx.cache!;
    const [B, T, Hq, D] = q.shape;
    return noGrad(() => {
      cache.write(this.layerIndex, k.data as Float32Array, v.data as Float32Array, T);
      const out = Tensor.zeros([B, T, Hq, D]);
      const be = getBackend();
      const shape = { tq: T, tk: cache.length, qOffset: cache.length - T, headsQ: Hq, headsKv: this.headsKv, headDim: D, scale: 1 / Math.sqrt(D), causal: ctx.causal };
      const whole = cache.batchView(this.layerIndex);
      if (whole) {
        be.attentionForward({
          ...shape, batch: B, prefixLen: ctx.prefixLen ?? null, keyMask: whole.keyMask, kvCapacity: whole.capacity,
          q: q.data as Float32Array, k: whole.k, v: whole.v, out: out.data as Float32Array, lse: new Float32Array(B * Hq * T),
        });
        return out;
      }
      const lse = new Float32Array(Hq * T);
      const per = T * Hq * D;
      for (let b = 0; b < B; b++) {
        const view = cache.view(this.layerIndex, b);
        be.attentionForward({
          ...shape, batch: 1, prefixLen: ctx.prefixLen ? ctx.prefixLen.subarray(b, b + 1) : null, keyMask: view.keyMask,
          q: (q.data as Float32Array).subarray(b * per, (b + 1) * per), k: view.k, v: view.v,
          out: (out.data as Float32Array).subarray(b * per, (b + 1) * per), lse,
        });
      }
      return out;
    });
  }
}

/** GLM-4's MLP: one fused gate_up projection (H -> 2I), SwiGLU, down (I -> H). */
export class GlmFusedMlp extends Module {
  readonly gateUpProj: Linear;
  readonly downProj: Linear;
  constructor(hidden: number, intermediate: number, init: InitOptions) {
    super();
    this.gateUpProj = this.child('gateUpProj', new Linear(hidden, 2 * intermediate, false, init));
    this.downProj = this.child('downProj', new Linear(intermediate, hidden, false, init));
  }
  /** x [..., H] -> [..., H] */
  forward(x: Tensor): Tensor {
    return this.downProj.forward(F.swiglu(this.gateUpProj.forward(x)));
  }
}

/** GLM-4.5's MLP (dense layers, experts, shared experts): separate gate, up and down projections. */
export class GlmMlp extends Module {
  readonly gateProj: Linear;
  readonly upProj: Linear;
  readonly downProj: Linear;
  constructor(hidden: number, intermediate: number, init: InitOptions) {
    super();
    this.gateProj = this.child('gateProj', new Linear(hidden, intermediate, false, init));
    this.upProj = this.child('upProj', new Linear(hidden, intermediate, false, init));
    this.downProj = this.child('downProj', new Linear(intermediate, hidden, false, init));
  }
  /** x [..., H] -> [..., H] */
  forward(x: Tensor): Tensor {
    // silu(gate) * up through the fused kernel: concatenate the two halves once.
    const gu = F.concat([this.gateProj.forward(x), this.upProj.forward(x)], -1);
    return this.downProj.forward(F.swiglu(gu));
  }
}
