/**
 * Invariants of the token sequences RL trains on, cheap enough to run on every rollout batch:
 *
 * - chat-template boundary: the rendered prompt (generation prompt included) is a prefix of the
 *   rendering of prompt + reply, and the generation-prompt / thinking markers appear exactly once
 *   where the prompt ends; otherwise the policy is trained on a context it will never see again;
 * - EOS in the loss: when pad == EOS, the stop token that ends a completion still counts in the
 *   loss (a mask built from `id != pad` would silently drop it and the policy never learns to stop);
 * - last-token reads: a reward or value head gives a sequence the same score alone, right-padded
 *   and left-padded (a head that reads position T-1 under right padding scores a pad token).
 */
import { DataError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../tensor/autograd.js';
import { renderChat } from '../../tokenizer/chat.js';
import type { ChatMessage, ToolSpec } from '../../tokenizer/chat-types.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { nextTokenTargets, type SequenceBatch } from '../rl-utils.js';

/** A chat as a trainer renders it. */
export interface BoundaryExample {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  enable_thinking: boolean;
}

/** How a conversation becomes ids (the chat template; tests plant broken ones). */
export type RenderIds = (conv: { messages: ChatMessage[]; tools?: ToolSpec[]; enable_thinking: boolean; add_generation_prompt: boolean }) => number[];

export const templateIds = (tok: Tokenizer): RenderIds => (conv) => renderChat(tok, conv).ids;

/**
 * The boundary problems of one example (empty when it is sound): `promptIds` must equal the
 * rendering with the generation prompt, be a prefix of the rendering of prompt + `reply`, end with
 * exactly one `<|assistant|>` after the last user/observation turn, and (direct mode) carry exactly
 * one empty `<think></think>` after it (thinking mode: none).
 */
export function chatBoundaryProblems(tok: Tokenizer, ex: BoundaryExample, promptIds: readonly number[], reply: ChatMessage, render: RenderIds = templateIds(tok)): string[] {
  const problems: string[] = [];
  const rendered = render({ messages: ex.messages, tools: ex.tools, enable_thinking: ex.enable_thinking, add_generation_prompt: true });
  if (rendered.length !== promptIds.length || rendered.some((t, i) => t !== promptIds[i])) problems.push('the prompt ids differ from the template rendering with the generation prompt');
  const full = render({ messages: [...ex.messages, reply], tools: ex.tools, enable_thinking: ex.enable_thinking, add_generation_prompt: false });
  const k = promptIds.findIndex((t, i) => full[i] !== t);
  if (k >= 0) problems.push(`the prompt ids are not a prefix of prompt + reply (first difference at token ${k}: ${JSON.stringify(tok.decode([promptIds[k]]))} vs ${full[k] === undefined ? 'end of sequence' : JSON.stringify(tok.decode([full[k]]))})`);
  const id = (s: string) => tok.tokenToId(s) ?? -1;
  const assistant = id('<|assistant|>'), think = id('<think>'), endThink = id('</think>');
  let turnStart = 0;
  for (const marker of ['<|user|>', '<|observation|>', '<|system|>']) turnStart = Math.max(turnStart, promptIds.lastIndexOf(id(marker)) + 1);
  const tail = promptIds.slice(turnStart);
  const count = (t: number) => tail.filter((x) => x === t).length;
  if (count(assistant) !== 1) problems.push(`the generation prompt <|assistant|> appears ${count(assistant)} times after the last user turn (expected once)`);
  const thinks = ex.enable_thinking ? 0 : 1;
  if (count(think) !== thinks || count(endThink) !== thinks) problems.push(`<think>/</think> appear ${count(think)}/${count(endThink)} times in the generation prompt (expected ${thinks} in ${ex.enable_thinking ? 'thinking' : 'direct'} mode)`);
  return problems;
}

/** Throws DataError naming the example when `problems` is not empty. */
export function assertBoundary(problems: readonly string[], where: { file?: string; line?: number; label: string }): void {
  if (problems.length === 0) return;
  throw new DataError(`${where.label}: chat-template boundary: ${problems.join('; ')}; the policy would be trained on a context the template never produces. Fix the template or the prompt`, { file: where.file, line: where.line, field: 'prompt' });
}

/**
 * Rows of a batch whose final stop token does not count in the loss: for each row b with
 * `endsWithStop[b]`, the position predicting its last completion token must have lossMask 1 and
 * that token as target. Returns the offending row indices.
 */
export function eosDroppedRows(batch: SequenceBatch, completionEnds: readonly (number | null)[]): number[] {
  const [B, T] = batch.ids.shape;
  const targets = nextTokenTargets(batch).data;
  const bad: number[] = [];
  for (let b = 0; b < B; b++) {
    const end = completionEnds[b];
    if (end === null) continue;
    // the last real position of the row holds the stop token; the one before predicts it
    let last = T - 1;
    while (last > 0 && batch.attentionMask && !batch.attentionMask[b * T + last]) last--;
    const pos = b * T + last - 1;
    if (batch.ids.data[b * T + last] !== end || !batch.lossMask[pos] || targets[pos] !== end) bad.push(b);
  }
  return bad;
}

/** A head that scores each row of [B, T] ids at its last real token: [B] scores. */
export type LastTokenScorer = (ids: Tensor, attentionMask: Int32Array) => ArrayLike<number>;

/** Index of the last position with mask 1 in row b (0 when none). */
export function lastRealIndex(mask: ArrayLike<number>, b: number, T: number): number {
  let l = T - 1;
  while (l > 0 && !mask[b * T + l]) l--;
  return l;
}

function padded(seqs: readonly (readonly number[])[], padId: number, side: 'left' | 'right'): { ids: Tensor; mask: Int32Array } {
  const T = Math.max(...seqs.map((s) => s.length));
  const ids = new Int32Array(seqs.length * T).fill(padId), mask = new Int32Array(seqs.length * T);
  seqs.forEach((s, b) => {
    const off = side === 'left' ? T - s.length : 0;
    s.forEach((t, i) => {
      ids[b * T + off + i] = t;
      mask[b * T + off + i] = 1;
    });
  });
  return { ids: new Tensor(ids, [seqs.length, T]), mask };
}

/**
 * Largest |score padded - score alone| of a head over `seqs` (of different lengths), with right and
 * with left padding. A head reading the last real token gives ~0 (float rounding) for both.
 */
export function paddingDeviation(score: LastTokenScorer, seqs: readonly (readonly number[])[], padId: number): { right: number; left: number } {
  return noGrad(() => {
    const alone = seqs.map((s) => score(new Tensor(Int32Array.from(s), [1, s.length]), new Int32Array(s.length).fill(1))[0]);
    const dev = (side: 'left' | 'right') => {
      const p = padded(seqs, padId, side);
      const got = score(p.ids, p.mask);
      return Math.max(...alone.map((a, b) => Math.abs(got[b] - a)));
    };
    return { right: dev('right'), left: dev('left') };
  });
}
