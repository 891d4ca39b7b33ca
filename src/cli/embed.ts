/**
 * `glmkit embed train --model DIR --data triples.jsonl --out DIR`: trains a sentence encoder from a
 * causal LM with InfoNCE (trainers/embed/embed-trainer.ts); OUT/final is an encoder folder in
 * sentence-transformers' layout.
 * `glmkit embed --model ENCODER --text T | --file F.jsonl [--dimensions D]`: prints one JSON line per
 * text, {"index", "embedding"}; F.jsonl holds {"text": ...} or {"ids": [token ids]} per line (as
 * /v1/embeddings takes strings or token arrays); --dimensions keeps the first D entries, re-normalised.
 */
import { join } from 'node:path';
import { DataError, UsageError } from '../errors.js';
import { readJsonl, stringField } from '../data/jsonl.js';
import { loadCausalLM } from '../models/glm/checkpoint.js';
import { loadTokenizer } from '../tokenizer/tokenizer-json.js';
import { loadStsPairs, loadTriples } from '../embed/data.js';
import { loadEncoder } from '../embed/st-layout.js';
import { truncateDims } from '../server/embeddings.js';
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
    file: field<string | null>('path', null, 'JSONL with {"text": ...} or {"ids": [token ids]} per line', { nullable: true, placeholder: 'file' }),
    batch_size: field('int', 32, 'texts per forward pass', { min: 1 }),
    dimensions: field<number | null>('int', null, 'keep the first D entries of each vector, re-normalised to unit length (at most the model\'s)', { nullable: true, min: 1, placeholder: 'D' }),
  },
};

/**
 * The inputs of a JSONL file: {"text"} (a non-empty string) or {"ids"} (token ids inside the
 * vocabulary [0, V)) per line; file, line and field named on error.
 */
function readInputs(file: string, V: number): (string | number[])[] {
  return readJsonl(file).map((rec) => {
    const where = { file, line: rec.line };
    if (rec.value.ids !== undefined) {
      const ids = rec.value.ids;
      if (!Array.isArray(ids) || ids.length === 0) throw new DataError('expected a non-empty array of token ids', { ...where, field: 'ids' });
      ids.forEach((t, j) => {
        if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= V) throw new DataError(`entry ${j} is ${JSON.stringify(t)}, not a token id of the encoder's vocabulary [0, ${V})`, { ...where, field: 'ids' });
      });
      return ids as number[];
    }
    const t = stringField(rec, file, 'text');
    if (t.trim() === '') throw new DataError('expected a non-empty text', { ...where, field: 'text' });
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
  const enc = loadEncoder(v.model);
  if (v.dimensions !== null && v.dimensions > enc.dimension) throw new UsageError(`embed: --dimensions is ${v.dimensions}, larger than this encoder's ${enc.dimension}; ask for at most ${enc.dimension}`);
  const inputs = v.text !== null ? [v.text] : readInputs(v.file!, enc.lm.config.vocabSize);
  let vecs = enc.embedIds(inputs.map((x) => (typeof x === 'string' ? enc.tokenize(x) : x)), v.batch_size);
  if (v.dimensions !== null) vecs = vecs.map((e) => truncateDims(e, v.dimensions!));
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
