/**
 * `glmkit grpo --model DIR --data RL.jsonl --out DIR [--eval-data RL.jsonl] [options]`: GRPO with
 * verifiable rewards, RLCS curriculum and tool rollouts (see trainers/grpo/). Prompts are the
 * world's RL records (`glmkit data world --task rl`) or any JSONL with "prompt" and "answer"; a
 * GLM-4.1V model (--model with model_type glm4v) takes prompts with images (`glmkit data vision
 * --task rl`), docs/vision.md "RL with images".
 */
import { join } from 'node:path';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { grpoSchema } from '../trainers/grpo/grpo-config.js';
import { loadRlPrompts } from '../trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../trainers/grpo/grpo-trainer.js';
import { checkPromptsFit, loadGrpoPolicy } from '../trainers/grpo/vision-policy.js';
import { resolveCommandConfig } from './train.js';
import { dataFilesLabel } from '../data/jsonl.js';

export async function grpoCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('grpo', grpoSchema, argv);
  if (!cfg) return 0;
  const tok = loadTokenizer(cfg.model);
  const policy = loadGrpoPolicy(cfg.model, tok);
  const prompts = loadRlPrompts(cfg.data);
  const evalPrompts = cfg.eval_data ? loadRlPrompts(cfg.eval_data) : null;
  checkPromptsFit(policy, prompts, `--data ${dataFilesLabel(cfg.data)}`);
  if (evalPrompts && cfg.eval_data) checkPromptsFit(policy, evalPrompts, `--eval-data ${dataFilesLabel(cfg.eval_data)}`);
  if (!cfg.quiet) console.error(`grpo: ${prompts.length} prompts from ${dataFilesLabel(cfg.data)}, ${cfg.num_generations} samples each, curriculum ${cfg.curriculum}`);
  const trainer = new GrpoTrainer(cfg, policy, tok, prompts, evalPrompts);
  const r = await trainer.train();
  const last = r.metrics.at(-1) ?? {};
  console.log(JSON.stringify({ steps: r.steps, rollouts: trainer.rollouts, prepass_rollouts: trainer.prepassRollouts, eval_accuracy: last.eval_accuracy, curriculum: trainer.curriculum.summary(), final: join(r.out, 'final') }));
  return 0;
}
