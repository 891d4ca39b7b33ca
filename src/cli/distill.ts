/**
 * `glmkit distill --base SFT_DIR --out DIR [--expert DOMAIN=DIR ...] [--reward-model RM] [--rounds N]`:
 * GLM-4.5's expert iteration with self-distillation (src/trainers/distill/): domain experts, their
 * filtered samples as TRL data (hybrid: direct mode where reasoning does not help), a student
 * fine-tuned on the union; prints each round's scores as JSON.
 */
import { distillSchema, runDistill } from '../trainers/distill/distill.js';
import { resolveCommandConfig } from './train.js';

export async function distillCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('distill', distillSchema, argv, 'glmkit distill --base SFT_DIR --out DIR [--expert DOMAIN=DIR ...] [--reward-model RM_DIR] [options]', {
    required: ['base', 'out'],
    description: 'Expert iteration with self-distillation (GLM-4.5): experts per domain (reasoning, tool, chat) from one base, rejection-sampled\ndistillation data in TRL messages format, and one hybrid-reasoning student fine-tuned on it; --rounds repeats with the student as base.',
  });
  if (!cfg) return 0;
  const results = await runDistill(cfg, (l) => {
    if (!cfg.quiet) console.error(l);
  });
  for (const { perPrompt: _p, ...r } of results) console.log(JSON.stringify(r));
  return 0;
}
