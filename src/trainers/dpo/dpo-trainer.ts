/**
 * DPO (`glmkit dpo`, docs/methods.md §5): on preference pairs,
 *   L = -log sigmoid(beta * (h(x, y_w) - h(x, y_l)))   [+ rpo_alpha * NLL(y_w), LongReward's variant]
 * with h the sum over response tokens of log pi_theta - log pi_ref. The reference is the starting
 * (SFT) model, frozen: its log-probs are computed once per pair, cached, and never updated.
 * Metrics use TRL's names (rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins,
 * logps/chosen, logps/rejected).
 */
import { noGrad } from '../../tensor/autograd.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { responseBatch, type TokenizedPair } from '../../data/preference.js';
import { baseSchema, frozenDtypeField } from '../base/schema.js';
import { choice, field, type Values } from '../base/config.js';
import { Trainer, type MicroBatchResult } from '../base/trainer.js';
import { noGradResult, sequenceLogps, type SequenceBatch } from '../rl-utils.js';
import { dpoPairsLoss, type DpoPairItem, type DpoPairOptions } from './dpo-loss.js';
import { dpoShards } from '../base/shard-losses.js';
import { lengthGroups, lengthGroupsField } from '../base/length-groups.js';
import { RefLogprobStore, datasetFingerprint, modelFingerprint } from '../ref-logprob-cache.js';

export const dpoSchema = {
  ...baseSchema,
  frozen_dtype: frozenDtypeField(),
  model: field('path', '', 'SFT model folder: the policy to train and the frozen reference'),
  data: field<string | string[]>('path', '', 'preference pairs, JSONL in TRL format (prompt?/chosen/rejected)', { multiple: true }),
  ref_model: field<string | null>('path', null, 'reference model folder (default: --model)', { nullable: true }),
  max_steps: field('int', 40, 'optimizer steps to run', { min: 1 }),
  per_device_train_batch_size: field('int', 16, 'pairs per micro-batch', { min: 1 }),
  learning_rate: field('number', 1e-4, 'peak learning rate', { min: 0 }),
  warmup_steps: field('int', 4, 'linear warm-up steps', { min: 0 }),
  weight_decay: field('number', 0, 'decoupled weight decay of matrices', { min: 0 }),
  optimizer: choice(['adamw', 'muon'], 'adamw', 'adamw for everything, or muon for 2-D matrices'),
  beta: field('number', 0.1, 'beta: strength of the implicit KL constraint to the reference', { min: 0 }),
  loss_type: choice(['sigmoid', 'ipo'], 'sigmoid', 'sigmoid (DPO) or ipo'),
  label_smoothing: field('number', 0, 'cDPO: assumed chance that a preference label is flipped, in [0, 0.5)', { min: 0 }),
  rpo_alpha: field('number', 0, 'weight of the SFT (NLL, token mean) loss on the chosen response (LongReward uses a small one; 0 = off); also spelled --sft-loss-weight', { min: 0, alsoFlags: ['sft-loss-weight'] }),
  max_seq_length: field('int', 256, 'tokens per prompt + response (longer pairs are dropped and counted)', { min: 2 }),
  ...lengthGroupsField,
  ref_logprob_cache: field<string | null>('path', null, 'folder caching the reference log-probs on disk, keyed by a fingerprint of the reference model and the dataset; reruns reuse them', { nullable: true }),
  enable_thinking: field('boolean', false, 'with --eval-data: sample evaluation responses in thinking mode'),
  eval_max_new_tokens: field('int', 48, 'with --eval-data: token budget of each evaluation response', { min: 1 }),
};
export type DpoConfig = Values<typeof dpoSchema>;

export { sequenceLogps };

/**
 * The frozen reference: sequence log-probs computed once per key and cached. Its model is never
 * handed to an optimizer.
 */
export class ReferenceLogps {
  private readonly cache: Map<string, number>;
  /** reference forwards run (batches), for tests and logs */
  forwards = 0;
  /**
   * With `store` (--ref-logprob-cache), values start from its file and new ones are appended to it;
   * the store's fingerprint must cover this model, the keyed sequences and the temperature.
   */
  constructor(readonly model: GlmForCausalLM, readonly temperature = 1, private readonly store: RefLogprobStore | null = null) {
    this.cache = new Map(store?.loaded ?? []);
  }

  /** log pi_ref of each row of `batch`, keyed by `keys` (rows with a cached key are not recomputed). */
  get(keys: readonly string[], batch: () => SequenceBatch): number[] {
    if (keys.some((k) => !this.cache.has(k))) {
      const lp = noGradResult(() => sequenceLogps(this.model, batch(), this.temperature));
      this.forwards++;
      const fresh: [string, number][] = [];
      keys.forEach((k, i) => {
        if (!this.cache.has(k)) fresh.push([k, lp.data[i]]);
        this.cache.set(k, lp.data[i]);
      });
      this.store?.append(fresh);
    }
    return keys.map((k) => this.cache.get(k)!);
  }

  get size(): number {
    return this.cache.size;
  }
}

export class DpoTrainer extends Trainer<DpoConfig> {
  readonly method = 'dpo';
  private readonly padId: number;
  readonly reference: ReferenceLogps;

  constructor(config: DpoConfig, readonly policy: GlmForCausalLM, ref: GlmForCausalLM, tokenizer: Tokenizer, private readonly pairs: TokenizedPair[], private readonly evalPairs: TokenizedPair[] | null) {
    super(config, policy, tokenizer, pairs.length);
    this.padId = tokenizer.requireId(EOS_TOKEN);
    const all = [...pairs, ...(evalPairs ?? [])].flatMap((p) => [p.chosen, p.rejected]);
    this.reference = new ReferenceLogps(ref.eval(), 1, config.ref_logprob_cache ? new RefLogprobStore(config.ref_logprob_cache, { model: modelFingerprint(ref), dataset: datasetFingerprint(all), temperature: 1 }) : null);
  }

  /** Reference log-probs of pairs (looked up in length groups, as the loss batches them), then the loss and stats; public for tests. */
  pairLoss(idx: number[], pairs: TokenizedPair[], prefix: string) {
    return dpoPairsLoss(this.policy, this.pairItems(idx, pairs, prefix), this.pairOptions(idx.map((i) => pairs[i])));
  }

  /** The pairs with their reference log-probs (computed once per sequence, then cached). */
  private pairItems(idx: number[], pairs: TokenizedPair[], prefix: string): DpoPairItem[] {
    const items: DpoPairItem[] = new Array(idx.length);
    for (const g of lengthGroups(idx.map((i) => Math.max(pairs[i].chosen.ids.length, pairs[i].rejected.ids.length)), this.config.length_groups)) {
      const gi = g.map((j) => idx[j]), ps = gi.map((i) => pairs[i]);
      const ref = this.reference.get([...gi.map((i) => `${prefix}${i}:w`), ...gi.map((i) => `${prefix}${i}:l`)], () => responseBatch([...ps.map((p) => p.chosen), ...ps.map((p) => p.rejected)], this.padId));
      g.forEach((j, k) => (items[j] = { chosen: ps[k].chosen, rejected: ps[k].rejected, refW: ref[k], refL: ref[g.length + k] }));
    }
    return items;
  }

  /** The loss settings for a micro-batch of `picked` pairs, all on one thread (share 1; dpoShards sets each shard's). */
  private pairOptions(picked: TokenizedPair[]): DpoPairOptions {
    const c = this.config;
    return { beta: c.beta, lossType: c.loss_type, labelSmoothing: c.label_smoothing, rpoAlpha: c.rpo_alpha, padId: this.padId, lengthGroups: c.length_groups, share: 1, chosenTokens: picked.reduce((a, p) => a + p.chosen.length, 0) };
  }

  protected override supportsDataParallel(): boolean {
    return true;
  }

  protected microBatchLoss(accumulation: number): MicroBatchResult {
    const idx = Array.from({ length: this.config.per_device_train_batch_size }, () => this.cursor.next());
    const opts = this.pairOptions(idx.map((i) => this.pairs[i]));
    return this.runShards(dpoShards(this.pairItems(idx, this.pairs, 'train:'), this.shardCount, { ...opts, accumulation }));
  }

  protected override evaluate(): Record<string, number> {
    if (!this.evalPairs || this.evalPairs.length === 0) return {};
    const bs = this.config.per_device_train_batch_size;
    const sums: Record<string, number> = {};
    let n = 0;
    noGrad(() => {
      for (let i = 0; i < this.evalPairs!.length; i += bs) {
        const idx = Array.from({ length: Math.min(bs, this.evalPairs!.length - i) }, (_, j) => i + j);
        const r = this.pairLoss(idx, this.evalPairs!, 'eval:');
        for (const [k, v] of Object.entries({ loss: r.dpo, ...r.metrics })) sums[k] = (sums[k] ?? 0) + v * idx.length;
        n += idx.length;
      }
    });
    return Object.fromEntries(Object.entries(sums).map(([k, v]) => [`eval_${k}`, v / n]));
  }
}
