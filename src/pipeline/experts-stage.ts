/**
 * The pipeline's expert-iteration stage (`--until experts`, after grpo): one round of `glmkit
 * distill` from the SFT model with the experts the earlier stages made (reasoning: OUT/grpo/final;
 * chat: the alignment stage's chosen model, else OUT/exo/final) and a tool expert trained here
 * (GRPO with python-tool rollouts). The student lands in OUT/experts/round1/student/final; the
 * summary reports every expert on its own domain and the base and the student on every domain.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { distillConfig, runDistill } from '../trainers/distill/distill.js';
import type { StageContext } from './stage.js';

export async function runExpertsStage(ctx: Pick<StageContext, 'out' | 'sftDir' | 'seed' | 'quick' | 'quiet' | 'log'>, finalModel: string | undefined): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const reasoning = join(ctx.out, 'grpo', 'final');
  const chat = finalModel && finalModel !== ctx.sftDir && existsSync(join(finalModel, 'config.json')) ? finalModel : join(ctx.out, 'exo', 'final');
  const rm = join(ctx.out, 'reward', 'final');
  for (const [what, dir] of [['the GRPO model (grpo stage)', reasoning], ['an aligned model (align stage)', chat], ['the reward model (align stage)', rm]] as const) {
    if (!existsSync(join(dir, 'config.json'))) throw new ConfigError(`pipeline: the experts stage builds on ${what} at ${dir}, found nothing; run the earlier stages first`);
  }
  const budget = ctx.quick
    ? { prompts_per_domain: 3, eval_prompts: 3, expert_steps: 1, samples_per_prompt: 2, max_new_tokens: 24, sft_steps: 2 }
    : { prompts_per_domain: 64, eval_prompts: 80, expert_steps: 30, samples_per_prompt: 4, max_new_tokens: 256, sft_steps: 80 };
  const cfg = distillConfig({ base: ctx.sftDir, out: join(ctx.out, 'experts'), reward_model: rm, expert: [`reasoning=${reasoning}`, `chat=${chat}`], ...budget, seed: ctx.seed, quiet: ctx.quiet });
  const [r] = await runDistill(cfg, ctx.log);
  return { experts: r.experts, scores: r.scores, data: r.data, filter: r.filter, student: r.student, student_trained: r.student_trained, seconds: (Date.now() - t0) / 1000 };
}
