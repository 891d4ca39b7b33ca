/**
 * `glmkit pretrain ...` and `glmkit sft ...`: flags and --config resolve into the trainer's config
 * (see trainers/base/config.ts); the resolved config is printed and saved with every checkpoint.
 */
import { join } from 'node:path';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { field, type Field, type Schema, type Values } from '../trainers/base/config.js';
import { listCheckpoints } from '../trainers/base/checkpoint.js';
import { PretrainTrainer, packText, pretrainSchema } from '../trainers/pretrain/pretrain-trainer.js';
import { SftTrainer, sftSchema } from '../trainers/sft/sft-trainer.js';
import { loadSftExamples } from '../trainers/sft/sft-data.js';
import { dataFilesLabel } from '../data/jsonl.js';
import { isGlm4vFolder } from '../models/glm4v/checkpoint.js';
import { parseCommand, type CommandSpec } from './args.js';
import { vlmTrainCommand } from './vlm.js';
import { inputFile, isFolder, modelDir, outputDir } from './paths.js';

/** Keys every trainer's command line needs. */
const REQUIRED = ['model', 'data', 'out'];

/**
 * The command-line view of a trainer schema (the schema itself stays what configs and checkpoints
 * store): required inputs marked, `--data` repeatable, `enable_thinking` spelled `--thinking on|off`
 * as in generate and chat, and `--overwrite`.
 */
export function cliSchema<S extends Schema>(schema: S, required: readonly string[] = REQUIRED): S & { overwrite: Field<boolean> } {
  const out: Record<string, Field<unknown>> = {};
  for (const [k, f] of Object.entries(schema)) {
    let g: Field<unknown> = f;
    if (required.includes(k)) g = { ...g, required: true };
    if (k === 'enable_thinking' && f.kind === 'boolean') g = { ...g, flag: 'thinking', onOff: true, switches: { 'enable-thinking': true } };
    out[k] = g;
  }
  if ('out' in schema) out.overwrite = field('boolean', false, 'write into an --out folder that already holds files (e.g. a model) but no checkpoints');
  return out as S & { overwrite: Field<boolean> };
}

/**
 * Parses a trainer-style command (`--config FILE` + flags) and checks its paths before any work:
 * model folders (`model`, `*_model`), data files (`data`, `*_data`) and the output folder. Returns
 * null after printing --help.
 */
export function resolveCommandConfig<S extends Schema>(command: string, schema: S, argv: string[], usage = `glmkit ${command} --model DIR --data FILE.jsonl --out DIR [options]`, opts: { required?: readonly string[]; description?: string; notes?: string } = {}): Values<S> | null {
  const spec: CommandSpec<Schema> = { name: command, usage, schema: cliSchema(schema, opts.required ?? REQUIRED.filter((k) => k in schema)), config: true, description: opts.description, notes: opts.notes };
  const parsed = parseCommand(spec, argv);
  if (!parsed) return null;
  const { overwrite, ...cfg } = parsed.values as Record<string, unknown>;
  checkPaths(command, schema, cfg, !!overwrite);
  return cfg as Values<S>;
}

function checkPaths(command: string, schema: Schema, cfg: Record<string, unknown>, overwrite: boolean): void {
  for (const [k, f] of Object.entries(schema)) {
    const v = cfg[k];
    if (f.kind !== 'path' || v === null || v === '' || v === undefined) continue;
    const flag = `--${k.replace(/_/g, '-')}`;
    if (k === 'model') modelDir(command, flag, v as string, true);
    else if (k.endsWith('_model')) modelDir(command, flag, v as string);
    else if (k === 'data' || k.endsWith('_data')) for (const file of Array.isArray(v) ? v : [v]) inputFile(command, flag, file as string, 'a JSONL file');
  }
  if (typeof cfg.out === 'string' && cfg.out !== '' && 'resume' in schema) {
    const hasCheckpoints = isFolder(cfg.out) && listCheckpoints(cfg.out).length > 0;
    // a folder with checkpoints is the trainer's to judge (--resume continues it); anything else non-empty needs --overwrite
    if (!hasCheckpoints && !(cfg.resume && cfg.resume !== 'false')) outputDir(command, '--out', cfg.out, overwrite, 'an output folder');
    else outputDir(command, '--out', cfg.out, true, 'an output folder');
  }
}

export async function pretrainCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('pretrain', pretrainSchema, argv);
  if (!cfg) return 0;
  const tok = loadTokenizer(cfg.model);
  const model = loadCausalLM(cfg.model);
  const seqs = packText(cfg.data, tok, cfg.max_seq_length);
  const evalSeqs = cfg.eval_data ? packText(cfg.eval_data, tok, cfg.max_seq_length) : null;
  if (!cfg.quiet) console.error(`pretrain: ${seqs.length} sequences of ${cfg.max_seq_length} tokens from ${dataFilesLabel(cfg.data)}`);
  const r = await new PretrainTrainer(cfg, model, tok, seqs, evalSeqs).train();
  console.log(JSON.stringify({ steps: r.steps, tokens: r.tokens, loss: r.finalLoss, final: join(r.out, 'final') }));
  return 0;
}

export async function sftCommand(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('sft', sftSchema, argv);
  if (!cfg) return 0;
  if (isGlm4vFolder(cfg.model)) return vlmTrainCommand('sft', cfg);
  const tok = loadTokenizer(cfg.model);
  const model = loadCausalLM(cfg.model);
  const { examples, dropped } = loadSftExamples(cfg.data, tok, cfg.max_seq_length);
  const evalEx = cfg.eval_data ? loadSftExamples(cfg.eval_data, tok, cfg.max_seq_length).examples : null;
  if (!cfg.quiet) console.error(`sft: ${examples.length} examples from ${dataFilesLabel(cfg.data)}${dropped ? `, ${dropped} dropped as longer than ${cfg.max_seq_length} tokens` : ''}`);
  const r = await new SftTrainer(cfg, model, tok, examples, evalEx).train();
  console.log(JSON.stringify({ steps: r.steps, tokens: r.tokens, loss: r.finalLoss, final: join(r.out, 'final') }));
  return 0;
}
