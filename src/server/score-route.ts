/**
 * POST /v1/score: a reward model (`glmkit reward`, or `reward --process`) scoring conversations, for
 * RL trainers that score remotely (`--reward-url`). The response has the shape of vLLM's /score
 * answer; the request carries whole conversations, each ending with the assistant turn to score:
 *
 *   {"model": ID, "messages": [[{role, content}, ..., {"role": "assistant", "content", "reasoning_content"?}], ...],
 *    "aggregation"?: "min" | "prod" | "last"}
 *   -> {"id", "object": "list", "created", "model", "data": [{"index": i, "object": "score", "score": s}, ...]}
 *
 * A pairwise reward model gives its score at the response's last token; a process reward model
 * aggregates its step probabilities (the saved aggregation unless the request names one). Scoring
 * runs on the server's main thread, one batch per request.
 */
import { randomUUID } from 'node:crypto';
import type { ResponseScorer } from '../trainers/reward/reward-scorer.js';
import { STEP_AGGREGATIONS, type StepAggregation } from '../trainers/reward/prm.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import { badParam, checkModel, objectBody } from './api-error.js';

/** At most this many conversations per request. */
export const MAX_SCORE_ITEMS = 1024;

export interface ScoreResponse {
  id: string;
  object: 'list';
  created: number;
  model: string;
  data: { index: number; object: 'score'; score: number }[];
}

/** The scorer of a request: the served one, or the same model with another step aggregation. */
export type ScorerFor = (aggregation: StepAggregation | null) => ResponseScorer;

export function scoreConversations(scorerFor: ScorerFor, modelId: string, body: unknown): ScoreResponse {
  const b = objectBody(body);
  checkModel(b, modelId);
  const agg = b.aggregation ?? null;
  if (agg !== null && !STEP_AGGREGATIONS.includes(agg as StepAggregation)) throw badParam('aggregation', `'aggregation' must be one of ${STEP_AGGREGATIONS.join(', ')} (a process reward model's step aggregation), got ${JSON.stringify(agg)}`);
  const convs = b.messages;
  if (!Array.isArray(convs) || convs.length === 0) throw badParam('messages', "'messages' must be a non-empty list of conversations, each a list of chat messages ending with the assistant turn to score", 'invalid_type');
  if (convs.length > MAX_SCORE_ITEMS) throw badParam('messages', `'messages' has ${convs.length} conversations; at most ${MAX_SCORE_ITEMS} per request`, 'too_many_inputs');
  const prompts: ChatMessage[][] = [], responses: ChatMessage[] = [];
  convs.forEach((c, i) => {
    if (!Array.isArray(c) || c.length < 2) throw badParam('messages', `messages[${i}] must be a list of at least two chat messages (the prompt, then the assistant turn to score)`, 'invalid_type');
    c.forEach((m, j) => {
      const msg = m as Partial<ChatMessage> | null;
      if (!msg || typeof msg !== 'object' || typeof msg.role !== 'string' || (msg.content !== undefined && msg.content !== null && typeof msg.content !== 'string')) {
        throw badParam('messages', `messages[${i}][${j}] must be a chat message {"role": string, "content": string}`, 'invalid_type');
      }
    });
    const last = c[c.length - 1] as ChatMessage;
    if (last.role !== 'assistant') throw badParam('messages', `messages[${i}] ends with a '${last.role}' message; the last message must be the assistant turn to score`);
    prompts.push(c.slice(0, -1) as ChatMessage[]);
    responses.push(last);
  });
  const scores = scorerFor(agg as StepAggregation | null).score(prompts, responses);
  return { id: `score-${randomUUID()}`, object: 'list', created: Math.floor(Date.now() / 1000), model: modelId, data: scores.map((score, index) => ({ index, object: 'score', score })) };
}
