/** `glmkit pipeline --preset tiny --out DIR`: the whole recipe on the built-in world (see pipeline/pipeline.ts). */
import { runPipeline } from '../pipeline/pipeline.js';
import { pipelineSchema } from '../pipeline/recipe.js';
import { readConfigObject, type Field, type Schema } from '../trainers/base/config.js';
import { resolveCommandConfig } from './train.js';
import { vlPresetNames } from '../models/glm4v/config.js';
import { runVlStages } from '../pipeline/vl/vl-pipeline.js';
import { VL_STAGES_WITH_RL, vlRlPipelineSchema } from '../pipeline/vl/vl-rl-stage.js';

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

/** The value of `--preset X` / `--preset=X` on the command line, else the `preset` key of the `--config` file, else null. */
function presetArg(argv: string[]): string | null {
  let config: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--preset' && i + 1 < argv.length) return argv[i + 1];
    if (argv[i].startsWith('--preset=')) return argv[i].slice('--preset='.length);
    if (argv[i] === '--config' && i + 1 < argv.length) config = argv[i + 1];
    if (argv[i].startsWith('--config=')) config = argv[i].slice('--config='.length);
  }
  const preset = config !== null ? readConfigObject(config).preset : undefined;
  return typeof preset === 'string' ? preset : null;
}

/** `glmkit pipeline --preset tiny-vl|small-vl ...`: the vision-language pipeline (pipeline/vl/). */
async function vlPipelineCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('pipeline', vlRlPipelineSchema, argv, 'glmkit pipeline --preset tiny-vl --out DIR [options]', {
    required: ['out'],
    description: `Trains a GLM-4.1V from scratch on the visual world: ${VL_STAGES_WITH_RL.map((s) => s.name).join(', ')} (docs/vision.md "The tiny-vl pipeline").`,
  });
  if (!cfg) return 0;
  const summary = await runVlStages(cfg, VL_STAGES_WITH_RL, cfg.quiet ? () => {} : undefined);
  console.log(JSON.stringify(summary));
  return 0;
}

export async function pipelineCommand(argv: string[]): Promise<number> {
  const preset = presetArg(argv);
  if (preset !== null && vlPresetNames().includes(preset)) return vlPipelineCommand(argv);
  const cfg = resolveCommandConfig('pipeline', withTrainerNames(pipelineSchema) as typeof pipelineSchema, argv, 'glmkit pipeline --preset tiny --out DIR [options]', {
    required: ['out'],
    description: 'Runs the whole recipe on the built-in world: data, tokenizer, init, pretrain, sft, eval, align (reward model, PPO, DPO, EXO), grpo, report (--until stops earlier). A vision-language preset (--preset tiny-vl or small-vl) runs the vision-language pipeline instead: glmkit pipeline --preset tiny-vl --help.',
    notes: NOTES,
  });
  if (!cfg) return 0;
  const summary = await runPipeline(cfg, cfg.quiet ? () => {} : undefined);
  console.log(JSON.stringify(summary));
  return 0;
}
