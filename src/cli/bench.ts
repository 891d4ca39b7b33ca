/**
 * `glmkit bench <what>`: benchmarks that print figures (JSON lines with --json). Speed targets
 * live here, never as timed assertions in tests.
 */
import { UsageError } from '../errors.js';
import { choice, commandHelp, field, parseCommand } from './args.js';
import { BENCHMARKS, BENCHMARK_NAMES, type BenchmarkName } from './bench-list.js';
import { MIXED_PRECISION } from '../tensor/ops/precision.js';

const names = BENCHMARK_NAMES;

const spec = {
  name: 'bench',
  usage: `glmkit bench <${names.join('|')}> [options]`,
  description: names.map((n) => `  ${n.padEnd(10)} ${BENCHMARKS[n]}`).join('\n'),
  notes: 'The options above are those of kernels, train, embed and tokenizer; generate, serve and rollout have their own (bench generate --help, bench serve --help, bench rollout --help).',
  schema: {
    threads: field<number | null>('int', null, 'native thread count (default: GLMKIT_THREADS or all cores)', { nullable: true, min: 1 }),
    json: field('boolean', false, 'one JSON object per line'),
    quick: field('boolean', false, 'fewer repetitions (a smoke run)'),
    preset: field<string | null>('string', null, 'train, embed: the GLM preset to time', { nullable: true }),
    seq_len: field<number | null>('int', null, 'train: tokens per sequence (default 256)', { nullable: true, min: 2 }),
    batch: field<number | null>('int', null, 'train: sequences per step (default 8; 1 with --seq-lens)', { nullable: true, min: 1 }),
    data_parallel: field('int', 1, 'train: split each step\'s batch over N threads, one model replica each (1 = one replica on the native pool)', { min: 1 }),
    steps: field<number | null>('int', null, 'train: timed steps (default 10, 2 with --quick)', { nullable: true, min: 1 }),
    buffer_pool: field('boolean', true, 'train: recycle tensor buffers between steps (--no-buffer-pool: fresh buffers every step, as before; the garbage collector\'s cost)'),
    mixed_precision: choice(MIXED_PRECISION, 'no', 'train: bf16 compute in the forward and backward matrix products (float32 weights, gradients and sums), as the trainers\' --mixed-precision'),
    seq_lens: field<string | null>('string', null, 'train: time each of these lengths (e.g. 512,1024,2048,4096) in its own process and report tokens/s and peak RSS per length', { nullable: true }),
  },
};

export async function benchCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === '--help' || what === '-h') {
    console.log(commandHelp(spec));
    return 0;
  }
  if (what === undefined || !(names as readonly string[]).includes(what)) {
    throw new UsageError(`bench: expected a benchmark ${names.join(', ')}, got ${what === undefined ? 'nothing' : `'${what}'`}; see glmkit bench --help`);
  }
  if (what === 'serve') return (await import('../bench/serve.js')).benchServeCommand(rest);
  if (what === 'rollout') return (await import('../bench/rollout.js')).benchRolloutCommand(rest);
  if (what === 'generate') return (await import('../bench/generate.js')).benchGenerateCommand(rest);
  const parsed = parseCommand({ ...spec, name: `bench ${what}`, usage: `glmkit bench ${what} [options]`, description: BENCHMARKS[what as BenchmarkName] }, rest);
  if (!parsed) return 0;
  const values = parsed.values;
  const opts = { threads: values.threads ?? undefined, json: values.json, quick: values.quick };
  const print = (line: string) => console.log(line);
  switch (what) {
    case 'kernels':
      await (await import('../bench/kernels.js')).benchKernels(opts, print);
      return 0;
    case 'train': {
      const bt = await import('../bench/train.js');
      const trainOpts = { ...opts, preset: values.preset ?? undefined, batch: values.batch ?? undefined, steps: values.steps ?? undefined, dataParallel: values.data_parallel, bf16Compute: values.mixed_precision === 'bf16', bufferPool: values.buffer_pool };
      if (values.seq_lens !== null) {
        bt.benchTrainSeqLens({ ...trainOpts, preset: values.preset ?? 'tiny', seqLens: bt.parseSeqLens(values.seq_lens) }, print);
        return 0;
      }
      await bt.benchTrain({ ...trainOpts, seqLen: values.seq_len ?? undefined }, print);
      return 0;
    }
    case 'embed':
      await (await import('../bench/embed.js')).benchEmbed({ ...opts, preset: values.preset ?? undefined }, print);
      return 0;
    default:
      await (await import('../bench/tokenizer.js')).benchTokenizer(opts, print);
      return 0;
  }
}
