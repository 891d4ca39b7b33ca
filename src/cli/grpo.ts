/**
 * `glmkit grpo --model DIR --data RL.jsonl --out DIR [--eval-data RL.jsonl] [options]`: GRPO with
 * verifiable rewards, RLCS curriculum and tool rollouts (see trainers/grpo/). Prompts are the
 * world's RL records (`glmkit data world --task rl`) or any JSONL with "prompt" and "answer".
 */
import { join } from 'node:path';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { grpoSchema } from '../trainers/grpo/grpo-config.js';
import { loadRlPrompts } from '../trainers/grpo/grpo-data.js';
import { GrpoTrainer } from '../trainers/grpo/grpo-trainer.js';
import { resolveCommandConfig } from './train.js';
import { dataFilesLabel } from '../data/jsonl.js';

export async function grpoCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('grpo', grpoSchema, argv);
  if (!cfg) return 0;
  const tok = loadTokenizer(cfg.model);
  const model = loadCausalLM(cfg.model);
  const prompts = loadRlPrompts(cfg.data);
  const evalPrompts = cfg.eval_data ? loadRlPrompts(cfg.eval_data) : null;
  if (!cfg.quiet) console.error(`grpo: ${prompts.length} prompts from ${dataFilesLabel(cfg.data)}, ${cfg.num_generations} samples each, curriculum ${cfg.curriculum}`);
  const trainer = new GrpoTrainer(cfg, model, tok, prompts, evalPrompts);
  const r = await trainer.train();
  const last = r.metrics.at(-1) ?? {};
  console.log(JSON.stringify({ steps: r.steps, rollouts: trainer.rollouts, prepass_rollouts: trainer.prepassRollouts, eval_accuracy: last.eval_accuracy, curriculum: trainer.curriculum.summary(), final: join(r.out, 'final') }));
  return 0;
}
