/** The basic layers: Linear (HF layout [out, in]), Embedding, RMSNorm, LayerNorm. */
import { Rng } from '../util/rng.js';
import { Tensor } from '../tensor/tensor.js';
import * as F from '../tensor/ops/index.js';
import { Module } from './module.js';

export interface InitOptions {
  rng: Rng;
  /** standard deviation of the normal init (HF initializer_range) */
  std: number;
  /** parameter dtype (default f32; f64 for gradient checks on the reference backend) */
  dtype?: 'f32' | 'f64';
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias: boolean, init: InitOptions) {
    super();
    this.weight = this.param('weight', Tensor.randn([outFeatures, inFeatures], init.rng, init.std, init.dtype));
    this.bias = bias ? this.param('bias', Tensor.zeros([outFeatures], init.dtype)) : null;
  }
  /** x [..., in] -> [..., out] */
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly dim: number, init: InitOptions) {
    super();
    this.weight = this.param('weight', Tensor.randn([numEmbeddings, dim], init.rng, init.std, init.dtype));
  }
  /** ids int32 [...] -> [..., dim] */
  forward(ids: Tensor): Tensor {
    return F.embedding(this.weight, ids);
  }
}

export class RMSNorm extends Module {
  readonly weight: Tensor;
  constructor(readonly dim: number, readonly eps: number, dtype: 'f32' | 'f64' = 'f32') {
    super();
    this.weight = this.param('weight', Tensor.ones([dim], dtype));
  }
  /** x [..., dim] -> same shape */
  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.weight, this.eps);
  }
}

/** torch.nn.LayerNorm(dim, eps) with elementwise affine: weight ones, bias zeros. */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly dim: number, readonly eps: number, dtype: 'f32' | 'f64' = 'f32') {
    super();
    this.weight = this.param('weight', Tensor.ones([dim], dtype));
    this.bias = this.param('bias', Tensor.zeros([dim], dtype));
  }
  /** x [..., dim] -> same shape */
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.weight, this.bias, this.eps);
  }
}
