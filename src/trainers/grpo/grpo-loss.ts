/**
 * The GRPO loss of one micro-batch (docs/methods.md §6): the clipped surrogate per generated token
 * (+ beta * KL_k3 against the reference when beta > 0), weighted by the loss type (token mean,
 * sample mean, Dr. GRPO), with truncated importance weights for samples from an older policy
 * (--rollout-ahead). Used by GrpoTrainer (grpo-trainer.ts).
 */
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { ConfigError } from '../../errors.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import { klPerToken, positionEntropy, samplingLogits, sequenceBatch, targetLogprobs } from '../rl-utils.js';
import { logprobDeviation, type LogprobDeviation } from '../checks/logprob-check.js';
import { clearRouting, routingAgreement, withRoutingRecorded, type RoutingAgreement } from '../checks/routing-check.js';
import type { RlPrompt } from './grpo-data.js';
import { asPolicy, logprobsNoGrad, type GrpoPolicy } from './policy.js';
import { applyBehaviourWeights, behaviourGrid } from '../remote/off-policy.js';
import type { GrpoConfig } from './grpo-config.js';
import type { Sample } from './grpo-trainer.js';
import { eosDroppedRows } from '../checks/sequence-checks.js';

/**
 * The clipped surrogate -min(rho A, clip(rho, 1 - epsLow, 1 + epsHigh) A) per token, split as
 * coef * rho + constant: where the clip binds (A > 0 and rho > 1 + epsHigh, or A < 0 and
 * rho < 1 - epsLow) coef = 0 and constant = -clip(rho) A; elsewhere coef = -A and constant = 0.
 */
export function clipCoefficients(ratio: ArrayLike<number>, adv: ArrayLike<number>, mask: ArrayLike<number>, epsLow: number, epsHigh: number): { coef: Float32Array; constant: Float32Array; tokens: number; low: number; high: number } {
  const coef = new Float32Array(mask.length), constant = new Float32Array(mask.length);
  let tokens = 0, low = 0, high = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    tokens++;
    const r = ratio[i], a = adv[i];
    if (a > 0 && r > 1 + epsHigh) {
      high++;
      constant[i] = -(1 + epsHigh) * a;
    } else if (a < 0 && r < 1 - epsLow) {
      low++;
      constant[i] = -(1 - epsLow) * a;
    } else coef[i] = -a;
  }
  return { coef, constant, tokens, low, high };
}

/** Settings of `grpoLoss`. */
export interface GrpoLossOptions {
  temperature: number;
  epsilon: number;
  epsilon_high: number;
  beta: number;
  loss_type: GrpoConfig['loss_type'];
  padId: number;
  /** generated tokens and samples of the whole optimizer step (the normalisers) */
  totals: { tokens: number; samples: number };
  /** dr_grpo: the generated-token budget per sample (the constant normaliser) */
  max_completion_length?: number;
  /** ids the sampler could draw (the tokenizer's vocabulary); log-probs renormalise over these */
  vocabLimit?: number;
  /** the policy is still the one that sampled the chunk: compare its log-probs (and MoE routing) with the sampler's */
  compareSampler?: boolean;
  /** MoE: route sampled tokens to the experts the rollout chose (routing replay) */
  routingReplay?: boolean;
  /**
   * off-policy correction (--rollout-ahead): each token's surrogate is weighted by the truncated
   * importance weight min(pi_old / pi_behaviour, cap), pi_behaviour being the sampler's log-probs
   */
  behaviourCap?: number | null;
  /**
   * the record each sample was drawn from (row order of the chunk): a vision policy's forward takes
   * their images; a text policy needs none
   */
  records?: readonly RlPrompt[];
}

/** What grpoLoss measured beyond the loss: per-position grids for dumps, and the sampler checks. */
export interface GrpoLossDetail {
  /** [B, T] trainer log-probs, reference log-probs (beta > 0) and entropies (masked positions) */
  T: number;
  logp: Float32Array;
  ref: Float32Array | null;
  entropy: Float32Array;
  /** with compareSampler: trainer vs sampler log-probs of the sampled tokens */
  deviation: LogprobDeviation | null;
  /** with compareSampler on an MoE policy whose rollouts recorded their routing */
  routing: RoutingAgreement | null;
  /** rows whose final stop token is not in the loss */
  eosDropped: number[];
}

/**
 * The GRPO loss share of one micro-batch of samples: clipped surrogate per generated token, plus
 * beta * KL_k3 to `ref` when given, averaged token-mean or sample-mean over the whole step.
 * Returns the differentiable loss, its full value (clipped tokens' constants included) and metrics.
 */
export function grpoLoss(policyOrModel: GlmForCausalLM | GrpoPolicy, refOrModel: GlmForCausalLM | GrpoPolicy | null, chunk: readonly Sample[], c: GrpoLossOptions): { loss: Tensor; value: number; tokens: number; metrics: Record<string, number>; detail: GrpoLossDetail } {
  const temperature = c.temperature;
  const policy = asPolicy(policyOrModel), ref = refOrModel ? asPolicy(refOrModel) : null;
  const records = c.records ?? [];
  const batch = sequenceBatch(chunk.map((s) => s.r.promptIds), chunk.map((s) => s.r.completion), c.padId, chunk.map((s) => s.r.mask));
  const [B, T] = batch.ids.shape;
  const offsets = chunk.map((s) => s.r.promptIds.length - 1);
  const recordRouting = !!c.compareSampler && !!policy.causal && chunk.some((s) => s.r.routing);
  const replay = c.routingReplay ? { offsets, routing: chunk.map((s) => s.r.routing), promptRouting: chunk.map((s) => s.r.promptRouting) } : null;
  const forward = () => policy.logits(records, batch, replay);
  const fwd = recordRouting ? withRoutingRecorded(policy.causal!, forward) : { result: forward(), layers: [] };
  const logits = samplingLogits(fwd.result, temperature, c.vocabLimit);
  const logp = targetLogprobs(logits, batch); // [B, T]
  const ent = positionEntropy(logits, batch.lossMask);
  const deviation = c.compareSampler ? logprobDeviation(logp.data, T, offsets, chunk.map((s) => s.r.logprobs), chunk.map((s) => s.r.mask)) : null;
  let routing: RoutingAgreement | null = null;
  if (fwd.layers.length > 0) {
    routing = routingAgreement(fwd.layers, T, offsets, chunk.map((s) => s.r.routing));
    clearRouting(fwd.layers);
  }
  const eosDropped = eosDroppedRows(batch, chunk.map((s) => (s.r.finish === 'stop' ? s.r.completion.at(-1)! : null)));
  // old log-probs: the sampling policy = the current one when each batch is used once
  const old = new Float32Array(B * T);
  const adv = new Float32Array(B * T);
  chunk.forEach((s, b) => {
    const base = s.r.promptIds.length - 1;
    for (let t = 0; t < s.r.completion.length; t++) {
      const pos = b * T + base + t;
      old[pos] = s.old ? s.old[t] : (logp.data[pos] as number);
      adv[pos] = s.advantage;
    }
  });
  const ratio = F.exp(F.sub(logp, new Tensor(old, [B, T])));
  const { coef, constant, tokens: n, low, high } = clipCoefficients(ratio.data as Float32Array, adv, batch.lossMask, c.epsilon, c.epsilon_high);
  const is = c.behaviourCap ? applyBehaviourWeights(coef, constant, old, behaviourGrid(chunk, B, T), batch.lossMask, c.behaviourCap) : null;
  let perToken = F.mul(ratio, new Tensor(coef, [B, T])); // -rho A where unclipped, 0 where clipped
  let klMean = NaN;
  let refGrid: Float32Array | null = null;
  if (ref) {
    const refLp = logprobsNoGrad(ref, records, batch, null, temperature, c.vocabLimit);
    refGrid = refLp.data as Float32Array;
    const kl = klPerToken(logp, refLp, 'k3');
    klMean = maskedMean(kl.data as Float32Array, batch.lossMask);
    perToken = F.add(perToken, F.mul(kl, c.beta));
  }
  if (c.loss_type === 'dr_grpo' && !(c.max_completion_length! > 0)) throw new ConfigError('grpoLoss: loss_type dr_grpo needs max_completion_length (the constant normaliser)');
  const { weights, scale } = lossWeights(chunk, batch.lossMask, B, T, c.loss_type, c.totals, c.max_completion_length ?? 0);
  const loss = F.mul(F.sum(F.mul(perToken, new Tensor(weights, [B, T]))), scale);
  let constValue = 0;
  for (let i = 0; i < B * T; i++) constValue += constant[i] * weights[i];
  const value = (loss.data[0] as number) + constValue * scale;
  const metrics: Record<string, number> = {
    entropy: ent.mean,
    clip_ratio: n ? (low + high) / n : 0,
    'clip_ratio/low_mean': n ? low / n : 0,
    'clip_ratio/high_mean': n ? high / n : 0,
    ...(is ? { 'rollout/is_weight_mean': is.mean, 'rollout/is_capped_ratio': is.capped } : {}),
  };
  if (ref) metrics.kl = klMean;
  return { loss, value, tokens: n, metrics, detail: { T, logp: logp.data as Float32Array, ref: refGrid, entropy: ent.grid, deviation, routing, eosDropped } };
}

/**
 * Per-position weights and a scale so that sum(perToken * weights) * scale is the step's loss share
 * of this micro-batch: token_mean -> 1 / (generated tokens of the whole step); sample_mean -> each
 * sample's tokens weigh 1 / its length, scaled by 1 / (samples of the whole step); dr_grpo -> the
 * constant 1 / (samples of the whole step x max_completion_length), so no sample's tokens weigh
 * more for being short (Dr. GRPO).
 */
function lossWeights(chunk: readonly Sample[], mask: Float32Array, B: number, T: number, kind: GrpoConfig['loss_type'], totals: { tokens: number; samples: number }, maxLength: number): { weights: Float32Array; scale: number } {
  const w = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = kind === 'sample_mean' ? Math.max(1, chunk[b].r.generated) : 1;
    for (let t = 0; t < T; t++) w[b * T + t] = mask[b * T + t] / len;
  }
  const scale = kind === 'token_mean' ? 1 / totals.tokens : kind === 'sample_mean' ? 1 / totals.samples : 1 / (totals.samples * maxLength);
  return { weights: w, scale };
}

function maskedMean(x: Float32Array, mask: Float32Array): number {
  let s = 0, n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) {
    s += x[i];
    n++;
  }
  return n ? s / n : 0;
}
