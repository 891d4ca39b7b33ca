/**
 * `glmkit pretrain ...` and `glmkit sft ...`: flags and --config resolve into the trainer's config
 * (see trainers/base/config.ts); the resolved config is printed and saved with every checkpoint.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { helpText, readConfigObject, resolveConfig, type Schema, type Values } from '../trainers/base/config.js';
import { PretrainTrainer, packText, pretrainSchema } from '../trainers/pretrain/pretrain-trainer.js';
import { SftTrainer, sftSchema } from '../trainers/sft/sft-trainer.js';
import { loadSftExamples } from '../trainers/sft/sft-data.js';
import type { BaseConfig } from '../trainers/base/trainer.js';

/** Splits `--config FILE` out of argv and resolves the rest against the schema. */
export function resolveCommandConfig<S extends Schema>(command: string, schema: S, argv: string[], usage = `glmkit ${command} --model DIR --data FILE.jsonl --out DIR [options]`): Values<S> | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText(`usage: ${usage}`, schema));
    return null;
  }
  const rest: string[] = [];
  let object: Record<string, unknown> | undefined, objectSource: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') {
      if (i + 1 >= argv.length) throw new UsageError(`${command}: --config needs a file`);
      objectSource = argv[++i];
      object = readConfigObject(objectSource);
    } else rest.push(argv[i]);
  }
  return resolveConfig(schema, { object, objectSource, argv: rest });
}

function requireInputs(command: string, cfg: BaseConfig): void {
  for (const k of ['model', 'data', 'out'] as const) if (!cfg[k]) throw new UsageError(`${command}: --${k} is required (see glmkit ${command} --help)`);
  if (!existsSync(join(cfg.model, 'tokenizer.json'))) throw new ConfigError(`${command}: ${cfg.model} has no tokenizer.json; train one with \`glmkit tokenizer train\` and put it in the model folder`);
}

export async function pretrainCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('pretrain', pretrainSchema, argv);
  if (!cfg) return 0;
  requireInputs('pretrain', cfg);
  const tok = loadTokenizer(cfg.model);
  const model = loadCausalLM(cfg.model);
  const seqs = packText(cfg.data, tok, cfg.max_seq_length);
  const evalSeqs = cfg.eval_data ? packText(cfg.eval_data, tok, cfg.max_seq_length) : null;
  if (!cfg.quiet) console.error(`pretrain: ${seqs.length} sequences of ${cfg.max_seq_length} tokens from ${cfg.data}`);
  const r = await new PretrainTrainer(cfg, model, tok, seqs, evalSeqs).train();
  console.log(JSON.stringify({ steps: r.steps, tokens: r.tokens, loss: r.finalLoss, final: join(r.out, 'final') }));
  return 0;
}

export async function sftCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('sft', sftSchema, argv);
  if (!cfg) return 0;
  requireInputs('sft', cfg);
  const tok = loadTokenizer(cfg.model);
  const model = loadCausalLM(cfg.model);
  const { examples, dropped } = loadSftExamples(cfg.data, tok, cfg.max_seq_length);
  const evalEx = cfg.eval_data ? loadSftExamples(cfg.eval_data, tok, cfg.max_seq_length).examples : null;
  if (!cfg.quiet) console.error(`sft: ${examples.length} examples from ${cfg.data}${dropped ? `, ${dropped} dropped as longer than ${cfg.max_seq_length} tokens` : ''}`);
  const r = await new SftTrainer(cfg, model, tok, examples, evalEx).train();
  console.log(JSON.stringify({ steps: r.steps, tokens: r.tokens, loss: r.finalLoss, final: join(r.out, 'final') }));
  return 0;
}
