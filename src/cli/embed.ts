/**
 * `glmkit embed train --model DIR --data triples.jsonl --out DIR`: trains a sentence encoder from a
 * causal LM with InfoNCE (trainers/embed/embed-trainer.ts); OUT/final is an encoder folder in
 * sentence-transformers' layout.
 * `glmkit embed --model ENCODER --text T | --file F.jsonl`: prints one JSON line per text,
 * {"index", "embedding"}; F.jsonl holds {"text": ...} per line.
 */
import { join } from 'node:path';
import { DataError, UsageError } from '../errors.js';
import { readJsonl, stringField } from '../data/jsonl.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { loadStsPairs, loadTriples } from '../embed/data.js';
import { loadEncoder } from '../embed/st-layout.js';
import { EmbedTrainer, embedSchema } from '../trainers/embed/embed-trainer.js';
import { dataFilesLabel } from '../data/jsonl.js';
import { field, parseCommand } from './args.js';
import { inputFile, modelDir } from './paths.js';
import { resolveCommandConfig } from './train.js';

const encodeSpec = {
  name: 'embed',
  usage: 'glmkit embed --model ENCODER_DIR (--text T | --file F.jsonl)   |   glmkit embed train --model DIR --data FILE.jsonl --out DIR [options]',
  description: 'Prints the sentence vectors of texts, one JSON line {"index", "embedding"} per text.\n`glmkit embed train --help` shows the training options.',
  schema: {
    model: field('path', '', 'an encoder folder (made by glmkit embed train: HF model files + modules.json + 1_Pooling/)', { required: true, placeholder: 'dir' }),
    text: field<string | null>('string', null, 'one text to embed', { nullable: true, placeholder: 'text' }),
    file: field<string | null>('path', null, 'JSONL with {"text": ...} per line', { nullable: true, placeholder: 'file' }),
    batch_size: field('int', 32, 'texts per forward pass', { min: 1 }),
  },
};

/** The texts of a {"text"} JSONL file (every line must have a non-empty text). */
function readTexts(file: string): string[] {
  return readJsonl(file).map((rec) => {
    const t = stringField(rec, file, 'text');
    if (t.trim() === '') throw new DataError('expected a non-empty text', { file, line: rec.line, field: 'text' });
    return t;
  });
}

async function encode(argv: string[]): Promise<number> {
  const parsed = parseCommand(encodeSpec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  if ((v.text === null) === (v.file === null)) throw new UsageError('embed: give exactly one of --text T or --file F.jsonl; see glmkit embed --help');
  if (v.text !== null && v.text.trim() === '') throw new UsageError('embed: --text is empty; an empty text has no embedding');
  modelDir('embed', '--model', v.model, true);
  if (v.file !== null) inputFile('embed', '--file', v.file, 'a JSONL file');
  const texts = v.text !== null ? [v.text] : readTexts(v.file!);
  const enc = loadEncoder(v.model);
  const vecs = enc.embed(texts, v.batch_size);
  let out = '';
  vecs.forEach((e, i) => (out += JSON.stringify({ index: i, embedding: Array.from(e) }) + '\n'));
  process.stdout.write(out);
  return 0;
}

async function train(argv: string[]): Promise<number> {
  const cfg = resolveCommandConfig('embed train', embedSchema, argv);
  if (!cfg) return 0;
  const tok = loadTokenizer(cfg.model);
  const lm = loadCausalLM(cfg.model);
  const triples = loadTriples(cfg.data);
  const sts = cfg.eval_data ? loadStsPairs(cfg.eval_data) : null;
  const withNeg = triples.filter((t) => t.negative !== null).length;
  if (!cfg.quiet) console.error(`embed train: ${triples.length} triples (${withNeg} with a hard negative) from ${dataFilesLabel(cfg.data)}`);
  const trainer = new EmbedTrainer(cfg, lm, tok, triples, sts);
  const r = await trainer.train();
  const last = r.metrics.at(-1) ?? {};
  const evalM = Object.fromEntries(Object.entries(last).filter(([k]) => k.startsWith('eval_')));
  console.log(JSON.stringify({ steps: r.steps, loss: r.finalLoss, final: join(r.out, 'final'), eval: evalM }));
  return 0;
}

export async function embedCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'train') return train(argv.slice(1));
  return encode(argv);
}
