/**
 * The losses a data-parallel step splits over threads (src/trainers/base/data-parallel.ts): each
 * shard of a micro-batch is a plain object (structured-clone safe), and its loss is already scaled to
 * be that shard's share of the micro-batch's loss, so the shards' gradients sum to the gradient of
 * the whole micro-batch (up to float summation order):
 *
 *   lm:     sum over the shard's target tokens of -log p  / (the micro-batch's target tokens x accumulation);
 *           with `perSequence`, each row's token-mean instead, summed / (the micro-batch's rows x accumulation)
 *   reward: mean over the shard's pairs of the pairwise loss x (shard pairs / micro-batch pairs) / accumulation
 *   dpo:    the same share of DPO's mean (src/trainers/dpo/dpo-loss.ts), its NLL term over the micro-batch's chosen tokens
 *   exo:    the same share of EXO's mean over candidate groups (src/trainers/exo/exo-loss.ts)
 *
 * `lossValue`, `tokens` and `metrics` are the shard's shares too: the micro-batch's values are their sums.
 * The same function runs on the calling thread (shard 0) and in the workers, so both see one definition.
 */
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { GlmForCausalLM, GlmForSequenceClassification } from '../../models/glm/model.js';
import { responseBatch, type TokenizedResponse } from '../../data/preference.js';
import type { SequenceBatch } from '../rl-utils.js';
import type { LowerHidden } from '../../models/glm/model.js';
import { GlmkitError } from '../../errors.js';
import { pairwiseRewardLoss } from '../preference-losses.js';
import { lengthGroups } from './length-groups.js';
import { packedBatch } from './lm-loss.js';
import { sftBatch, type SftExample } from '../sft/sft-data.js';
import { dpoPairsLoss, type DpoPairItem, type DpoPairOptions } from '../dpo/dpo-loss.js';
import { exoGroupsLoss, type ExoGroupItem, type ExoGroupOptions } from '../exo/exo-loss.js';

/** Next-token loss on rows: packed sequences (every position a target, no padding) or SFT examples. */
export interface LmShard {
  kind: 'lm';
  /** packed: ids of L + 1 tokens, all targets; else SFT examples (targets where mask[t + 1] = 1) */
  rows: SftExample[];
  packed: boolean;
  padId: number;
  /** length groups of the shard's rows (SFT) */
  lengthGroups: number;
  /** target tokens of the whole micro-batch */
  targets: number;
  /**
   * The loss is the mean over the micro-batch's rows of each row's mean over its target tokens, so a
   * short chat weighs as much as a long one (SFT rows; `rows` below is the micro-batch's count)
   */
  perSequence?: { rows: number };
  accumulation: number;
}

/** The reward model's pairwise loss on pairs (chosen and rejected token sequences). */
export interface RewardShard {
  kind: 'reward';
  chosen: TokenizedResponse[];
  rejected: TokenizedResponse[];
  padId: number;
  lengthGroups: number;
  /** alpha of the score prior */
  center: number;
  /** pairs of the whole micro-batch */
  pairs: number;
  accumulation: number;
}

/** DPO on pairs with their reference log-probs (src/trainers/dpo/dpo-loss.ts; `share` and `chosenTokens` of the whole micro-batch set). */
export interface DpoShard {
  kind: 'dpo';
  items: DpoPairItem[];
  opts: DpoPairOptions;
  accumulation: number;
}

/** EXO on candidate groups with their reference log-probs (src/trainers/exo/exo-loss.ts; `share` set). */
export interface ExoShard {
  kind: 'exo';
  groups: ExoGroupItem[];
  opts: ExoGroupOptions;
  accumulation: number;
}

export type Shard = LmShard | RewardShard | DpoShard | ExoShard;

export interface ShardResult {
  loss: Tensor;
  lossValue: number;
  tokens: number;
  metrics: Record<string, number>;
}

/** Targets of an SFT example (positions t whose next token is trained) or of a packed sequence. */
export function rowTargets(row: SftExample, packed: boolean): number {
  if (packed) return row.ids.length - 1;
  let n = 0;
  for (let t = 1; t < row.mask.length; t++) n += row.mask[t];
  return n;
}

function lmShard(model: GlmForCausalLM, s: LmShard): ShardResult {
  const groups = s.packed ? [s.rows.map((_, i) => i)] : lengthGroups(s.rows.map((r) => r.ids.length), s.lengthGroups);
  let loss: Tensor | null = null, sum = 0, tokens = 0;
  for (const g of groups) {
    const rows = g.map((i) => s.rows[i]);
    const b = s.packed ? packedBatch(rows.map((r) => r.ids)) : sftBatch(rows, s.padId);
    let part: Tensor;
    if (s.perSequence && !s.packed) {
      // per-token losses [b, T] x each row's weight 1 / (its targets x micro-batch rows x accumulation)
      const out = model.forward(b.ids, { targets: b.targets, attentionMask: b.attentionMask, lossReduction: 'none' });
      const T = b.ids.shape[1];
      const w = new Float32Array(rows.length * T);
      rows.forEach((r, i) => w.fill(1 / (Math.max(1, rowTargets(r, false)) * s.perSequence!.rows * s.accumulation), i * T, (i + 1) * T));
      part = F.sum(F.mul(out.loss!, new Tensor(w, [rows.length, T])));
      sum += part.item() * s.accumulation;
    } else {
      const out = model.forward(b.ids, { targets: b.targets, attentionMask: b.attentionMask, lossReduction: 'sum' });
      sum += out.loss!.item();
      part = F.mul(out.loss!, 1 / (Math.max(1, s.targets) * s.accumulation));
    }
    tokens += b.tokens;
    loss = loss ? F.add(loss, part) : part;
  }
  return { loss: loss!, lossValue: s.perSequence && !s.packed ? sum : sum / Math.max(1, s.targets), tokens, metrics: {} };
}

/** A batch of reward-model inputs: responseBatch's, or a frozen-feature cache's with the hidden states to start from. */
export type ScoreBatchOf = (seqs: TokenizedResponse[]) => SequenceBatch & { start?: LowerHidden };

/**
 * Scores of pairs, run in length groups (one group: as given), each a [2b, T] batch of chosen rows
 * then rejected rows padded to its own longest: rw, rl [n] and `order`, the pair index of each entry.
 */
export function scorePairs(rm: GlmForSequenceClassification, chosen: readonly TokenizedResponse[], rejected: readonly TokenizedResponse[], groupsOf: number, batchOf: ScoreBatchOf): { rw: Tensor; rl: Tensor; order: number[]; tokens: number } {
  const groups = lengthGroups(chosen.map((c, i) => Math.max(c.ids.length, rejected[i].ids.length)), groupsOf);
  let tokens = 0;
  const parts = groups.map((g) => {
    const b = batchOf([...g.map((i) => chosen[i]), ...g.map((i) => rejected[i])]);
    tokens += b.attentionMask!.reduce((a, v) => a + v, 0);
    const sc = F.reshape(rm.forward(b.ids, { attentionMask: b.attentionMask, start: b.start }), [2 * g.length]);
    return { rw: F.slice(sc, 0, 0, g.length), rl: F.slice(sc, 0, g.length, 2 * g.length) };
  });
  const rw = parts.length === 1 ? parts[0].rw : F.concat(parts.map((p) => p.rw));
  const rl = parts.length === 1 ? parts[0].rl : F.concat(parts.map((p) => p.rl));
  return { rw, rl, order: groups.flat(), tokens };
}

function rewardShard(rm: GlmForSequenceClassification, s: RewardShard): ShardResult {
  const { rw, rl, tokens } = scorePairs(rm, s.chosen, s.rejected, s.lengthGroups, (seqs) => responseBatch(seqs, s.padId));
  const { loss, stats } = pairwiseRewardLoss(rw, rl, s.center);
  const share = s.chosen.length / s.pairs;
  const metrics = { 'rewards/chosen': stats.chosen * share, 'rewards/rejected': stats.rejected * share, 'rewards/accuracies': stats.accuracy * share, 'rewards/margins': stats.margin * share };
  return { loss: F.mul(loss, share / s.accumulation), lossValue: loss.item() * share, tokens, metrics };
}

/** A loss over a whole micro-batch's share (DPO, EXO) as a shard result: logged unscaled, trained / accumulation. */
function accumulated(r: { loss: Tensor; tokens: number; metrics: Record<string, number> }, accumulation: number): ShardResult {
  return { loss: accumulation === 1 ? r.loss : F.mul(r.loss, 1 / accumulation), lossValue: r.loss.item(), tokens: r.tokens, metrics: r.metrics };
}

/** The shard's loss on `model` (graph kept for backward). */
export function shardLoss(model: GlmForCausalLM | GlmForSequenceClassification, s: Shard): ShardResult {
  if (s.kind === 'lm' && model instanceof GlmForCausalLM) return lmShard(model, s);
  if (s.kind === 'dpo' && model instanceof GlmForCausalLM) return accumulated(dpoPairsLoss(model, s.items, s.opts), s.accumulation);
  if (s.kind === 'exo' && model instanceof GlmForCausalLM) return accumulated(exoGroupsLoss(model, s.groups, s.opts), s.accumulation);
  if (s.kind === 'reward' && model instanceof GlmForSequenceClassification) return rewardShard(model, s);
  throw new GlmkitError('training', `a data-parallel ${s.kind} shard cannot run on a ${model.constructor.name}; set --data-parallel 1`);
}

/**
 * Deals rows out to `W` shards, balanced by length: rows in order of length (ties by index) go
 * 0, 1, ..., W-1, W-1, ..., 0, 0, 1, ... so every shard gets long and short rows alike. Each shard
 * keeps its rows in their drawn order. `lengths` null: contiguous runs in drawn order (equal rows).
 */
export function dealRows(n: number, W: number, lengths: readonly number[] | null): number[][] {
  const out: number[][] = Array.from({ length: W }, () => []);
  if (!lengths) {
    for (let i = 0; i < n; i++) out[Math.floor((i * W) / n)].push(i);
    return out;
  }
  const order = [...Array(n).keys()].sort((a, b) => lengths[a] - lengths[b] || a - b);
  order.forEach((i, k) => {
    const round = Math.floor(k / W), pos = k % W;
    out[round % 2 === 0 ? pos : W - 1 - pos].push(i);
  });
  return out.map((s) => s.sort((a, b) => a - b));
}

/** A micro-batch of LM rows as W shards (fewer when there are fewer rows). */
export function lmShards(rows: SftExample[], packed: boolean, W: number, opts: { padId: number; lengthGroups: number; accumulation: number; perSequence?: boolean }): LmShard[] {
  const targets = rows.reduce((a, r) => a + rowTargets(r, packed), 0);
  const parts = dealRows(rows.length, Math.min(W, rows.length), packed ? null : rows.map((r) => r.ids.length));
  const { perSequence, ...rest } = opts;
  return parts.map((idx) => ({ kind: 'lm', rows: idx.map((i) => rows[i]), packed, targets, ...rest, ...(perSequence ? { perSequence: { rows: rows.length } } : {}) }));
}

/** A micro-batch of preference pairs as W shards (fewer when there are fewer pairs). */
export function rewardShards(pairs: readonly { chosen: TokenizedResponse; rejected: TokenizedResponse }[], W: number, opts: { padId: number; lengthGroups: number; center: number; accumulation: number }): RewardShard[] {
  const parts = dealRows(pairs.length, Math.min(W, pairs.length), pairs.map((p) => Math.max(p.chosen.ids.length, p.rejected.ids.length)));
  return parts.map((idx) => ({ kind: 'reward', chosen: idx.map((i) => pairs[i].chosen), rejected: idx.map((i) => pairs[i].rejected), pairs: pairs.length, ...opts }));
}

/** DPO pairs (with their reference log-probs) as W shards, each with its share of the micro-batch. */
export function dpoShards(items: readonly DpoPairItem[], W: number, opts: DpoPairOptions & { accumulation: number }): DpoShard[] {
  const { accumulation, ...o } = opts;
  const parts = dealRows(items.length, Math.min(W, items.length), items.map((p) => Math.max(p.chosen.ids.length, p.rejected.ids.length)));
  return parts.map((idx) => ({ kind: 'dpo', items: idx.map((i) => items[i]), opts: { ...o, share: idx.length / items.length }, accumulation }));
}

/** EXO groups (with their reference log-probs) as W shards of whole groups, each with its share. */
export function exoShards(groups: readonly ExoGroupItem[], W: number, opts: ExoGroupOptions & { accumulation: number }): ExoShard[] {
  const { accumulation, ...o } = opts;
  const parts = dealRows(groups.length, Math.min(W, groups.length), groups.map((g) => Math.max(...g.seqs.map((q) => q.ids.length))));
  return parts.map((idx) => ({ kind: 'exo', groups: idx.map((i) => groups[i]), opts: { ...o, share: idx.length / groups.length }, accumulation }));
}
