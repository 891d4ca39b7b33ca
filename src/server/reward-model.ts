/**
 * A reward model served beside (or instead of) the chat model: loaded once, listed by GET /v1/models
 * with `"type": "reward"`, scoring on POST /v1/score (score-route.ts).
 */
import { basename, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { rewardScorer, type ResponseScorer } from '../trainers/reward/reward-scorer.js';
import type { StepAggregation } from '../trainers/reward/prm.js';
import { GlmForSequenceClassification } from '../models/glm/model.js';
import { loadModel } from '../models/glm/checkpoint.js';
import { ConfigError } from '../errors.js';
import { scoreConversations } from './score-route.js';

export interface RewardServing {
  id: string;
  scorer: ResponseScorer;
  entry(created: number): { id: string; object: 'model'; created: number; owned_by: string; type: 'reward'; reward_kind: string; aggregation: string | null };
  register(app: FastifyInstance): void;
}

export function loadRewardServing(dir: string, id?: string): RewardServing {
  const tok = loadTokenizer(dir);
  const rm = loadModel(dir);
  if (!(rm instanceof GlmForSequenceClassification)) throw new ConfigError(`serve: --reward-model ${dir} holds a causal LM; expected a reward model folder (glmkit reward, or glmkit reward --process)`);
  const scorer = rewardScorer(rm, tok, null, dir);
  const modelId = id ?? basename(resolve(dir));
  const byAgg = new Map<StepAggregation, ResponseScorer>();
  const scorerFor = (agg: StepAggregation | null): ResponseScorer => {
    if (agg === null || agg === scorer.aggregation) return scorer;
    let s = byAgg.get(agg);
    if (!s) byAgg.set(agg, (s = rewardScorer(rm, tok, agg, dir)));
    return s;
  };
  return {
    id: modelId,
    scorer,
    entry: (created) => ({ id: modelId, object: 'model', created, owned_by: 'glmkit', type: 'reward', reward_kind: scorer.kind, aggregation: scorer.aggregation }),
    register: (app) => void app.post('/v1/score', async (req) => scoreConversations(scorerFor, modelId, req.body)),
  };
}
