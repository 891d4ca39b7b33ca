/**
 * Reference scaled-dot-product attention with GQA, causal / prefix-bidirectional masks and key
 * padding (docs/methods.md §1.1, §1.5). Written to be obviously correct: one score row per
 * (batch, query head, query) is materialised, sums run in double precision.
 *
 * Layouts: q, out, dout, dq [B, Tq, Hq, D]; k, v, dk, dv [B, C, Hkv, D] with C = kvCapacity (default Tk;
 * only the first Tk slots are read); lse [B, Hq, Tq].
 * Query head h reads kv head floor(h / (Hq / Hkv)).
 * Key j is visible to query i iff (keyMask == null || keyMask[b, j] != 0) and
 *   (!causal || j <= qOffset + i || (prefixLen != null && j < prefixLen[b])).
 * A row with no visible key has out = 0, lse = -Infinity and contributes nothing to the gradients.
 */
import { ShapeError } from '../../../errors.js';
import type { AttentionBackwardArgs, AttentionForwardArgs, AttentionShape } from '../backend.js';

/** Whether key j is visible to query i of batch row b. */
export function keyVisible(s: AttentionShape, b: number, i: number, j: number): boolean {
  if (s.keyMask !== null && s.keyMask[b * (s.kvCapacity ?? s.tk) + j] === 0) return false;
  if (!s.causal) return true;
  return j <= s.qOffset + i || (s.prefixLen !== null && j < s.prefixLen[b]);
}

/** Offsets of element 0 of row (b, t, h) in a [B, T, H, D] array. */
function rowOffset(b: number, t: number, h: number, T: number, H: number, D: number): number {
  return ((b * T + t) * H + h) * D;
}

/** out = softmax(scale * q k^T + mask) v per (b, h); lse = log-sum-exp of each scaled score row. */
export function attentionForward(p: AttentionForwardArgs): void {
  const { batch: B, tq, tk, headsQ: Hq, headsKv: Hkv, headDim: D, scale, q, k, v, out, lse } = p;
  const C = p.kvCapacity ?? tk;
  const group = Hq / Hkv;
  const scores = new Float64Array(tk);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / group);
      for (let i = 0; i < tq; i++) {
        const qo = rowOffset(b, i, h, tq, Hq, D);
        // scaled scores of the visible keys, and their maximum
        let max = -Infinity;
        for (let j = 0; j < tk; j++) {
          if (!keyVisible(p, b, i, j)) {
            scores[j] = -Infinity;
            continue;
          }
          const ko = rowOffset(b, j, hk, C, Hkv, D);
          let s = 0;
          for (let d = 0; d < D; d++) s += q[qo + d] * k[ko + d];
          scores[j] = scale * s;
          if (scores[j] > max) max = scores[j];
        }
        acc.fill(0);
        let sum = 0;
        if (max !== -Infinity) {
          for (let j = 0; j < tk; j++) {
            if (scores[j] === -Infinity) continue;
            const e = Math.exp(scores[j] - max);
            sum += e;
            const vo = rowOffset(b, j, hk, C, Hkv, D);
            for (let d = 0; d < D; d++) acc[d] += e * v[vo + d];
          }
        }
        for (let d = 0; d < D; d++) out[qo + d] = sum > 0 ? acc[d] / sum : 0;
        lse[(b * Hq + h) * tq + i] = sum > 0 ? max + Math.log(sum) : -Infinity;
      }
    }
  }
}

/**
 * Gradients of attentionForward, with P recomputed from q, k and the saved lse:
 *   P_ij = exp(scale q_i·k_j - lse_i) (0 when hidden), Delta_i = dout_i · out_i,
 *   dv_j = Σ_i P_ij dout_i,  dS_ij = P_ij (dout_i · v_j - Delta_i),
 *   dq_i = scale Σ_j dS_ij k_j,  dk_j = scale Σ_i dS_ij q_i   (dk, dv summed over a GQA group).
 * dq, dk and dv are overwritten.
 */
export function attentionBackward(p: AttentionBackwardArgs): void {
  const { batch: B, tq, tk, headsQ: Hq, headsKv: Hkv, headDim: D, scale, q, k, v, out, lse, dout, dq, dk, dv } = p;
  if (p.kvCapacity !== undefined && p.kvCapacity !== tk) throw new ShapeError(`attentionBackward: kvCapacity (${p.kvCapacity}) must equal tk (${tk}); a KV cache's buffers are for inference only`);
  const C = tk;
  const group = Hq / Hkv;
  dq.fill(0);
  dk.fill(0);
  dv.fill(0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / group);
      for (let i = 0; i < tq; i++) {
        const l = lse[(b * Hq + h) * tq + i];
        if (l === -Infinity) continue;
        const qo = rowOffset(b, i, h, tq, Hq, D);
        let delta = 0;
        for (let d = 0; d < D; d++) delta += dout[qo + d] * out[qo + d];
        for (let j = 0; j < tk; j++) {
          if (!keyVisible(p, b, i, j)) continue;
          const ko = rowOffset(b, j, hk, C, Hkv, D);
          let s = 0;
          let dpij = 0;
          for (let d = 0; d < D; d++) {
            s += q[qo + d] * k[ko + d];
            dpij += dout[qo + d] * v[ko + d];
          }
          const pij = Math.exp(scale * s - l);
          const ds = pij * (dpij - delta) * scale;
          for (let d = 0; d < D; d++) {
            dv[ko + d] += pij * dout[qo + d];
            dq[qo + d] += ds * k[ko + d];
            dk[ko + d] += ds * q[qo + d];
          }
        }
      }
    }
  }
}
