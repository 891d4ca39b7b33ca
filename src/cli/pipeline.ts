/** `glmkit pipeline --preset tiny --out DIR`: the whole recipe on the built-in world (see pipeline/pipeline.ts). */
import { runPipeline } from '../pipeline/pipeline.js';
import { pipelineSchema } from '../pipeline/recipe.js';
import type { Field, Schema } from '../trainers/base/config.js';
import { resolveCommandConfig } from './train.js';

/** Pipeline keys and the trainer flag each one sets in its stage (also accepted as spellings). */
export const PIPELINE_FLAG_MAP: Record<string, { stage: string; flag: string }> = {
  pretrain_steps: { stage: 'pretrain', flag: 'max-steps' },
  pretrain_batch: { stage: 'pretrain', flag: 'per-device-train-batch-size' },
  pretrain_lr: { stage: 'pretrain', flag: 'learning-rate' },
  seq_len: { stage: 'pretrain', flag: 'max-seq-length' },
  sft_steps: { stage: 'sft', flag: 'max-steps' },
  sft_batch: { stage: 'sft', flag: 'per-device-train-batch-size' },
  sft_lr: { stage: 'sft', flag: 'learning-rate' },
  sft_seq_len: { stage: 'sft', flag: 'max-seq-length' },
};

/** The pipeline schema with the trainers' spellings (`--pretrain-learning-rate` = `--pretrain-lr`). */
function withTrainerNames(schema: Schema): Schema {
  const out: Schema = {};
  for (const [k, f] of Object.entries(schema)) {
    const m = PIPELINE_FLAG_MAP[k];
    out[k] = m ? ({ ...f, alsoFlags: [...(f.alsoFlags ?? []), `${m.stage}-${m.flag}`] } as Field<unknown>) : f;
  }
  return out;
}

const NOTES = [
  'Stage flags and the trainer flags they set (either spelling is accepted):',
  ...Object.entries(PIPELINE_FLAG_MAP).map(([k, m]) => `  --${k.replace(/_/g, '-').padEnd(15)} = glmkit ${m.stage} --${m.flag} (also --${m.stage}-${m.flag})`),
].join('\n');

export async function pipelineCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('pipeline', withTrainerNames(pipelineSchema) as typeof pipelineSchema, argv, 'glmkit pipeline --preset tiny --out DIR [options]', {
    required: ['out'],
    description: 'Runs the whole recipe on the built-in world: data, tokenizer, init, pretrain, sft, eval, align (reward model, PPO, DPO, EXO), grpo, report (--until stops earlier).',
    notes: NOTES,
  });
  if (!cfg) return 0;
  const summary = await runPipeline(cfg, cfg.quiet ? () => {} : undefined);
  console.log(JSON.stringify(summary));
  return 0;
}
