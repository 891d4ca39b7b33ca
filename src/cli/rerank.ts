/**
 * `glmkit rerank --reward-model DIR --policy DIR --prompts F --n N [--out F]`: best-of-N. The policy
 * samples N responses per prompt; the reward model (pairwise, or a process reward model with its step
 * aggregation) scores them; the highest-scored one is kept. Prompts are JSONL with "prompt" (a string
 * or messages) and, optionally, "answer" (+ "task"/"verifier" as RL records): then the summary reports
 * the accuracy of the best-of-N pick, of the first sample, and of any sample (oracle).
 */
import { writeFileSync } from 'node:fs';
import { DataError } from '../errors.js';
import { readJsonl } from '../data/jsonl.js';
import { isMessages } from '../data/preference.js';
import { rollout, rolloutMessage } from '../generation/rollout.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { recordReward, type VerifiableRecord } from '../rewards/index.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { STEP_AGGREGATIONS, type StepAggregation } from '../trainers/reward/prm.js';
import { argmax, loadRewardScorer } from '../trainers/reward/reward-scorer.js';
import { Rng } from '../util/rng.js';
import { labelSampledResponse } from '../data/world/steps.js';
import { choice, field, parseCommand, type CommandSpec } from './args.js';
import { outputFile } from './paths.js';

const schema = {
  reward_model: field('path', '', 'reward model folder: glmkit reward (pairwise) or glmkit reward --process', { required: true }),
  policy: field('path', '', 'causal LM folder that samples the responses (its tokenizer is used for both models)', { required: true }),
  prompts: field('path', '', 'JSONL with "prompt" (string or messages) and optional "answer" (+ "task" or "verifier")', { required: true }),
  n: field('int', 8, 'responses sampled per prompt', { min: 1 }),
  out: field('path', '', 'JSONL of the pick per prompt (prompt, best, score, scores, correct...); empty: summary only'),
  steps_out: field('path', '', 'also write every sample to an arithmetic question, labelled step by step by the world\'s checker, as stepwise JSONL (training data for reward --process)'),
  reward_aggregation: choice(['', ...STEP_AGGREGATIONS], '', 'process reward models: min, prod or last of the step probabilities (default: the one saved with the model)'),
  max_new_tokens: field('int', 160, 'tokens per response', { min: 1 }),
  temperature: field('number', 1, 'sampling temperature', { min: 0 }),
  thinking: field('boolean', true, 'sample in thinking mode (reasoning steps, then the answer)'),
  batch_size: field('int', 16, 'sequences per generation batch', { min: 1 }),
  seed: field('int', 0, 'sampling seed', { min: 0 }),
  overwrite: field('boolean', false, 'replace an existing --out file'),
};

const spec: CommandSpec<typeof schema> = {
  name: 'rerank',
  usage: 'glmkit rerank --reward-model DIR --policy DIR --prompts F --n N [--out F] [options]',
  description: 'Best-of-N: sample N responses per prompt with the policy and keep the one the reward model (ORM or PRM) scores highest.',
  schema,
};

interface RerankPrompt {
  prompt: ChatMessage[];
  record: VerifiableRecord | null;
}

function readPrompts(file: string): RerankPrompt[] {
  return readJsonl(file).map((r) => {
    const v = r.value;
    const prompt = typeof v.prompt === 'string' ? [{ role: 'user' as const, content: v.prompt }] : v.prompt;
    if (!isMessages(prompt) || prompt.length === 0) throw new DataError('expected "prompt": a string or a non-empty list of messages', { file, line: r.line, field: 'prompt' });
    if (v.answer !== undefined && typeof v.answer !== 'string' && typeof v.answer !== 'number') throw new DataError(`expected "answer": a string or number, found ${JSON.stringify(v.answer)}`, { file, line: r.line, field: 'answer' });
    return { prompt, record: v.answer === undefined ? null : ({ ...(v as object), answer: String(v.answer) } as VerifiableRecord) };
  });
}

export async function rerankCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  if (v.out) outputFile('rerank', '--out', v.out, v.overwrite, 'a JSONL file');
  if (v.steps_out) outputFile('rerank', '--steps-out', v.steps_out, v.overwrite, 'a JSONL file');
  const prompts = readPrompts(v.prompts);
  const tok = loadTokenizer(v.policy);
  const scorer = loadRewardScorer(v.reward_model, tok, (v.reward_aggregation || null) as StepAggregation | null);
  const policy = loadCausalLM(v.policy);
  const rs = rollout(policy, tok, prompts.map((p) => p.prompt), { maxNewTokens: v.max_new_tokens, temperature: v.temperature, numSamples: v.n, batchSize: v.batch_size, thinking: v.thinking, rng: new Rng(v.seed) });
  const messages = rs.map(rolloutMessage);
  const scores = scorer.score(rs.map((r) => prompts[r.promptIndex].prompt), messages);
  const rows: Record<string, unknown>[] = [];
  let best = 0, first = 0, any = 0, verifiable = 0;
  prompts.forEach((p, i) => {
    const mine = scores.slice(i * v.n, (i + 1) * v.n), k = argmax(mine);
    const row: Record<string, unknown> = { prompt: p.prompt, best: messages[i * v.n + k], score: mine[k], index: k, scores: mine };
    if (p.record) {
      const ok = rs.slice(i * v.n, (i + 1) * v.n).map((r) => recordReward(p.record!, r.parsed) >= 0.5);
      Object.assign(row, { correct: ok[k], first_correct: ok[0], any_correct: ok.some(Boolean) });
      [best, first, any, verifiable] = [best + Number(ok[k]), first + Number(ok[0]), any + Number(ok.some(Boolean)), verifiable + 1];
    }
    rows.push(row);
  });
  if (v.out) writeFileSync(v.out, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  let labelled = 0;
  if (v.steps_out) {
    const recs = rs.flatMap((r, i) => {
      const user = prompts[r.promptIndex].prompt.filter((m) => m.role === 'user').at(-1)?.content ?? '';
      const rec = labelSampledResponse(user, { content: messages[i].content ?? '', reasoning_content: messages[i].reasoning_content ?? '' });
      return rec ? [rec] : [];
    });
    writeFileSync(v.steps_out, recs.map((r) => JSON.stringify(r)).join('\n') + (recs.length ? '\n' : ''));
    labelled = recs.length;
  }
  const summary: Record<string, unknown> = { prompts: prompts.length, n: v.n, reward_model: scorer.kind, aggregation: scorer.aggregation };
  if (v.steps_out) summary.step_labelled = labelled;
  if (verifiable > 0) Object.assign(summary, { verifiable, best_of_n_accuracy: best / verifiable, first_sample_accuracy: first / verifiable, oracle_accuracy: any / verifiable });
  console.log(JSON.stringify(summary));
  return 0;
}

