/**
 * `glmkit tokenizer train | encode | decode`
 *   train  --data F [--data F ...] --vocab-size N --out DIR [--min-frequency K]
 *          trains byte-level BPE on text / JSONL files, writes tokenizer.json + tokenizer_config.json
 *   encode --model DIR (--text T | --file F) [--allow-special]   prints {"ids": [...]}
 *   decode --model DIR --ids 1,2,3 [--skip-special]              prints {"text": "..."}
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataError, UsageError } from '../errors.js';
import { WordCounter, trainBpe } from '../tokenizer/bpe-train.js';
import { readCorpusFile } from '../tokenizer/corpus.js';
import { loadTokenizer, saveTokenizer } from '../tokenizer/tokenizer-json.js';
import { commandHelp, field, parseCommand, type CommandSpec } from './args.js';
import { inputDir, inputFile, outputDir } from './paths.js';

const trainSpec = {
  name: 'tokenizer train',
  usage: 'glmkit tokenizer train --data FILE [--data FILE ...] --vocab-size N --out DIR [options]',
  description:
    'Train a byte-level BPE tokenizer (GLM-4 pre-tokenizer, GLM special tokens) on text files and JSONL files\n(.jsonl: the "text" field, else every string value of a record). Writes tokenizer.json + tokenizer_config.json.',
  positionals: { min: 0, max: Infinity, name: 'more data files' },
  schema: {
    data: field<string | string[]>('path', [], 'text or JSONL training file', { required: true, multiple: true, placeholder: 'file' }),
    vocab_size: field('int', 0, 'vocabulary size, counting the 256 byte tokens, the merges and the special tokens', { required: true, min: 1 }),
    out: field('path', '', 'output folder (a model folder is refused unless --overwrite: its weights are sized for its own tokenizer)', { required: true, placeholder: 'dir' }),
    min_frequency: field('int', 2, 'merge only pairs seen at least this often', { min: 1 }),
    overwrite: field('boolean', false, 'replace a tokenizer (or a model\'s tokenizer) already in --out'),
  },
};

const encodeSpec = {
  name: 'tokenizer encode',
  usage: 'glmkit tokenizer encode --model DIR (--text T | --file F) [--allow-special]',
  description: 'Print {"ids": [...]}. Special-token strings in the text are matched only with --allow-special.',
  schema: {
    model: field('path', '', 'a folder with tokenizer.json', { required: true, placeholder: 'dir' }),
    text: field<string | null>('string', null, 'the text to encode', { nullable: true }),
    file: field<string | null>('path', null, 'a file whose text to encode', { nullable: true }),
    allow_special: field('boolean', false, 'match special-token strings in the text'),
  },
};

const decodeSpec = {
  name: 'tokenizer decode',
  usage: 'glmkit tokenizer decode --model DIR --ids 1,2,3 [--skip-special]',
  description: 'Print {"text": "..."}.',
  schema: {
    model: field('path', '', 'a folder with tokenizer.json', { required: true, placeholder: 'dir' }),
    ids: field('string', '', 'token ids: 1,2,3 or a JSON array', { required: true, placeholder: 'ids' }),
    skip_special: field('boolean', false, 'leave special tokens out of the text'),
  },
};

export const TOKENIZER_HELP = [
  'usage: glmkit tokenizer <train|encode|decode> [options]',
  ...[trainSpec, encodeSpec, decodeSpec].map((s) => '\n' + commandHelp(s as CommandSpec<never>)),
].join('\n');

type Print = (line: string) => void;

/** Runs `glmkit tokenizer ...`; returns the exit code. */
export async function tokenizerCommand(argv: string[], print: Print = (l) => console.log(l)): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    print(TOKENIZER_HELP);
    return 0;
  }
  switch (sub) {
    case 'train':
      return train(rest, print);
    case 'encode':
      return encode(rest, print);
    case 'decode':
      return decode(rest, print);
    default:
      throw new UsageError(`tokenizer: expected a subcommand train, encode or decode, got ${sub === undefined ? 'nothing' : `'${sub}'`}; see glmkit tokenizer --help`);
  }
}

async function train(argv: string[], print: Print): Promise<number> {
  const parsed = parseCommand(trainSpec, argv, print);
  if (!parsed) return 0;
  const v = parsed.values;
  const files = [...(Array.isArray(v.data) ? v.data : [v.data]), ...parsed.positionals];
  for (const f of files) inputFile('tokenizer train', '--data', f, 'a text or JSONL file');
  const out = v.out;
  const holds = ['config.json', 'model.safetensors', 'tokenizer.json'].filter((f) => existsSync(join(out, f)));
  if (holds.length && !v.overwrite) {
    throw new UsageError(
      `tokenizer train: --out ${out} already holds ${holds.join(', ')}${holds.includes('config.json') ? ' (a model: its embeddings are sized for its own tokenizer)' : ''}; pass --overwrite to replace the tokenizer, or choose a new folder`,
    );
  }
  outputDir('tokenizer train', '--out', out, true, 'a folder for tokenizer.json');
  const vocabSize = v.vocab_size;
  const t0 = performance.now();
  const counter = new WordCounter();
  let bytes = 0;
  for (const f of files) bytes += await readCorpusFile(f, (text) => counter.add(text));
  if (counter.counts.size === 0) throw new DataError(`no text to train on (${bytes} bytes read${files.length > 1 ? ` from ${files.length} files` : ''}); expected text or JSONL with string fields`, { file: files.join(', ') });
  const t1 = performance.now();
  let tok;
  try {
    tok = trainBpe(counter, { vocabSize, minFrequency: v.min_frequency });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`tokenizer train: --vocab-size: ${e.message}`);
    throw e;
  }
  const t2 = performance.now();
  if (tok.spec.merges.length === 0 && vocabSize > tok.vocabSize) {
    throw new DataError(`no pair of symbols occurs ${v.min_frequency} times or more, so BPE learned 0 merges; give more text or a lower --min-frequency`, { file: files.join(', ') });
  }
  if (tok.vocabSize < vocabSize) {
    console.error(`glmkit: warning: tokenizer train: --vocab-size ${vocabSize} asked, but the data gives only ${tok.spec.merges.length} merges at --min-frequency ${v.min_frequency}; wrote a vocabulary of ${tok.vocabSize}`);
  }
  saveTokenizer(tok, out);
  print(
    JSON.stringify({
      out,
      vocab_size: tok.vocabSize,
      requested_vocab_size: vocabSize,
      merges: tok.spec.merges.length,
      unique_words: counter.counts.size,
      bytes,
      count_seconds: +((t1 - t0) / 1000).toFixed(3),
      merge_seconds: +((t2 - t1) / 1000).toFixed(3),
    }),
  );
  return 0;
}

async function encode(argv: string[], print: Print): Promise<number> {
  const parsed = parseCommand(encodeSpec, argv, print);
  if (!parsed) return 0;
  const v = parsed.values;
  if ((v.text === null) === (v.file === null)) throw new UsageError('tokenizer encode: expected exactly one of --text T or --file F; see glmkit tokenizer encode --help');
  inputDir('tokenizer encode', '--model', v.model, 'a folder with tokenizer.json', ['tokenizer.json']);
  let text = v.text;
  if (text === null) {
    inputFile('tokenizer encode', '--file', v.file!);
    try {
      text = readFileSync(v.file!, 'utf8');
    } catch (e) {
      throw new DataError(`cannot read (${(e as Error).message})`, { file: v.file! });
    }
  }
  const tok = loadTokenizer(v.model);
  print(JSON.stringify({ ids: tok.encode(text, { allowSpecial: v.allow_special }) }));
  return 0;
}

async function decode(argv: string[], print: Print): Promise<number> {
  const parsed = parseCommand(decodeSpec, argv, print);
  if (!parsed) return 0;
  const v = parsed.values;
  const ids = v.ids
    .replace(/^\s*\[|\]\s*$/g, '')
    .split(',')
    .filter((s) => s.trim().length > 0)
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`tokenizer decode: --ids must be non-negative integers, got '${s.trim()}'`);
      return n;
    });
  inputDir('tokenizer decode', '--model', v.model, 'a folder with tokenizer.json', ['tokenizer.json']);
  const tok = loadTokenizer(v.model);
  print(JSON.stringify({ text: tok.decode(ids, { skipSpecial: v.skip_special }) }));
  return 0;
}
