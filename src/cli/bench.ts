/**
 * `glmkit bench <what>`: benchmarks that print figures (JSON lines with --json). Speed targets
 * live here, never as timed assertions in tests.
 */
import { UsageError } from '../errors.js';
import { intFlag, parseFlags } from './args.js';

const HELP = `usage: glmkit bench <kernels|train|tokenizer|generate|serve> [--threads N] [--json] [--quick] [--preset P]

  kernels    GEMM GFLOPS for the reference shapes and fused attention forward/backward tokens/s
  train      training tokens/s of a GLM preset (default bench: batch 8, sequence 256, AdamW, fp32)
  tokenizer  BPE training and encoding speed, against @huggingface/tokenizers when installed
  generate   decode tokens/s at batch 1 and 8 (tiny, small), against llama.cpp on the GGUF export
  serve      loopback load test of glmkit serve (concurrent streaming clients; see bench serve --help)

  --threads N  native thread count (default: GLMKIT_THREADS or all cores)
  --json       one JSON object per line
  --quick      fewer repetitions (a smoke run)`;

export async function benchCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (!what || what === '--help' || what === '-h') {
    console.log(HELP);
    return what ? 0 : 2;
  }
  if (what === 'serve') return (await import('../bench/serve.js')).benchServeCommand(rest);
  if (what === 'generate') return (await import('../bench/generate.js')).benchGenerateCommand(rest);
  const { values } = parseFlags(`bench ${what}`, rest, {
    threads: { type: 'string' },
    json: { type: 'boolean' },
    quick: { type: 'boolean' },
    preset: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const opts = { threads: values.threads === undefined ? undefined : intFlag('bench', 'threads', values.threads, 1, 1), json: values.json ?? false, quick: values.quick ?? false };
  const print = (line: string) => console.log(line);
  switch (what) {
    case 'kernels':
      await (await import('../bench/kernels.js')).benchKernels(opts, print);
      return 0;
    case 'train':
      await (await import('../bench/train.js')).benchTrain({ ...opts, preset: values.preset }, print);
      return 0;
    case 'tokenizer':
      await (await import('../bench/tokenizer.js')).benchTokenizer(opts, print);
      return 0;
    default:
      throw new UsageError(`bench: unknown benchmark '${what}' (expected kernels, train or tokenizer)`);
  }
}
