/**
 * `glmkit reward --model SFT_DIR --data pairs.jsonl --out DIR`: trains a reward model (one-label
 * GlmForSequenceClassification initialised from the SFT model) on TRL preference pairs; OUT/final is
 * an HF sequence-classification folder. Prints the held-out metrics when --eval-data is given (for
 * world pairs also split into style-, slip- and misread-decided pairs). `--model` may be a reward model
 * to continue (e.g. a correctness warm-up on contrastive pairs, then mixed pairs; see
 * docs/experiments/alignment.md). With `--process`, `--data` is stepwise-supervision JSONL and the model
 * is a process reward model (trainers/reward/prm.ts), its response aggregation saved in config.json.
 */
import { join } from 'node:path';
import { loadModel } from '../models/glm/checkpoint.js';
import { GlmForCausalLM, GlmForSequenceClassification } from '../models/glm/model.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import { isWorldPrompt, loadPreferenceData } from '../data/preference.js';
import { RewardTrainer, rewardModelFromCausal, rewardSchema, type RewardConfig } from '../trainers/reward/reward-trainer.js';
import { markStepRewardModel, stepRewardModelFromCausal } from '../trainers/reward/prm.js';
import { ProcessRewardTrainer, stepRewardMetrics, tokenizeStepwise } from '../trainers/reward/prm-trainer.js';
import { readStepwise } from '../data/stepwise.js';
import { DataError } from '../errors.js';
import { EOS_TOKEN } from '../tokenizer/special-tokens.js';
import { evaluateRewardModel } from '../pipeline/alignment-stage.js';
import { resolveCommandConfig } from './train.js';
import { dataFilesLabel } from '../data/jsonl.js';

export async function rewardCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('reward', rewardSchema, argv);
  if (!cfg) return 0;
  if (cfg.process) return processRewardCommand(cfg);
  const tok = loadTokenizer(cfg.model);
  const start = loadModel(cfg.model);
  const rm = start instanceof GlmForCausalLM ? rewardModelFromCausal(start, cfg.seed) : (start as GlmForSequenceClassification);
  const train = loadPreferenceData(cfg.data, tok, { maxLen: cfg.max_seq_length, balanceLength: cfg.length_balance, bucketWidth: cfg.length_bucket_width, seed: cfg.seed });
  const test = cfg.eval_data ? loadPreferenceData(cfg.eval_data, tok, { maxLen: cfg.max_seq_length }) : null;
  if (!cfg.quiet) console.error(`reward: ${train.pairs.length} pairs from ${dataFilesLabel(cfg.data)} (${JSON.stringify(train.stats)})`);
  const r = await new RewardTrainer(cfg, rm, tok, train.pairs, test?.pairs ?? null).train();
  // world pairs (every prompt one the world answers) are also split by what decides them
  const world = test !== null && test.pairs.every((p) => isWorldPrompt(p.pair.prompt as ChatMessage[]));
  const metrics = test ? evaluateRewardModel(rm, tok, test.pairs, cfg.length_bucket_width, { worldCorrectness: world }) : {};
  console.log(JSON.stringify({ steps: r.steps, loss: r.finalLoss, final: join(r.out, 'final'), eval: metrics }));
  return 0;
}

async function processRewardCommand(cfg: RewardConfig): Promise<number> {
  const tok = loadTokenizer(cfg.model);
  const start = loadModel(cfg.model);
  const info = { type: cfg.supervision, aggregation: cfg.reward_aggregation, step_separator: cfg.step_separator, step_layout: cfg.step_layout } as const;
  let rm: GlmForSequenceClassification;
  if (start instanceof GlmForCausalLM) rm = stepRewardModelFromCausal(start, info, cfg.seed);
  else {
    rm = start as GlmForSequenceClassification;
    markStepRewardModel(rm, info);
  }
  const train = tokenizeStepwise(tok, readStepwise(cfg.data), cfg.max_seq_length, cfg.step_separator, cfg.step_layout);
  if (train.examples.length === 0) throw new DataError(`every example of ${dataFilesLabel(cfg.data)} is longer than --max-seq-length ${cfg.max_seq_length} tokens; raise it`);
  const test = cfg.eval_data ? tokenizeStepwise(tok, readStepwise(cfg.eval_data), cfg.max_seq_length, cfg.step_separator, cfg.step_layout) : null;
  if (!cfg.quiet) console.error(`reward --process: ${train.examples.length} responses (${train.dropped} longer than ${cfg.max_seq_length} tokens dropped) from ${dataFilesLabel(cfg.data)}, ${cfg.supervision} supervision, aggregation ${cfg.reward_aggregation}`);
  const r = await new ProcessRewardTrainer(cfg, rm, tok, train.examples, test?.examples ?? null).train();
  const metrics = test ? stepRewardMetrics(rm, test.examples, tok.requireId(EOS_TOKEN), cfg.reward_aggregation, cfg.supervision) : {};
  console.log(JSON.stringify({ steps: r.steps, loss: r.finalLoss, final: join(r.out, 'final'), eval: metrics }));
  return 0;
}
