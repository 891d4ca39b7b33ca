/**
 * The GLM-4.1V vision tower (HF `Glm4vVisionModel`): Conv3d patch embedding as one matrix product,
 * post-conv RMSNorm, the learned position table resampled bicubically to each image's patch grid,
 * ViT blocks with 2-D rotary position and attention within each image (and frame), post RMSNorm,
 * the 2x2 spatial downsample (Conv2d, as a matrix product over the four patches of a merge block)
 * and the merger (Linear -> LayerNorm -> GELU -> SwiGLU) into the text model's width.
 * Every step is a differentiable tensor op. docs/vision.md.
 */
import { ShapeError } from '../../errors.js';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { Embedding, LayerNorm, Linear, RMSNorm, type InitOptions } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import { GlmMlp } from '../glm/layers.js';
import { positionGridSide, type Glm4vVisionConfig } from './config.js';

/** One image (or video) grid in patches: [t, h, w] (h and w multiples of the merge size). */
export type GridThw = readonly [number, number, number];

/** A convolution's weight (any rank) and bias, stored under HF's `weight` / `bias` names. */
export class ConvParams extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(shape: number[], init: InitOptions) {
    super();
    this.weight = this.param('weight', Tensor.randn(shape, init.rng, init.std, init.dtype));
    this.bias = this.param('bias', Tensor.zeros([shape[0]], init.dtype));
  }
}

class PatchEmbed extends Module {
  readonly proj: ConvParams;
  constructor(readonly v: Glm4vVisionConfig, init: InitOptions) {
    super();
    this.proj = this.child('proj', new ConvParams([v.hiddenSize, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize], init));
  }
  /** pixel rows [N, C*T*p*p] in (c, t, py, px) order -> [N, D]: the Conv3d whose kernel equals its stride. */
  forward(pixels: Tensor): Tensor {
    const D = this.v.hiddenSize;
    return F.linear(pixels, F.reshape(this.proj.weight, [D, this.proj.weight.size / D]), this.proj.bias);
  }
}

class VisionEmbeddings extends Module {
  readonly positionEmbedding: Embedding;
  constructor(v: Glm4vVisionConfig, init: InitOptions) {
    super();
    const side = positionGridSide(v);
    this.positionEmbedding = this.child('positionEmbedding', new Embedding(side * side, v.hiddenSize, init));
  }
}

class VisionAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  constructor(readonly v: Glm4vVisionConfig, init: InitOptions) {
    super();
    this.qkv = this.child('qkv', new Linear(v.hiddenSize, 3 * v.hiddenSize, v.attentionBias, init));
    this.proj = this.child('proj', new Linear(v.hiddenSize, v.hiddenSize, false, init));
  }
  /** x [N, D]; attention runs separately over each span of `lengths` (one image frame each). */
  forward(x: Tensor, cos: Tensor, sin: Tensor, lengths: readonly number[]): Tensor {
    const N = x.shape[0], H = this.v.numHeads, hd = this.v.hiddenSize / H;
    const qkv = F.reshape(this.qkv.forward(x), [N, 3, H, hd]);
    const part = (i: number) => F.reshape(F.slice(qkv, 1, i, i + 1), [1, N, H, hd]);
    const ropeOpts = { rotaryDim: hd, interleaved: false };
    const q = F.rope(part(0), cos, sin, ropeOpts), k = F.rope(part(1), cos, sin, ropeOpts), v = part(2);
    const outs: Tensor[] = [];
    let start = 0;
    for (const len of lengths) {
      const s = (t: Tensor) => (lengths.length === 1 ? t : F.slice(t, 1, start, start + len));
      outs.push(F.attention(s(q), s(k), s(v), { causal: false }));
      start += len;
    }
    const y = outs.length === 1 ? outs[0] : F.concat(outs, 1);
    return this.proj.forward(F.reshape(y, [N, this.v.hiddenSize]));
  }
}

class VisionBlock extends Module {
  readonly norm1: RMSNorm;
  readonly norm2: RMSNorm;
  readonly attn: VisionAttention;
  readonly mlp: GlmMlp;
  constructor(v: Glm4vVisionConfig, init: InitOptions) {
    super();
    this.norm1 = this.child('norm1', new RMSNorm(v.hiddenSize, v.rmsNormEps, init.dtype));
    this.norm2 = this.child('norm2', new RMSNorm(v.hiddenSize, v.rmsNormEps, init.dtype));
    this.attn = this.child('attn', new VisionAttention(v, init));
    // HF Glm4VisionMlp: intermediate width = out_hidden_size.
    this.mlp = this.child('mlp', new GlmMlp(v.hiddenSize, v.outHiddenSize, init));
  }
  forward(x: Tensor, cos: Tensor, sin: Tensor, lengths: readonly number[]): Tensor {
    const h = F.add(x, this.attn.forward(this.norm1.forward(x), cos, sin, lengths));
    return F.add(h, this.mlp.forward(this.norm2.forward(h)));
  }
}

class PatchMerger extends Module {
  readonly proj: Linear;
  readonly postProjectionNorm: LayerNorm;
  readonly gateProj: Linear;
  readonly upProj: Linear;
  readonly downProj: Linear;
  constructor(dim: number, context: number, init: InitOptions) {
    super();
    this.proj = this.child('proj', new Linear(dim, dim, false, init));
    this.postProjectionNorm = this.child('postProjectionNorm', new LayerNorm(dim, 1e-5, init.dtype));
    this.gateProj = this.child('gateProj', new Linear(dim, context, false, init));
    this.upProj = this.child('upProj', new Linear(dim, context, false, init));
    this.downProj = this.child('downProj', new Linear(context, dim, false, init));
  }
  forward(x: Tensor): Tensor {
    const h = F.geluErf(this.postProjectionNorm.forward(this.proj.forward(x)));
    return this.downProj.forward(F.swiglu(F.concat([this.gateProj.forward(h), this.upProj.forward(h)], -1)));
  }
}

/** (h, w) patch coordinates in pixel_values row order: merge blocks in raster order, raster inside each block. */
export function patchCoords(grids: readonly GridThw[], merge: number): { h: Int32Array; w: Int32Array; grid: number[] } {
  const n = grids.reduce((s, [t, gh, gw]) => s + t * gh * gw, 0);
  const h = new Int32Array(n), w = new Int32Array(n), grid: number[] = [];
  let i = 0;
  grids.forEach(([t, gh, gw], img) => {
    if (gh % merge !== 0 || gw % merge !== 0) throw new ShapeError(`vision: image ${img} has grid [${t}, ${gh}, ${gw}]; h and w must be multiples of spatial_merge_size ${merge}`);
    for (let tt = 0; tt < t; tt++)
      for (let bh = 0; bh < gh / merge; bh++)
        for (let bw = 0; bw < gw / merge; bw++)
          for (let ih = 0; ih < merge; ih++)
            for (let iw = 0; iw < merge; iw++, i++) {
              h[i] = bh * merge + ih;
              w[i] = bw * merge + iw;
              grid.push(img);
            }
  });
  return { h, w, grid };
}

/** Cubic-convolution weights of the four taps x0-1..x0+2 for fraction f (PyTorch's A = -0.75). */
export function cubicWeights(f: number): [number, number, number, number] {
  const A = -0.75;
  const c1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const c2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [c2(f + 1), c1(f), c1(1 - f), c2(2 - f)];
}

/**
 * The [N, S*S] matrix that resamples the S x S position table at each patch as
 * grid_sample(bicubic, align_corners=False, padding_mode='border') does: half-pixel source
 * coordinates, four taps per axis, each tap index clamped to [0, S-1].
 */
export function positionInterpolation(grids: readonly GridThw[], merge: number, side: number, dtype: 'f32' | 'f64'): Tensor {
  const { h, w, grid } = patchCoords(grids, merge);
  const n = h.length, S = side;
  const m = Tensor.zeros([n, S * S], dtype);
  const clamp = (i: number) => (i < 0 ? 0 : i > S - 1 ? S - 1 : i);
  for (let i = 0; i < n; i++) {
    const [, gh, gw] = grids[grid[i]];
    const sx = ((w[i] + 0.5) * S) / gw - 0.5, sy = ((h[i] + 0.5) * S) / gh - 0.5;
    const x0 = Math.floor(sx), y0 = Math.floor(sy);
    const wx = cubicWeights(sx - x0), wy = cubicWeights(sy - y0);
    for (let a = 0; a < 4; a++)
      for (let b = 0; b < 4; b++) m.data[i * S * S + clamp(y0 - 1 + a) * S + clamp(x0 - 1 + b)] += wy[a] * wx[b];
  }
  return m;
}

/** ViT rotary tables [N, hd/2]: pair i (dims i, i + hd/2) turns by h * inv[i] for i < hd/4, else w * inv[i - hd/4]. */
export function visionRopeTables(grids: readonly GridThw[], merge: number, headDim: number, dtype: 'f32' | 'f64', theta = 10000): { cos: Tensor; sin: Tensor } {
  const { h, w } = patchCoords(grids, merge);
  const half = headDim / 2, quarter = headDim / 4, n = h.length;
  const cos = Tensor.zeros([n, half], dtype), sin = Tensor.zeros([n, half], dtype);
  for (let i = 0; i < half; i++) {
    const k = i < quarter ? i : i - quarter;
    const inv = 1 / Math.pow(theta, (2 * k) / half);
    for (let p = 0; p < n; p++) {
      const angle = (i < quarter ? h[p] : w[p]) * inv;
      cos.data[p * half + i] = Math.cos(angle);
      sin.data[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

export class Glm4vVisionModel extends Module {
  readonly patchEmbed: PatchEmbed;
  readonly postConvLayernorm: RMSNorm;
  readonly embeddings: VisionEmbeddings;
  readonly blocks: VisionBlock[];
  readonly postLayernorm: RMSNorm;
  readonly downsample: ConvParams;
  readonly merger: PatchMerger;

  constructor(readonly config: Glm4vVisionConfig, init: InitOptions) {
    super();
    const v = config, D = v.hiddenSize, m = v.spatialMergeSize;
    this.patchEmbed = this.child('patchEmbed', new PatchEmbed(v, init));
    this.postConvLayernorm = this.child('postConvLayernorm', new RMSNorm(D, v.rmsNormEps, init.dtype));
    this.embeddings = this.child('embeddings', new VisionEmbeddings(v, init));
    const blocks: VisionBlock[] = [];
    for (let i = 0; i < v.depth; i++) blocks.push(new VisionBlock(v, init));
    this.blocks = this.children('blocks', blocks);
    this.postLayernorm = this.child('postLayernorm', new RMSNorm(D, v.rmsNormEps, init.dtype));
    this.downsample = this.child('downsample', new ConvParams([v.outHiddenSize, D, m, m], init));
    this.merger = this.child('merger', new PatchMerger(v.outHiddenSize, v.intermediateSize, init));
  }

  /** Patch rows per image: t * h * w. */
  static patchCount(grid: GridThw): number {
    return grid[0] * grid[1] * grid[2];
  }

  /** pixel_values [N, C*T*p*p] with grids [[t, h, w], ...] -> image features [N / merge^2, out_hidden_size]. */
  forward(pixelValues: Tensor, grids: readonly GridThw[]): Tensor {
    const v = this.config, m = v.spatialMergeSize, D = v.hiddenSize;
    const rowLen = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
    const n = grids.reduce((s, g) => s + Glm4vVisionModel.patchCount(g), 0);
    if (pixelValues.ndim !== 2 || pixelValues.shape[1] !== rowLen || pixelValues.shape[0] !== n) {
      throw new ShapeError(
        `vision: pixel_values must be [${n}, ${rowLen}] for image grids ${JSON.stringify(grids)} (sum of t*h*w rows of C*T*p*p), got [${pixelValues.shape.join(', ')}]`,
      );
    }
    const dtype = this.postLayernorm.weight.dtype === 'f64' ? 'f64' : 'f32';
    let x = this.postConvLayernorm.forward(this.patchEmbed.forward(pixelValues));
    const interp = positionInterpolation(grids, m, positionGridSide(v), dtype);
    x = F.add(x, F.matmul(interp, this.embeddings.positionEmbedding.weight));
    const { cos, sin } = visionRopeTables(grids, m, D / v.numHeads, dtype);
    const lengths: number[] = [];
    for (const [t, h, w] of grids) for (let i = 0; i < t; i++) lengths.push(h * w);
    for (const block of this.blocks) x = block.forward(x, cos, sin, lengths);
    x = this.postLayernorm.forward(x);
    // Conv2d(kernel = stride = merge) over each merge block: rows 4g..4g+3 hold (ih, iw) = (0,0), (0,1), (1,0), (1,1).
    const O = v.outHiddenSize;
    const wFlat = F.reshape(F.permute(this.downsample.weight, [0, 2, 3, 1]), [O, m * m * D]);
    x = F.linear(F.reshape(x, [n / (m * m), m * m * D]), wFlat, this.downsample.bias);
    return this.merger.forward(x);
  }
}
