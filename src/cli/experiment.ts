/**
 * `glmkit experiment list` and `glmkit experiment run NAME --out DIR [--base PIPELINE_DIR]
 * [--seeds 1,2,3] [--quick] [--threads N]`: each paper's claim as one command (src/experiment/).
 */
import { UsageError } from '../errors.js';
import { EXPERIMENTS, findExperiment } from '../experiment/registry.js';
import { runExperiment } from '../experiment/runner.js';
import { setNativeThreads } from '../tensor/backend/native.js';
import { intFlag, parseFlags } from './args.js';

const HELP = `usage: glmkit experiment list
       glmkit experiment run NAME --out DIR [--base PIPELINE_DIR] [--seeds 0,1,2] [--quick] [--threads N] [--quiet]

Runs a paper's claim at small scale and writes DIR/result.json (arms, comparisons with 95% CIs, the
verdict), DIR/report.md, DIR/*.svg and DIR/<arm>/scores.jsonl. A rerun skips finished arms; a rerun
with other settings is refused.

  --out DIR            output folder (required)
  --base DIR           a finished \`glmkit pipeline\` output to build on (its data, SFT model, reward model);
                       without it the base recipe runs under DIR/base
  --seeds LIST         training seeds, comma separated (default: the experiment's, see list)
  --quick              a smoke run: seconds per arm; checks the plumbing and the statistics, not the claim
  --threads N          native threads (default: all cores)
  --quiet              no progress on stderr
  -h, --help           this help`;

export async function experimentCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'list') {
    const w = Math.max(...EXPERIMENTS.map((e) => e.name.length));
    for (const e of EXPERIMENTS) console.log(`${e.name.padEnd(w)}  ${e.paper}\n${' '.repeat(w)}  claim: ${e.claim}\n${' '.repeat(w)}  ~${e.minutes.alone} min on 2 cores (${e.minutes.withBase} with --base)`);
    return 0;
  }
  if (sub !== 'run') throw new UsageError(`experiment: unknown subcommand '${sub}'; expected list or run (glmkit experiment --help)`);
  const { values, positionals } = parseFlags('experiment run', rest, { out: { type: 'string' }, base: { type: 'string' }, seeds: { type: 'string' }, quick: { type: 'boolean' }, threads: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`experiment run: expected one experiment name (glmkit experiment list), got ${positionals.length ? positionals.join(' ') : 'none'}`);
  const exp = findExperiment(positionals[0]);
  if (!values.out) throw new UsageError('experiment run: --out DIR is required');
  const seeds = values.seeds === undefined ? null : values.seeds.split(',').map((s) => intFlag('experiment run', 'seeds', s.trim(), 0, 0));
  const threads = intFlag('experiment run', 'threads', values.threads, 0, 0);
  if (threads > 0) setNativeThreads(threads);
  const command = ['glmkit experiment run', exp.name, '--out', values.out, ...(values.base ? ['--base', values.base] : []), ...(values.seeds ? ['--seeds', values.seeds] : []), ...(values.quick ? ['--quick'] : [])].join(' ');
  const r = await runExperiment(exp, { out: values.out, base: values.base ?? null, seeds, quick: values.quick ?? false, quiet: values.quiet ?? false, command });
  console.log(JSON.stringify({ experiment: r.experiment, verdict: r.verdict, comparisons: r.comparisons.map((c) => ({ metric: c.metric, a: c.a, b: c.b, diff: c.diff, ci95: c.ci95 })), result: `${values.out}/result.json` }));
  return 0;
}
