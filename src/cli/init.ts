/** `glmkit init --preset P --out DIR [--seed N] [--dtype f32|bf16|f16]`: a randomly initialised HF model folder. */
import { copyFileSync, cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import { loadPreset, presetNames } from '../models/glm/config.js';
import { saveModel } from '../models/glm/checkpoint.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { presetDir } from '../models/glm/config.js';
import { loadVlPreset, vlPresetNames } from '../models/glm4v/config.js';
import { saveGlm4vModel } from '../models/glm4v/checkpoint.js';
import { Glm4vForConditionalGeneration } from '../models/glm4v/model.js';
import { glm4vConfigForTokenizer } from '../models/glm4v/init-model.js';
import { PREPROCESSOR_FILE } from '../models/glm4v/preprocess-config.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { field, choice, parseCommand } from './args.js';
import { inputDir, outputDir } from './paths.js';

export const DTYPES = { f32: 'F32', bf16: 'BF16', f16: 'F16' } as const;

const spec = {
  name: 'init',
  usage: 'glmkit init --preset NAME --out DIR [--seed N] [--dtype f32|bf16|f16] [--tokenizer DIR] [--overwrite]',
  description:
    'Writes a complete Hugging Face model folder (config.json, generation_config.json, model.safetensors)\nwith randomly initialised weights (normal, std = initializer_range; norms 1; biases 0).\nVision-language presets (GLM-4.1V) also write preprocessor_config.json; with --tokenizer their image\nmarker ids come from the tokenizer.',
  schema: {
    preset: field('string', '', `model preset, one of: ${[...presetNames(), ...vlPresetNames()].join(', ')}`, { required: true, placeholder: 'name' }),
    out: field('path', '', 'the model folder to write (a non-empty folder is refused unless --overwrite)', { required: true, placeholder: 'dir' }),
    seed: field('int', 0, 'initialisation seed', { min: 0 }),
    dtype: choice(['f32', 'bf16', 'f16'], 'f32', 'storage dtype of the weights'),
    tokenizer: field<string | null>('path', null, 'copy tokenizer.json and tokenizer_config.json from this folder', { nullable: true, placeholder: 'dir' }),
    overwrite: field('boolean', false, 'write into a non-empty --out folder (replacing a model there)'),
  },
};

export async function initCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  if (vlPresetNames().includes(v.preset)) return initVisionLanguage(v);
  let cfg;
  try {
    cfg = loadPreset(v.preset);
  } catch (e) {
    if (e instanceof ConfigError && !presetNames().includes(v.preset)) {
      throw new UsageError(`init: --preset: unknown model preset "${v.preset}": expected one of ${[...presetNames(), ...vlPresetNames()].join(', ')}`);
    }
    throw e;
  }
  if (v.tokenizer !== null) inputDir('init', '--tokenizer', v.tokenizer, 'a folder with tokenizer.json and tokenizer_config.json', ['tokenizer.json', 'tokenizer_config.json']);
  outputDir('init', '--out', v.out, v.overwrite, 'a folder for the model');
  const dtype = DTYPES[v.dtype];
  const model = new GlmForCausalLM(cfg, { seed: v.seed });
  saveModel(v.out, model, { dtype });
  if (v.tokenizer !== null) for (const f of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(v.tokenizer, f), join(v.out, f));
  console.log(JSON.stringify({ out: v.out, preset: v.preset, parameters: model.numParameters() }));
  return 0;
}

/** A GLM-4.1V folder: config.json (glm4v), preprocessor_config.json of the preset, weights. */
function initVisionLanguage(v: { preset: string; out: string; seed: number; dtype: keyof typeof DTYPES; tokenizer: string | null; overwrite: boolean }): number {
  let cfg = loadVlPreset(v.preset);
  if (v.tokenizer !== null) {
    inputDir('init', '--tokenizer', v.tokenizer, 'a folder with tokenizer.json and tokenizer_config.json', ['tokenizer.json', 'tokenizer_config.json']);
    try {
      cfg = glm4vConfigForTokenizer(cfg, loadTokenizer(v.tokenizer));
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(`init: --tokenizer ${v.tokenizer}: ${e.message}`);
      throw e;
    }
  }
  outputDir('init', '--out', v.out, v.overwrite, 'a folder for the model');
  const model = new Glm4vForConditionalGeneration(cfg, { seed: v.seed });
  mkdirSync(v.out, { recursive: true });
  const pre = join(presetDir(), `${v.preset}.${PREPROCESSOR_FILE}`);
  if (existsSync(pre)) copyFileSync(pre, join(v.out, PREPROCESSOR_FILE));
  saveGlm4vModel(v.out, model, { dtype: DTYPES[v.dtype] });
  if (v.tokenizer !== null) for (const f of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(v.tokenizer, f), join(v.out, f));
  console.log(JSON.stringify({ out: v.out, preset: v.preset, parameters: model.numParameters() }));
  return 0;
}
