/** `glmkit pipeline --preset tiny --out DIR`: the whole recipe on the built-in world (see pipeline/pipeline.ts). */
import { runPipeline } from '../pipeline/pipeline.js';
import { pipelineSchema } from '../pipeline/recipe.js';
import { resolveCommandConfig } from './train.js';

export async function pipelineCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('pipeline', pipelineSchema, argv, 'glmkit pipeline --preset tiny --out DIR [options]');
  if (!cfg) return 0;
  const summary = await runPipeline(cfg, cfg.quiet ? () => {} : undefined);
  console.log(JSON.stringify(summary));
  return 0;
}
