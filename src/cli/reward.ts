/**
 * `glmkit reward --model SFT_DIR --data pairs.jsonl --out DIR`: trains a reward model (one-label
 * GlmForSequenceClassification initialised from the SFT model) on TRL preference pairs; OUT/final is
 * an HF sequence-classification folder. Prints the held-out metrics when --eval-data is given (for
 * world pairs also split into style-, slip- and misread-decided pairs). `--model` may be a reward model
 * to continue (e.g. a correctness warm-up on contrastive pairs, then mixed pairs; see
 * docs/experiments/alignment.md).
 */
import { join } from 'node:path';
import { loadModel } from '../models/glm/checkpoint.js';
import { GlmForCausalLM, GlmForSequenceClassification } from '../models/glm/model.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import type { ChatMessage } from '../tokenizer/chat-types.js';
import { isWorldPrompt, loadPreferenceData } from '../data/preference.js';
import { RewardTrainer, rewardModelFromCausal, rewardSchema } from '../trainers/reward/reward-trainer.js';
import { evaluateRewardModel } from '../pipeline/alignment-stage.js';
import { resolveCommandConfig } from './train.js';
import { dataFilesLabel } from '../data/jsonl.js';

export async function rewardCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('reward', rewardSchema, argv);
  if (!cfg) return 0;
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
