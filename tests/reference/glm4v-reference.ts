/**
 * An independent float64 reference of HF's Glm4vForConditionalGeneration forward (transformers
 * modeling_glm4v.py), for parity tests only. It imports nothing from glmkit: weights come in as a
 * map from HF tensor names to flat arrays, the config as the HF config.json object, and every step is
 * a plain loop written from the HF module it names (Conv3d patch embed, Glm4vRMSNorm,
 * Glm4vVisionEmbeddings' grid_sample(bicubic, border), rotate_half vision RoPE, eager attention per
 * cu_seqlens chunk, Conv2d downsample, Glm4vVisionPatchMerger, get_rope_index with groupby,
 * apply_multimodal_rotary_pos_emb with the section split and repeat_interleave, the sandwich-norm
 * decoder layer, lm_head). Batch size 1, no padding, no cache.
 */

export type Weights = Map<string, { shape: number[]; data: ArrayLike<number> }>;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function W(weights: Weights, name: string): Float64Array {
  const t = weights.get(name);
  if (!t) throw new Error(`reference: missing weight ${name}`);
  return Float64Array.from(t.data);
}

/** y[n, o] = sum_i x[n, i] * w[o, i] + b[o] (nn.Linear) */
function linear(x: Float64Array, n: number, inF: number, w: Float64Array, outF: number, b: Float64Array | null): Float64Array {
  const y = new Float64Array(n * outF);
  for (let r = 0; r < n; r++)
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = s;
    }
  return y;
}

function rmsNorm(x: Float64Array, n: number, d: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    let v = 0;
    for (let i = 0; i < d; i++) v += x[r * d + i] ** 2;
    const s = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) y[r * d + i] = w[i] * (x[r * d + i] * s);
  }
  return y;
}

function layerNorm(x: Float64Array, n: number, d: number, w: Float64Array, b: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    let mu = 0;
    for (let i = 0; i < d; i++) mu += x[r * d + i];
    mu /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i] - mu) ** 2;
    v /= d;
    for (let i = 0; i < d; i++) y[r * d + i] = ((x[r * d + i] - mu) / Math.sqrt(v + eps)) * w[i] + b[i];
  }
  return y;
}

/** erf by the Taylor series around 0 (|x| <= 4) and 1 - erfc asymptotics beyond; ~1e-14 in the range used. */
function erf(x: number): number {
  const s = Math.sign(x), a = Math.abs(x);
  if (a > 6) return s;
  let term = a, sum = a, n = 0;
  while (Math.abs(term) > 1e-18 * Math.abs(sum) && n < 400) {
    n++;
    term *= (-a * a) / n;
    sum += term / (2 * n + 1);
  }
  return (s * 2 * sum) / Math.sqrt(Math.PI);
}

const silu = (v: number) => v / (1 + Math.exp(-v));
const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

/** down(act(gate(x)) * up(x)) with separate projections, no bias (Glm4VisionMlp and the merger's tail). */
function gatedMlp(x: Float64Array, n: number, d: number, g: Float64Array, u: Float64Array, dn: Float64Array, inter: number): Float64Array {
  const a = linear(x, n, d, g, inter, null), b = linear(x, n, d, u, inter, null);
  for (let i = 0; i < a.length; i++) a[i] = silu(a[i]) * b[i];
  return linear(a, n, inter, dn, d, null);
}

/** PyTorch upsample bicubic coefficients (A = -0.75) for fraction t. */
function cubicCoeffs(t: number): number[] {
  const A = -0.75;
  const cc1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const cc2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)];
}

/** F.grid_sample(input [C, S, S], one point (gx, gy) in [-1, 1], bicubic, align_corners=False, padding border). */
function gridSampleBicubic(table: Float64Array, S: number, C: number, gx: number, gy: number, out: Float64Array): void {
  const ix = ((gx + 1) * S - 1) / 2, iy = ((gy + 1) * S - 1) / 2; // unnormalize, align_corners=False
  const ix0 = Math.floor(ix), iy0 = Math.floor(iy);
  const cx = cubicCoeffs(ix - ix0), cy = cubicCoeffs(iy - iy0);
  const clip = (v: number) => Math.min(S - 1, Math.max(0, v)); // border padding: clip each tap
  out.fill(0);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      const yy = clip(iy0 - 1 + i), xx = clip(ix0 - 1 + j);
      const wgt = cy[i] * cx[j];
      for (let c = 0; c < C; c++) out[c] += wgt * table[(yy * S + xx) * C + c]; // table is the [S*S, C] embedding (view(S,S,C))
    }
}

/** softmax(q k^T * scale) v over one chunk, all heads; q,k,v [L, H, hd] -> [L, H, hd]. causal optional. */
function attend(q: Float64Array, k: Float64Array, v: Float64Array, L: number, Hq: number, Hkv: number, hd: number, causal: boolean): Float64Array {
  const out = new Float64Array(L * Hq * hd);
  const scale = 1 / Math.sqrt(hd);
  const sc = new Float64Array(L);
  for (let h = 0; h < Hq; h++) {
    const hk = Math.floor(h / (Hq / Hkv));
    for (let i = 0; i < L; i++) {
      let mx = -Infinity;
      const lim = causal ? i + 1 : L;
      for (let j = 0; j < lim; j++) {
        let s = 0;
        for (let e = 0; e < hd; e++) s += q[(i * Hq + h) * hd + e] * k[(j * Hkv + hk) * hd + e];
        sc[j] = s * scale;
        mx = Math.max(mx, sc[j]);
      }
      let z = 0;
      for (let j = 0; j < lim; j++) z += (sc[j] = Math.exp(sc[j] - mx));
      for (let j = 0; j < lim; j++)
        for (let e = 0; e < hd; e++) out[(i * Hq + h) * hd + e] += (sc[j] / z) * v[(j * Hkv + hk) * hd + e];
    }
  }
  return out;
}

/** Glm4vVisionModel.forward: pixel_values [N, C*T*p*p], grid_thw -> [N/4, out_hidden]. */
export function referenceVision(weights: Weights, vc: Json, pixels: ArrayLike<number>, grids: number[][]): Float64Array {
  const D = vc.hidden_size, H = vc.num_heads, hd = D / H, C = vc.in_channels ?? 3, Tp = vc.temporal_patch_size, P = vc.patch_size;
  const m = vc.spatial_merge_size, O = vc.out_hidden_size, I = vc.intermediate_size, eps = vc.rms_norm_eps;
  const K = C * Tp * P * P;
  const N = grids.reduce((s, g) => s + g[0] * g[1] * g[2], 0);
  const px = Float64Array.from(pixels);
  // Conv3d with kernel = stride over each [C, T, P, P] patch.
  const pw = W(weights, 'model.visual.patch_embed.proj.weight'), pb = W(weights, 'model.visual.patch_embed.proj.bias');
  let x: Float64Array = new Float64Array(N * D);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < D; o++) {
      let s = pb[o];
      for (let c = 0; c < C; c++)
        for (let t = 0; t < Tp; t++)
          for (let a = 0; a < P; a++)
            for (let b = 0; b < P; b++) {
              const idx = ((c * Tp + t) * P + a) * P + b;
              s += pw[o * K + idx] * px[n * K + idx];
            }
      x[n * D + o] = s;
    }
  x = rmsNorm(x, N, D, W(weights, 'model.visual.post_conv_layernorm.weight'), eps);
  // rot_pos_emb: hpos/wpos per image, reshaped (h/m, m, w/m, m) and permuted (0, 2, 1, 3).
  const hpos: number[] = [], wpos: number[] = [], th: number[] = [], tw: number[] = [];
  for (const [t, h, w] of grids) {
    for (let rep = 0; rep < t; rep++)
      for (let a = 0; a < h / m; a++)
        for (let b = 0; b < w / m; b++)
          for (let c = 0; c < m; c++)
            for (let d = 0; d < m; d++) {
              hpos.push(a * m + c);
              wpos.push(b * m + d);
              th.push(h);
              tw.push(w);
            }
  }
  // Glm4vVisionEmbeddings: grid_sample of the [S, S] table at ((w + 0.5) / W * 2 - 1, (h + 0.5) / H * 2 - 1).
  const table = W(weights, 'model.visual.embeddings.position_embedding.weight');
  const S = Math.round(Math.sqrt(table.length / D));
  const tmp = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    gridSampleBicubic(table, S, D, ((wpos[n] + 0.5) / tw[n]) * 2 - 1, ((hpos[n] + 0.5) / th[n]) * 2 - 1, tmp);
    for (let c = 0; c < D; c++) x[n * D + c] += tmp[c];
  }
  // Glm4vVisionRotaryEmbedding(hd / 2): inv_freq over dim = hd/2; emb = cat(freqs_h, freqs_w) then cat(emb, emb).
  const dim = hd / 2;
  const inv: number[] = [];
  for (let i = 0; i < dim; i += 2) inv.push(1 / Math.pow(10000, i / dim));
  const cosT = new Float64Array(N * hd), sinT = new Float64Array(N * hd);
  for (let n = 0; n < N; n++) {
    const f = [...inv.map((q) => hpos[n] * q), ...inv.map((q) => wpos[n] * q)];
    const emb = [...f, ...f];
    for (let e = 0; e < hd; e++) {
      cosT[n * hd + e] = Math.cos(emb[e]);
      sinT[n * hd + e] = Math.sin(emb[e]);
    }
  }
  const rotateHalfApply = (q: Float64Array) => {
    const out = new Float64Array(q.length);
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++)
        for (let e = 0; e < hd; e++) {
          const base = (n * H + h) * hd;
          const rh = e < hd / 2 ? -q[base + e + hd / 2] : q[base + e - hd / 2];
          out[base + e] = q[base + e] * cosT[n * hd + e] + rh * sinT[n * hd + e];
        }
    return out;
  };
  const cu: number[] = [0];
  for (const [t, h, w] of grids) for (let i = 0; i < t; i++) cu.push(cu[cu.length - 1] + h * w);
  for (let blk = 0; blk < vc.depth; blk++) {
    const p = (s: string) => W(weights, `model.visual.blocks.${blk}.${s}`);
    const hN = rmsNorm(x, N, D, p('norm1.weight'), eps);
    const qkvB = weights.has(`model.visual.blocks.${blk}.attn.qkv.bias`) ? p('attn.qkv.bias') : null;
    const qkv = linear(hN, N, D, p('attn.qkv.weight'), 3 * D, qkvB); // reshape(N, 3, H, hd)
    let q: Float64Array = new Float64Array(N * D), k: Float64Array = new Float64Array(N * D);
    const v = new Float64Array(N * D);
    for (let n = 0; n < N; n++)
      for (let j = 0; j < D; j++) {
        q[n * D + j] = qkv[n * 3 * D + j];
        k[n * D + j] = qkv[n * 3 * D + D + j];
        v[n * D + j] = qkv[n * 3 * D + 2 * D + j];
      }
    q = rotateHalfApply(q);
    k = rotateHalfApply(k);
    const att = new Float64Array(N * D);
    for (let c = 0; c + 1 < cu.length; c++) {
      const a = cu[c], L = cu[c + 1] - a;
      const o = attend(q.subarray(a * D, (a + L) * D), k.subarray(a * D, (a + L) * D), v.subarray(a * D, (a + L) * D), L, H, H, hd, false);
      att.set(o, a * D);
    }
    const proj = linear(att, N, D, p('attn.proj.weight'), D, null);
    for (let i = 0; i < x.length; i++) x[i] += proj[i];
    const mlp = gatedMlp(rmsNorm(x, N, D, p('norm2.weight'), eps), N, D, p('mlp.gate_proj.weight'), p('mlp.up_proj.weight'), p('mlp.down_proj.weight'), O);
    for (let i = 0; i < x.length; i++) x[i] += mlp[i];
  }
  x = rmsNorm(x, N, D, W(weights, 'model.visual.post_layernorm.weight'), eps);
  // view(-1, m, m, D).permute(0, 3, 1, 2) then Conv2d(D, O, m, stride m).
  const dw = W(weights, 'model.visual.downsample.weight'), db = W(weights, 'model.visual.downsample.bias');
  const G = N / (m * m);
  let y: Float64Array = new Float64Array(G * O);
  for (let g = 0; g < G; g++)
    for (let o = 0; o < O; o++) {
      let s = db[o];
      for (let c = 0; c < D; c++)
        for (let a = 0; a < m; a++)
          for (let b = 0; b < m; b++) s += dw[((o * D + c) * m + a) * m + b] * x[(g * m * m + a * m + b) * D + c];
      y[g * O + o] = s;
    }
  // Glm4vVisionPatchMerger
  y = linear(y, G, O, W(weights, 'model.visual.merger.proj.weight'), O, null);
  y = layerNorm(y, G, O, W(weights, 'model.visual.merger.post_projection_norm.weight'), W(weights, 'model.visual.merger.post_projection_norm.bias'), 1e-5);
  for (let i = 0; i < y.length; i++) y[i] = gelu(y[i]);
  return gatedMlp(y, G, O, W(weights, 'model.visual.merger.gate_proj.weight'), W(weights, 'model.visual.merger.up_proj.weight'), W(weights, 'model.visual.merger.down_proj.weight'), I);
}

/** Glm4vModel.get_rope_index for one unpadded sequence of images and text: [3][T] and the rope delta. */
export function referenceRopeIndex(ids: number[], grids: number[][], cfg: Json): { pos: number[][]; delta: number } {
  const m = cfg.vision_config.spatial_merge_size;
  let videoCheck = false;
  const types: string[] = ids.map((t) => {
    if (t === cfg.video_start_token_id) videoCheck = true;
    else if (t === cfg.video_end_token_id) videoCheck = false;
    return t === cfg.image_token_id && !videoCheck ? 'image' : t === cfg.image_token_id ? 'video' : 'text';
  });
  // itertools.groupby over the types
  const groups: [string, number, number][] = [];
  for (let i = 0; i < types.length; ) {
    let j = i;
    while (j < types.length && types[j] === types[i]) j++;
    groups.push([types[i], i, j]);
    i = j;
  }
  const lists: number[][][] = []; // each [3][len]
  let imageIndex = 0;
  const maxOf = (l: number[][]) => Math.max(...l.flat());
  for (const [type, s, e] of groups) {
    const st = lists.length > 0 ? maxOf(lists[lists.length - 1]) + 1 : 0;
    if (type === 'image') {
      const [t, h, w] = grids[imageIndex++];
      const lt = t, lh = h / m, lw = w / m;
      const tI: number[] = [], hI: number[] = [], wI: number[] = [];
      for (let a = 0; a < lt; a++) for (let b = 0; b < lh; b++) for (let c = 0; c < lw; c++) {
        tI.push(a + st);
        hI.push(b + st);
        wI.push(c + st);
      }
      lists.push([tI, hI, wI]);
    } else if (type === 'text') {
      const r = Array.from({ length: e - s }, (_, i) => i + st);
      lists.push([r, [...r], [...r]]);
    } else {
      throw new Error('reference: video not implemented');
    }
  }
  const pos = [0, 1, 2].map((row) => lists.flatMap((l) => l[row]));
  return { pos, delta: Math.max(...pos.flat()) + 1 - ids.length };
}

/** Glm4vForConditionalGeneration.forward logits [T, V] for one sequence with its images. */
export function referenceLogits(weights: Weights, cfg: Json, ids: number[], pixels: ArrayLike<number> | null, grids: number[][]): { logits: Float64Array; pos: number[][]; delta: number } {
  const tc = cfg.text_config, T = ids.length;
  const Hd = tc.hidden_size, nH = tc.num_attention_heads, nKv = tc.num_key_value_heads, hd = Hd / nH, eps = tc.rms_norm_eps;
  const V = tc.vocab_size, I = tc.intermediate_size;
  const emb = W(weights, 'model.language_model.embed_tokens.weight');
  const x = new Float64Array(T * Hd);
  for (let t = 0; t < T; t++) for (let i = 0; i < Hd; i++) x[t * Hd + i] = emb[ids[t] * Hd + i];
  if (pixels && grids.length > 0) {
    const feats = referenceVision(weights, cfg.vision_config, pixels, grids);
    let k = 0; // masked_scatter: feature rows in order into image-token rows
    for (let t = 0; t < T; t++) if (ids[t] === cfg.image_token_id) { for (let i = 0; i < Hd; i++) x[t * Hd + i] = feats[k * Hd + i]; k++; }
    if (k * Hd !== feats.length) throw new Error('reference: image token count mismatch');
  }
  const { pos, delta } = referenceRopeIndex(ids, grids, cfg);
  // Glm4vTextRotaryEmbedding + apply_multimodal_rotary_pos_emb
  const rd = Math.floor(hd * (tc.partial_rotary_factor ?? 0.5));
  const invF: number[] = [];
  for (let i = 0; i < rd; i += 2) invF.push(1 / Math.pow(tc.rope_theta ?? 10000, i / rd));
  const sec: number[] = (tc.rope_scaling ?? tc.rope_parameters).mrope_section;
  const sec2 = [...sec, ...sec];
  const cosR: number[][] = [], sinR: number[][] = []; // [T][rd] after section selection and repeat_interleave
  for (let t = 0; t < T; t++) {
    const embRows = [0, 1, 2].map((r) => {
      const f = invF.map((q) => pos[r][t] * q);
      return [...f, ...f];
    });
    const pick: number[] = [];
    let off = 0;
    sec2.forEach((len, i) => {
      for (let e = off; e < off + len; e++) pick.push(embRows[i % 3][e]);
      off += len;
    });
    const half = pick.slice(0, pick.length / 2);
    const rep = half.flatMap((a) => [a, a]);
    cosR.push(rep.map(Math.cos));
    sinR.push(rep.map(Math.sin));
  }
  const applyRope = (q: Float64Array, heads: number) => {
    for (let t = 0; t < T; t++)
      for (let h = 0; h < heads; h++) {
        const b = (t * heads + h) * hd;
        const rot = Array.from({ length: rd }, (_, e) => q[b + e]);
        // rotate_half_llm: stack((-x[1::2], x[0::2]), -1).flatten(-2)
        const rh = Array.from({ length: rd }, (_, e) => (e % 2 === 0 ? -rot[e + 1] : rot[e - 1]));
        for (let e = 0; e < rd; e++) q[b + e] = rot[e] * cosR[t][e] + rh[e] * sinR[t][e];
      }
  };
  for (let l = 0; l < tc.num_hidden_layers; l++) {
    const p = (s: string) => W(weights, `model.language_model.layers.${l}.${s}`);
    const hN = rmsNorm(x, T, Hd, p('input_layernorm.weight'), eps);
    const q = linear(hN, T, Hd, p('self_attn.q_proj.weight'), nH * hd, p('self_attn.q_proj.bias'));
    const k = linear(hN, T, Hd, p('self_attn.k_proj.weight'), nKv * hd, p('self_attn.k_proj.bias'));
    const v = linear(hN, T, Hd, p('self_attn.v_proj.weight'), nKv * hd, p('self_attn.v_proj.bias'));
    applyRope(q, nH);
    applyRope(k, nKv);
    let a = linear(attend(q, k, v, T, nH, nKv, hd, true), T, nH * hd, p('self_attn.o_proj.weight'), Hd, null);
    a = rmsNorm(a, T, Hd, p('post_self_attn_layernorm.weight'), eps);
    for (let i = 0; i < x.length; i++) x[i] += a[i];
    const h2 = rmsNorm(x, T, Hd, p('post_attention_layernorm.weight'), eps);
    const gu = linear(h2, T, Hd, p('mlp.gate_up_proj.weight'), 2 * I, null); // chunk(2): gate first
    const act = new Float64Array(T * I);
    for (let t = 0; t < T; t++) for (let i = 0; i < I; i++) act[t * I + i] = gu[t * 2 * I + I + i] * silu(gu[t * 2 * I + i]);
    let mo = linear(act, T, I, p('mlp.down_proj.weight'), Hd, null);
    mo = rmsNorm(mo, T, Hd, p('post_mlp_layernorm.weight'), eps);
    for (let i = 0; i < x.length; i++) x[i] += mo[i];
  }
  const hf = rmsNorm(x, T, Hd, W(weights, 'model.language_model.norm.weight'), eps);
  const head = weights.has('lm_head.weight') ? W(weights, 'lm_head.weight') : emb;
  return { logits: linear(hf, T, Hd, head, V, null), pos, delta };
}
