/**
 * One interface over every reward model glmkit trains: a pairwise (outcome) reward model scores the
 * chat-rendered response at its last token (reward-trainer.ts); a stepwise one (`reward --process`,
 * prm.ts) scores each step of the response (its reasoning lines, then its answer) and aggregates the
 * step probabilities with the saved aggregation or the one asked for. Used by `glmkit rerank`, and as
 * GRPO's reward with `--reward-model`.
 */
import { ConfigError } from '../../errors.js';
import { loadModel } from '../../models/glm/checkpoint.js';
import { GlmForSequenceClassification } from '../../models/glm/model.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { tokenizeSteps } from '../../data/stepwise.js';
import { responseSteps } from '../../data/world/steps.js';
import { scoreResponses } from './reward-trainer.js';
import { aggregateStepScores, scoreSteps, stepRewardInfo, type StepAggregation } from './prm.js';

export interface ResponseScorer {
  /** pairwise: the chat-template reward model; process / outcome: a stepwise reward model */
  kind: 'pairwise' | 'process' | 'outcome';
  /** the step aggregation in use (null for a pairwise reward model) */
  aggregation: StepAggregation | null;
  /** one score per (prompt, response); higher is better */
  score(prompts: readonly ChatMessage[][], responses: readonly ChatMessage[]): number[];
}

/** A scorer over `rm`; `aggregation` overrides a stepwise model's saved one (an error for a pairwise model). */
export function rewardScorer(rm: GlmForSequenceClassification, tok: Tokenizer, aggregation?: StepAggregation | null, what = 'reward model'): ResponseScorer {
  const info = stepRewardInfo(rm);
  rm.eval();
  const padId = tok.requireId(EOS_TOKEN);
  if (!info) {
    if (aggregation) throw new ConfigError(`--reward-aggregation ${aggregation}: ${what} is a pairwise reward model (one score per response, no steps); aggregation applies to a process reward model (glmkit reward --process)`);
    return { kind: 'pairwise', aggregation: null, score: (prompts, responses) => scoreResponses(rm, tok, prompts, responses) };
  }
  const how = aggregation || info.aggregation;
  return {
    kind: info.type,
    aggregation: how,
    score(prompts, responses) {
      const seqs = responses.map((r, i) => tokenizeSteps(tok, prompts[i], responseSteps({ content: r.content ?? '', reasoning_content: r.reasoning_content ?? '' }), info.step_separator, info.step_layout));
      return scoreSteps(rm, seqs, padId).map((s) => aggregateStepScores(s, how));
    },
  };
}

/** Loads a reward-model folder as a scorer (a ConfigError when it holds a causal LM). */
export function loadRewardScorer(dir: string, tok: Tokenizer, aggregation?: StepAggregation | null): ResponseScorer {
  const m = loadModel(dir);
  if (!(m instanceof GlmForSequenceClassification)) throw new ConfigError(`--reward-model ${dir}: holds a causal LM; expected a reward model folder (glmkit reward, or glmkit reward --process)`);
  return rewardScorer(m, tok, aggregation, dir);
}

/** Index of the highest score (the first on ties). */
export function argmax(xs: readonly number[]): number {
  let b = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[b]) b = i;
  return b;
}

/**
 * Best-of-n correctness of one prompt from K >= n scored samples: the K samples are cut into
 * floor(K / n) disjoint groups of n, and the result is the mean over groups of whether the group's
 * highest-scored sample is right.
 */
export function bestOfN(scores: readonly number[], correct: readonly (boolean | number)[], n: number): number {
  const groups = Math.floor(scores.length / n);
  if (groups < 1) throw new ConfigError(`best-of-${n}: needs at least ${n} samples, got ${scores.length}`);
  let s = 0;
  for (let g = 0; g < groups; g++) s += Number(correct[g * n + argmax(scores.slice(g * n, (g + 1) * n))]);
  return s / groups;
}
