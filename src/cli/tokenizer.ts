/**
 * `glmkit tokenizer train | encode | decode`
 *   train  --data F [--data F ...] --vocab-size N --out DIR [--min-frequency K]
 *          trains byte-level BPE on text / JSONL files, writes tokenizer.json + tokenizer_config.json
 *   encode --model DIR (--text T | --file F) [--allow-special]   prints {"ids": [...]}
 *   decode --model DIR --ids 1,2,3 [--skip-special]              prints {"text": "..."}
 */
import { readFileSync } from 'node:fs';
import { DataError, UsageError } from '../errors.js';
import { WordCounter, trainBpe } from '../tokenizer/bpe-train.js';
import { readCorpusFile } from '../tokenizer/corpus.js';
import { loadTokenizer, saveTokenizer } from '../tokenizer/tokenizer-json.js';
import { intFlag, parseFlags } from './args.js';

export const TOKENIZER_HELP = `usage: glmkit tokenizer <train|encode|decode> [options]

  train   --data FILE [--data FILE ...] --vocab-size N --out DIR [--min-frequency K]
          Train a byte-level BPE tokenizer (GLM-4 pre-tokenizer, GLM special tokens) on text files
          and JSONL files (.jsonl: the "text" field, else every string value of a record).
          N counts the 256 byte tokens, the merges and the special tokens.
  encode  --model DIR (--text T | --file F) [--allow-special]
          Print {"ids": [...]}. Special-token strings in the text are matched only with --allow-special.
  decode  --model DIR --ids 1,2,3 [--skip-special]
          Print {"text": "..."}.`;

type Print = (line: string) => void;

/** Runs `glmkit tokenizer ...`; returns the exit code. */
export async function tokenizerCommand(argv: string[], print: Print = (l) => console.log(l)): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    print(TOKENIZER_HELP);
    return sub ? 0 : 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
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
      throw new UsageError(`tokenizer: unknown subcommand '${sub}' (expected train, encode or decode)`);
  }
}

async function train(argv: string[], print: Print): Promise<number> {
  const { values, positionals } = parseFlags(
    'tokenizer train',
    argv,
    { data: { type: 'string', multiple: true }, 'vocab-size': { type: 'string' }, out: { type: 'string' }, 'min-frequency': { type: 'string' } },
    true,
  );
  const files = [...(values.data ?? []), ...positionals];
  if (files.length === 0) throw new UsageError('tokenizer train: expected --data FILE (text or .jsonl), got none');
  if (values['vocab-size'] === undefined) throw new UsageError('tokenizer train: expected --vocab-size N');
  if (!values.out) throw new UsageError('tokenizer train: expected --out DIR');
  const vocabSize = intFlag('tokenizer train', 'vocab-size', values['vocab-size'], 0, 1);
  const minFrequency = intFlag('tokenizer train', 'min-frequency', values['min-frequency'], 2, 1);
  const t0 = performance.now();
  const counter = new WordCounter();
  let bytes = 0;
  for (const f of files) bytes += await readCorpusFile(f, (text) => counter.add(text));
  const t1 = performance.now();
  const tok = trainBpe(counter, { vocabSize, minFrequency });
  const t2 = performance.now();
  saveTokenizer(tok, values.out);
  print(
    JSON.stringify({
      out: values.out,
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
  const { values } = parseFlags('tokenizer encode', argv, {
    model: { type: 'string' },
    text: { type: 'string' },
    file: { type: 'string' },
    'allow-special': { type: 'boolean' },
  });
  if (!values.model) throw new UsageError('tokenizer encode: expected --model DIR (a folder with tokenizer.json)');
  if ((values.text === undefined) === (values.file === undefined)) throw new UsageError('tokenizer encode: expected exactly one of --text T or --file F');
  let text = values.text;
  if (text === undefined) {
    try {
      text = readFileSync(values.file!, 'utf8');
    } catch (e) {
      throw new DataError(`cannot read (${(e as Error).message})`, { file: values.file });
    }
  }
  const tok = loadTokenizer(values.model);
  print(JSON.stringify({ ids: tok.encode(text, { allowSpecial: values['allow-special'] ?? false }) }));
  return 0;
}

async function decode(argv: string[], print: Print): Promise<number> {
  const { values } = parseFlags('tokenizer decode', argv, { model: { type: 'string' }, ids: { type: 'string' }, 'skip-special': { type: 'boolean' } });
  if (!values.model) throw new UsageError('tokenizer decode: expected --model DIR (a folder with tokenizer.json)');
  if (values.ids === undefined) throw new UsageError('tokenizer decode: expected --ids 1,2,3 (or a JSON array)');
  const ids = values.ids
    .replace(/^\s*\[|\]\s*$/g, '')
    .split(',')
    .filter((s) => s.trim().length > 0)
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`tokenizer decode: --ids must be non-negative integers, got '${s.trim()}'`);
      return n;
    });
  const tok = loadTokenizer(values.model);
  print(JSON.stringify({ text: tok.decode(ids, { skipSpecial: values['skip-special'] ?? false }) }));
  return 0;
}
