/**
 * Math shared by the preference and RL trainers: per-token log-probabilities of given completions
 * under a policy (with autograd), masked sums and means, group-normalised advantages, KL estimates.
 */
import * as F from '../tensor/ops/index.js';
import { noGrad } from '../tensor/autograd.js';
import { withScratchBuffers } from '../tensor/buffer-pool.js';
import { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import type { GlmForCausalLM } from '../models/glm/model.js';

export interface SequenceBatch {
  /** [B, T] prompt + completion tokens, right-padded */
  ids: Tensor;
  /** [B, T] 1 for real tokens (right padding), or null */
  attentionMask: Int32Array | null;
  /** [B, T] 1 where the token at position t+1 is a completion token whose log-prob counts */
  lossMask: Float32Array;
}

/**
 * Builds a batch from (prompt, completion) token lists: right-padded ids, attention mask and the
 * mask of positions t whose next token (t+1) belongs to the completion.
 */
export function sequenceBatch(prompts: readonly (readonly number[])[], completions: readonly (readonly number[])[], padId: number, completionMasks?: readonly (readonly number[])[]): SequenceBatch {
  if (prompts.length !== completions.length) throw new ShapeError(`sequenceBatch: ${prompts.length} prompts but ${completions.length} completions`);
  const B = prompts.length;
  const T = Math.max(...prompts.map((p, i) => p.length + completions[i].length));
  const ids = new Int32Array(B * T).fill(padId), att = new Int32Array(B * T), mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const p = prompts[b], c = completions[b];
    for (let t = 0; t < p.length; t++) ids[b * T + t] = p[t];
    for (let t = 0; t < c.length; t++) {
      ids[b * T + p.length + t] = c[t];
      // position p.length + t - 1 predicts completion token t
      mask[b * T + p.length + t - 1] = completionMasks ? completionMasks[b][t] : 1;
    }
    for (let t = 0; t < p.length + c.length; t++) att[b * T + t] = 1;
  }
  return { ids: new Tensor(ids, [B, T]), attentionMask: att, lossMask: mask };
}

/** Next-token targets of a batch: ids shifted left, -100 at the last position and on padding. */
export function nextTokenTargets(batch: SequenceBatch): Tensor {
  const [B, T] = batch.ids.shape;
  const t = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++)
    for (let i = 0; i + 1 < T; i++) if (!batch.attentionMask || batch.attentionMask[b * T + i + 1]) t[b * T + i] = batch.ids.data[b * T + i + 1];
  return new Tensor(t, [B, T]);
}

/**
 * The logits of the distribution rollouts are sampled from: the first `vocabLimit` ids only (the
 * tokenizer's vocabulary when the model's embedding is padded past it; the sampler never draws a
 * padded id, so its distribution renormalises over the real ids), divided by `temperature`.
 * Trainers must take log-probs under exactly this distribution, or the importance ratio is not 1
 * before the first update (glmkit's RL checks report the difference as check/logprob_max_dev).
 */
export function samplingLogits(logits: Tensor, temperature = 1, vocabLimit?: number): Tensor {
  const V = logits.shape[logits.ndim - 1];
  const cut = vocabLimit !== undefined && vocabLimit < V ? F.slice(logits, logits.ndim - 1, 0, vocabLimit) : logits;
  return temperature === 1 ? cut : F.mul(cut, 1 / temperature);
}

/**
 * log pi(token_{t+1} | tokens_<=t) for every position: [B, T] (0 where there is no next token).
 * Logits are divided by `temperature` first and cut to the first `vocabLimit` ids when given (the
 * distribution the samples were drawn from, see `samplingLogits`). Differentiable w.r.t. the model's
 * parameters.
 */
export function tokenLogprobs(model: GlmForCausalLM, batch: SequenceBatch, temperature = 1, vocabLimit?: number): Tensor {
  const out = model.forward(batch.ids, { attentionMask: batch.attentionMask });
  return targetLogprobs(samplingLogits(out.logits!, temperature, vocabLimit), batch);
}

/**
 * log-softmax of `logits` [B, T, V] at each position's next token: [B, T] (0 where there is none,
 * and where a next token outside the loss mask is an id past V: a prompt's image markers when the
 * logits are cut to the ids a vision policy samples, `samplingLogits`). A token in the loss mask past
 * V is still an error (crossEntropy's range check).
 */
export function targetLogprobs(logits: Tensor, batch: SequenceBatch): Tensor {
  const targets = nextTokenTargets(batch);
  const V = logits.shape[logits.ndim - 1];
  const t = targets.data as Int32Array;
  for (let i = 0; i < t.length; i++) if (t[i] >= V && !batch.lossMask[i]) t[i] = -100;
  return F.neg(F.crossEntropy(logits, targets, { reduction: 'none', ignoreIndex: -100 }));
}

/** Sum of response-token log-probs per row: [B] (differentiable). */
export function sequenceLogps(model: GlmForCausalLM, batch: SequenceBatch, temperature = 1): Tensor {
  return maskedSum(tokenLogprobs(model, batch, temperature), batch.lossMask);
}

/**
 * fn's tensor, computed without a graph; every other buffer fn was given goes back to the pool
 * (withScratchBuffers, src/tensor/buffer-pool.ts). For computations that fill no cache.
 */
export function noGradResult(fn: () => Tensor): Tensor {
  return withScratchBuffers(() => noGrad(fn), (t) => [t.data]);
}

/** The same without building a graph (reference policies, old policies); the forward's buffers are handed back afterwards. */
export function tokenLogprobsNoGrad(model: GlmForCausalLM, batch: SequenceBatch, temperature = 1, vocabLimit?: number): Tensor {
  return noGradResult(() => tokenLogprobs(model, batch, temperature, vocabLimit));
}

/** sum over t of x[b, t] * mask[b, t] -> [B] */
export function maskedSum(x: Tensor, mask: Float32Array): Tensor {
  const [B, T] = x.shape;
  return F.sum(F.mul(x, new Tensor(mask, [B, T])), 1);
}

/** Per-row mean over masked positions -> [B] (0 for an empty row). */
export function maskedMeanRows(x: Tensor, mask: Float32Array): Tensor {
  const [B, T] = x.shape;
  const counts = new Float32Array(B);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) counts[b] += mask[b * T + t];
  for (let b = 0; b < B; b++) counts[b] = counts[b] > 0 ? 1 / counts[b] : 0;
  return F.mul(maskedSum(x, mask), new Tensor(counts, [B]));
}

/** Mean over all masked positions of the batch (token-mean) -> scalar. */
export function maskedMeanAll(x: Tensor, mask: Float32Array): Tensor {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return F.mul(F.sum(maskedSum(x, mask)), n > 0 ? 1 / n : 0);
}

/**
 * GRPO advantages: A_i = (r_i - mean(r)) / (std(r) + eps) within each group of `groupSize`
 * consecutive rewards (population std); with `scaleByStd` false only the mean is subtracted.
 */
export function groupAdvantages(rewards: readonly number[], groupSize: number, opts: { scaleByStd?: boolean; eps?: number } = {}): number[] {
  if (groupSize < 1 || rewards.length % groupSize !== 0) throw new ShapeError(`groupAdvantages: ${rewards.length} rewards do not split into groups of ${groupSize}`);
  const eps = opts.eps ?? 1e-6;
  const out = new Array<number>(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    const r = rewards.slice(g, g + groupSize);
    const mean = r.reduce((a, b) => a + b, 0) / groupSize;
    const std = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / groupSize);
    for (let i = 0; i < groupSize; i++) out[g + i] = opts.scaleByStd === false ? r[i] - mean : (r[i] - mean) / (std + eps);
  }
  return out;
}

/**
 * Per-token KL estimates between the policy and a reference from log-probs (Schulman's k1/k3):
 * k1 = logp - logp_ref; k3 = exp(logp_ref - logp) - (logp_ref - logp) - 1 (>= 0, unbiased).
 */
export function klPerToken(logp: Tensor, logpRef: Tensor, kind: 'k1' | 'k3' = 'k3'): Tensor {
  const d = F.sub(logpRef, logp);
  return kind === 'k1' ? F.neg(d) : F.sub(F.sub(F.exp(d), d), 1);
}

/** Entropy (nats) of the policy's next-token distributions at the masked positions: [B, T] grid and mean. */
export function positionEntropy(logits: Tensor, mask: Float32Array): { grid: Float32Array; mean: number } {
  return noGrad(() => {
    const V = logits.shape[2];
    const d = logits.data as Float32Array;
    const grid = new Float32Array(mask.length);
    let s = 0, n = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      const row = d.subarray(i * V, (i + 1) * V);
      let m = -Infinity;
      for (let v = 0; v < V; v++) if (row[v] > m) m = row[v];
      let z = 0, ez = 0;
      for (let v = 0; v < V; v++) {
        const e = Math.exp(row[v] - m);
        z += e;
        ez += e * (row[v] - m);
      }
      grid[i] = Math.log(z) - ez / z;
      s += grid[i];
      n++;
    }
    return { grid, mean: n ? s / n : 0 };
  });
}
