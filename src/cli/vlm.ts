/**
 * `glmkit vlm prealign --model DIR --data F.jsonl --out DIR [options]`: merger pre-alignment of a
 * GLM-4.1V folder (vision tower + merger train on captioning chats, the language model frozen).
 * `glmkit sft` on a glm4v folder runs image SFT through `vlmTrainCommand` too (docs/vision.md).
 */
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { dataFilesLabel, type DataFiles } from '../data/jsonl.js';
import { loadImageSftExamples } from '../data/image-chat.js';
import { isGlm4vFolder, loadGlm4vModel } from '../models/glm4v/checkpoint.js';
import { readImageProcessorConfig } from '../models/glm4v/preprocess-config.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { imageProcessor } from '../models/glm4v/preprocess.js';
import { PrealignTrainer, VlmSftTrainer, prealignSchema, type PrealignConfig, type VlmSftConfig } from '../trainers/vlm/vlm-trainer.js';
import { resolveCommandConfig } from './train.js';

const SUBCOMMANDS = ['prealign'] as const;

/** Loads a glm4v folder, its tokenizer, processor settings and the image chats, then trains. */
export async function vlmTrainCommand(method: 'sft', cfg: VlmSftConfig): Promise<number>;
export async function vlmTrainCommand(method: 'prealign', cfg: PrealignConfig): Promise<number>;
export async function vlmTrainCommand(method: 'sft' | 'prealign', cfg: VlmSftConfig | PrealignConfig): Promise<number> {
  const name = method === 'sft' ? 'sft' : 'vlm prealign';
  if (!isGlm4vFolder(cfg.model)) throw new UsageError(`${name} --model: expected a GLM-4.1V folder (config.json with "model_type": "glm4v"), got ${cfg.model}; make one with glmkit init --preset tiny-vl`);
  const tok = loadTokenizer(cfg.model);
  const model = loadGlm4vModel(cfg.model);
  const pre = readImageProcessorConfig(cfg.model, model.config.vision);
  const proc = imageProcessor(pre);
  const load = (files: DataFiles) => loadImageSftExamples(files, tok, cfg.max_seq_length, proc);
  const { examples, dropped } = await load(cfg.data);
  const evalEx = cfg.eval_data ? (await load(cfg.eval_data)).examples : null;
  const images = examples.reduce((n, e) => n + e.images.length, 0);
  if (!cfg.quiet) console.error(`${name}: ${examples.length} examples with ${images} images from ${dataFilesLabel(cfg.data)}${dropped ? `, ${dropped} dropped as longer than ${cfg.max_seq_length} tokens` : ''}`);
  const trainer = method === 'sft' ? new VlmSftTrainer(cfg as VlmSftConfig, model, tok, pre, examples, evalEx) : new PrealignTrainer(cfg as PrealignConfig, model, tok, pre, examples, evalEx);
  const r = await trainer.train();
  console.log(JSON.stringify({ steps: r.steps, tokens: r.tokens, loss: r.finalLoss, final: join(r.out, 'final') }));
  return 0;
}

/** Runs `glmkit vlm SUB ...`. */
export async function vlmCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help') {
    console.log('usage: glmkit vlm prealign --model DIR --data FILE.jsonl --out DIR [options]\n\nRun `glmkit vlm prealign --help` for its options; image SFT is `glmkit sft` on a glm4v folder.');
    return 0;
  }
  if (sub !== 'prealign') throw new UsageError(`vlm: expected the subcommand ${SUBCOMMANDS.join(' or ')}, got ${sub === undefined ? 'nothing' : `'${sub}'`}; see glmkit vlm --help`);
  const cfg = resolveCommandConfig('vlm prealign', prealignSchema, rest, 'glmkit vlm prealign --model DIR --data FILE.jsonl --out DIR [options]', {
    description: 'Merger pre-alignment of a GLM-4.1V folder: the vision tower and merger learn from captioning chats (e.g. glmkit data vision --task caption) while the language model stays frozen.',
  });
  if (!cfg) return 0;
  return vlmTrainCommand('prealign', cfg);
}
