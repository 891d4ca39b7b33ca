/**
 * EXO (`glmkit exo`, docs/methods.md §5): for each prompt, K candidates y_1..y_K and a target distribution
 * p_r over them; minimise KL(p_f || p_r) with p_f = softmax_i(beta_pi * h(x, y_i)).
 *   exo-rw   (--mode rw):   K samples per prompt from the SFT policy at --temperature, scored by a
 *                            reward model; log p_r = log softmax(r / beta_r). Sampled once, before
 *                            training (`sampleCandidates`); h uses logits / temperature.
 *   exo-pref (--mode pref): K = 2 from preference pairs; log p_r = log softmax([0, -10]).
 * The reference (the SFT model) is frozen; its log-probs are computed once per candidate and cached.
 */
import type { GlmForCausalLM, GlmForSequenceClassification } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { responseBatch, type TokenizedPair, type TokenizedResponse } from '../../data/preference.js';
import { rollout, rolloutMessage } from '../../generation/rollout.js';
import { Rng } from '../../util/rng.js';
import { baseSchema, frozenDtypeField } from '../base/schema.js';
import { choice, field, type Values } from '../base/config.js';
import { Trainer, type MicroBatchResult } from '../base/trainer.js';
import { pairTargets, rewardTargets } from '../preference-losses.js';
import { ReferenceLogps } from '../dpo/dpo-trainer.js';
import type { ExoGroupItem, ExoGroupOptions } from './exo-loss.js';
import { exoShards } from '../base/shard-losses.js';
import { RefLogprobStore, datasetFingerprint, modelFingerprint } from '../ref-logprob-cache.js';
import { scoreResponses } from '../reward/reward-trainer.js';
import { ConfigError } from '../../errors.js';

export const exoSchema = {
  ...baseSchema,
  frozen_dtype: frozenDtypeField(),
  model: field('path', '', 'SFT model folder: the policy to train, the frozen reference and (mode rw) the sampler of candidates'),
  data: field<string | string[]>('path', '', 'mode rw: prompts (JSONL with "prompt", e.g. preference pairs); mode pref: preference pairs', { multiple: true }),
  mode: choice(['rw', 'pref'], 'rw', 'rw: K sampled candidates scored by --reward-model; pref: preference pairs (K = 2)'),
  reward_model: field<string | null>('path', null, 'reward model folder (mode rw)', { nullable: true }),
  max_steps: field('int', 120, 'optimizer steps to run', { min: 1 }),
  per_device_train_batch_size: field('int', 8, 'prompts (groups of K candidates) per micro-batch', { min: 1 }),
  learning_rate: field('number', 2e-5, 'peak learning rate', { min: 0 }),
  warmup_steps: field('int', 4, 'linear warm-up steps', { min: 0 }),
  weight_decay: field('number', 0, 'decoupled weight decay of matrices (the EXO reference code uses none)', { min: 0 }),
  optimizer: choice(['adamw', 'muon'], 'adamw', 'adamw for everything, or muon for 2-D matrices'),
  beta_pi: field('number', 0.5, 'beta_pi: scale of the policy log-ratios in p_f', { min: 0 }),
  beta_r: field('number', 0.5, 'beta_r: temperature of the reward distribution p_r (mode rw)', { min: 0 }),
  num_candidates: field('int', 4, 'K: candidates sampled per prompt (mode rw)', { min: 2 }),
  temperature: field('number', 0.8, 'sampling temperature of the candidates; log-ratios use logits / temperature (mode rw)', { min: 0.01 }),
  max_new_tokens: field('int', 48, 'token budget of each sampled candidate (mode rw)', { min: 1 }),
  enable_thinking: field('boolean', false, 'sample candidates in thinking mode (reasoning, then the answer; mode rw)'),
  max_prompts: field('int', 0, 'use at most N prompts of --data (mode rw; 0 = all)', { min: 0 }),
  max_seq_length: field('int', 256, 'tokens per prompt + response (longer candidates are dropped)', { min: 2 }),
  ref_logprob_cache: field<string | null>('path', null, 'folder caching the reference log-probs on disk, keyed by a fingerprint of the reference model and the candidates; reruns reuse them', { nullable: true }),
};
export type ExoConfig = Values<typeof exoSchema>;

/** K candidates of one prompt with the log-probabilities of the target distribution p_r. */
export interface CandidateGroup {
  seqs: TokenizedResponse[];
  logTargets: number[];
  /** raw rewards (mode rw), for metrics */
  rewards?: number[];
  /** the prompt the candidates answer (mode rw) */
  prompt?: ChatMessage[];
}

/**
 * On-policy preference pairs from scored candidate groups (the EXO paper's DPO baseline uses the same
 * samples and rewards as EXO): `all` = every two candidates of a group whose rewards differ by more
 * than `minGap`, the higher one chosen (K(K-1)/2 pairs at most); `best_worst` = one pair per group.
 */
export function candidatePairs(groups: readonly CandidateGroup[], minGap = 0, mode: 'all' | 'best_worst' = 'all'): TokenizedPair[] {
  const out: TokenizedPair[] = [];
  const push = (g: CandidateGroup, w: number, l: number) =>
    out.push({ pair: { prompt: g.prompt ?? [], chosen: [], rejected: [], scoreChosen: g.rewards![w], scoreRejected: g.rewards![l], line: 0 }, chosen: g.seqs[w], rejected: g.seqs[l] });
  for (const g of groups) {
    const r = g.rewards;
    if (!r || r.length < 2) throw new ConfigError('candidatePairs: expected candidate groups with rewards (exo-rw candidates)');
    if (mode === 'best_worst') {
      const hi = r.indexOf(Math.max(...r)), lo = r.indexOf(Math.min(...r));
      if (r[hi] - r[lo] > minGap) push(g, hi, lo);
      continue;
    }
    for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++) {
      if (Math.abs(r[i] - r[j]) <= minGap) continue;
      r[i] > r[j] ? push(g, i, j) : push(g, j, i);
    }
  }
  return out;
}

/** exo-pref groups from pairs: [chosen, rejected] with log p_r = log softmax([0, -10]). */
export function pairGroups(pairs: readonly TokenizedPair[]): CandidateGroup[] {
  const t = pairTargets(1);
  return pairs.map((p) => ({ seqs: [p.chosen, p.rejected], logTargets: [t[0], t[1]] }));
}

/**
 * exo-rw groups: K samples per prompt from `sampler` at `temperature`, scored by the reward model
 * (or any reward function, e.g. a verifier); log p_r = log softmax(r / beta_r). Groups with a candidate longer than maxLen are dropped.
 */
export function sampleCandidates(
  sampler: GlmForCausalLM,
  rm: GlmForSequenceClassification | ((prompts: ChatMessage[][], responses: ChatMessage[]) => number[]),
  tok: Tokenizer,
  prompts: readonly ChatMessage[][],
  opts: { K: number; temperature: number; maxNewTokens: number; betaR: number; seed: number; maxLen: number; thinking?: boolean },
): CandidateGroup[] {
  const rs = rollout(sampler, tok, prompts, { maxNewTokens: opts.maxNewTokens, temperature: opts.temperature, numSamples: opts.K, batchSize: 32, thinking: opts.thinking, rng: new Rng(`${opts.seed}:exo-candidates`) });
  const ps = rs.map((r) => prompts[r.promptIndex]), msgs = rs.map(rolloutMessage);
  const rewards = typeof rm === 'function' ? rm(ps, msgs) : scoreResponses(rm, tok, ps, msgs);
  const groups: CandidateGroup[] = [];
  for (let g = 0; g < prompts.length; g++) {
    const rows = rs.slice(g * opts.K, (g + 1) * opts.K);
    if (rows.some((r) => r.promptIds.length + r.completionIds.length > opts.maxLen)) continue;
    const rw = rewards.slice(g * opts.K, (g + 1) * opts.K);
    groups.push({
      seqs: rows.map((r) => ({ ids: [...r.promptIds, ...r.completionIds], mask: [...r.promptIds.map(() => 0), ...r.completionIds.map(() => 1)], length: r.completionIds.length })),
      logTargets: Array.from(rewardTargets(rw, opts.K, opts.betaR)),
      rewards: rw,
      prompt: prompts[g],
    });
  }
  return groups;
}

export class ExoTrainer extends Trainer<ExoConfig> {
  readonly method = 'exo';
  private readonly padId: number;
  readonly reference: ReferenceLogps;
  private readonly temperature: number;

  constructor(config: ExoConfig, readonly policy: GlmForCausalLM, ref: GlmForCausalLM, tokenizer: Tokenizer, private readonly groups: CandidateGroup[]) {
    super(config, policy, tokenizer, groups.length);
    this.padId = tokenizer.requireId(EOS_TOKEN);
    this.temperature = config.mode === 'rw' ? config.temperature : 1;
    const store = config.ref_logprob_cache ? new RefLogprobStore(config.ref_logprob_cache, { model: modelFingerprint(ref), dataset: datasetFingerprint(groups.flatMap((g) => g.seqs)), temperature: this.temperature }) : null;
    this.reference = new ReferenceLogps(ref.eval(), this.temperature, store);
  }

  protected override supportsDataParallel(): boolean {
    return true;
  }

  protected microBatchLoss(accumulation: number): MicroBatchResult {
    const idx = Array.from({ length: this.config.per_device_train_batch_size }, () => this.cursor.next());
    const seqs = idx.flatMap((i) => this.groups[i].seqs);
    const K = this.groups[idx[0]].seqs.length;
    // reference log-probs of every candidate (computed once per sequence, then cached)
    const ref = this.reference.get(idx.flatMap((i) => this.groups[i].seqs.map((_, k) => `${i}:${k}`)), () => responseBatch(seqs, this.padId));
    const items: ExoGroupItem[] = idx.map((i, n) => ({ seqs: this.groups[i].seqs, ref: ref.slice(n * K, (n + 1) * K), logTargets: this.groups[i].logTargets, rewards: this.groups[i].rewards }));
    const opts: ExoGroupOptions = { betaPi: this.config.beta_pi, temperature: this.temperature, padId: this.padId, rewards: this.config.mode === 'rw', share: 1 };
    return this.runShards(exoShards(items, this.shardCount, { ...opts, accumulation }));
  }
}

/** Mean reward of the candidates (what the sampler achieves), for logs. */
export function candidateStats(groups: readonly CandidateGroup[]): { mean_reward: number; mean_length: number } {
  let r = 0, n = 0, len = 0;
  for (const g of groups) {
    for (const [k, s] of g.seqs.entries()) {
      r += g.rewards?.[k] ?? 0;
      len += s.length;
      n++;
    }
  }
  return { mean_reward: n ? r / n : NaN, mean_length: n ? len / n : NaN };
}

