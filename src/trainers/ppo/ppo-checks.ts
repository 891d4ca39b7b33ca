/**
 * PPO's side of the RL checks (trainers/checks/): the step-0 padding invariance of the reward and
 * value heads, the chat-template boundary of each prompt, the rollout-level alarm inputs (truncation,
 * length, reward model vs gold reward), and the rollout dump records.
 */
import type { Rollout } from '../../generation/rollout.js';
import { rolloutMessage } from '../../generation/rollout.js';
import type { GlmForSequenceClassification } from '../../models/glm/model.js';
import { goldReward } from '../../data/world/index.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { correlation } from '../checks/alarms.js';
import { round6, type DumpRecord } from '../checks/rl-checks.js';
import { chatBoundaryProblems, lastRealIndex, paddingDeviation } from '../checks/sequence-checks.js';
import type { SequenceBatch } from '../rl-utils.js';
import type { ValueModel } from './value-model.js';

/**
 * Step 0: the reward model and the value head score the first rollouts the same alone, right-padded
 * and left-padded (they must read the last real token). Returns the largest deviation of each.
 */
export function headPaddingDeviation(rm: GlmForSequenceClassification, value: ValueModel, seqs: readonly (readonly number[])[], padId: number): { rm: number; value: number } {
  const r = paddingDeviation((ids, mask) => rm.forward(ids, { attentionMask: mask }).data, seqs, padId);
  const v = paddingDeviation((ids, mask) => {
    const [B, T] = ids.shape;
    const all = value.forward({ ids, attentionMask: mask, lossMask: new Float32Array(B * T) }).data;
    return Array.from({ length: B }, (_, b) => all[b * T + lastRealIndex(mask, b, T)]);
  }, seqs, padId);
  return { rm: Math.max(r.right, r.left), value: Math.max(v.right, v.left) };
}

/** Boundary problems of a rollout's prompt (rendered with the generation prompt vs prompt + reply). */
export function ppoBoundaryProblems(tok: Tokenizer, messages: ChatMessage[], r: Rollout, thinking: boolean): string[] {
  const reply = rolloutMessage(r);
  if (!thinking) {
    // A direct-mode sample that happens to contain think markers would be re-read by the template as
    // reasoning; PPO trains on the sampled ids, not on a re-rendering, so the boundary is checked
    // against the reply's text without them.
    delete reply.reasoning_content;
    if (typeof reply.content === 'string') reply.content = reply.content.replaceAll('<think>', '').replaceAll('</think>', '');
  }
  return chatBoundaryProblems(tok, { messages, enable_thinking: thinking }, r.promptIds, reply);
}

/** Gold rewards of the responses, or null when the prompts are not the built-in world's. */
export function goldRewards(prompts: readonly ChatMessage[][], rs: readonly Rollout[]): number[] | null {
  try {
    return rs.map((r, i) => goldReward(prompts[i], rolloutMessage(r)));
  } catch {
    return null;
  }
}

/** Alarm inputs of one PPO rollout. */
export function ppoAlarmFields(rs: readonly Rollout[], scores: readonly number[], gold: readonly number[] | null, klPerSeq: number): Record<string, number> {
  const trunc = rs.map((r, i) => [r, scores[i]] as const).filter(([r]) => r.finishReason !== 'stop');
  const f: Record<string, number> = {
    'alarm/truncated': trunc.length / rs.length,
    'alarm/mean_length': rs.reduce((a, r) => a + r.completionIds.length, 0) / rs.length,
    'alarm/kl': klPerSeq,
  };
  if (trunc.length > 0) f['alarm/truncated_reward'] = trunc.reduce((a, [, s]) => a + s, 0) / trunc.length;
  if (gold) {
    const c = correlation(scores, gold);
    if (Number.isFinite(c)) f['alarm/rm_gold_corr'] = c;
    f['alarm/gold_reward'] = gold.reduce((a, b) => a + b, 0) / gold.length;
  }
  return f;
}

/** Dump records of a rollout (trainer log-prob and entropy are filled when each row is first trained). */
export function ppoDumpRecords(tok: Tokenizer, step: number, rs: readonly Rollout[], batch: SequenceBatch, grids: { old: ArrayLike<number>; ref: ArrayLike<number>; values: ArrayLike<number>; adv: ArrayLike<number> }, parts: { score: number; baseline: number; gold: number | null; kl: number }[]): DumpRecord[] {
  const T = batch.ids.shape[1];
  return rs.map((r, b) => {
    const at = (g: ArrayLike<number>) => r.completionIds.map((_, t) => round6(g[b * T + r.promptIds.length - 1 + t]));
    return {
      step, sample: b, prompt_index: r.promptIndex, group: b, kept: true,
      prompt: tok.decode(r.promptIds), completion: tok.decode(r.completionIds), finish: r.finishReason,
      reward: parts[b].score - parts[b].baseline,
      reward_parts: { rm_score: round6(parts[b].score), baseline: round6(parts[b].baseline), kl_penalty: round6(parts[b].kl), gold: parts[b].gold === null ? null : round6(parts[b].gold) },
      token_ids: r.completionIds.slice(), pieces: r.completionIds.map((t) => tok.decode([t])), mask: r.completionIds.map(() => 1),
      sampler_logprob: at(grids.old), trainer_logprob: r.completionIds.map(() => null), ref_logprob: at(grids.ref),
      entropy: r.completionIds.map(() => null), advantage: at(grids.adv), value: at(grids.values),
    };
  });
}
