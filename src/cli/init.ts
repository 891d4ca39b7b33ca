/** `glmkit init --preset P --out DIR [--seed N] [--dtype f32|bf16|f16]`: a randomly initialised HF model folder. */
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { loadPreset, presetNames } from '../models/glm/config.js';
import { saveModel } from '../models/glm/checkpoint.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { intFlag, parseFlags } from './args.js';

const HELP = `usage: glmkit init --preset NAME --out DIR [--seed N] [--dtype f32|bf16|f16] [--tokenizer DIR]

Writes a complete Hugging Face model folder (config.json, generation_config.json, model.safetensors)
with randomly initialised weights (normal, std = initializer_range; norms 1; biases 0).
  --preset     one of: ${presetNames().join(', ')}
  --seed       initialisation seed (default 0)
  --dtype      storage dtype of the weights (default f32)
  --tokenizer  copy tokenizer.json and tokenizer_config.json from this folder`;

export const DTYPES = { f32: 'F32', bf16: 'BF16', f16: 'F16' } as const;

export async function initCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('init', argv, {
    preset: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    dtype: { type: 'string' },
    tokenizer: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.preset || !values.out) throw new UsageError('init: --preset and --out are required (see glmkit init --help)');
  const dtype = DTYPES[(values.dtype ?? 'f32') as keyof typeof DTYPES];
  if (!dtype) throw new UsageError(`init: --dtype must be f32, bf16 or f16, got '${values.dtype}'`);
  const cfg = loadPreset(values.preset);
  const model = new GlmForCausalLM(cfg, { seed: intFlag('init', 'seed', values.seed, 0, 0) });
  saveModel(values.out, model, { dtype });
  if (values.tokenizer) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      const src = join(values.tokenizer, f);
      if (!existsSync(src)) throw new UsageError(`init: --tokenizer ${values.tokenizer} has no ${f}`);
      cpSync(src, join(values.out, f));
    }
  }
  console.log(JSON.stringify({ out: values.out, preset: values.preset, parameters: model.numParameters() }));
  return 0;
}
