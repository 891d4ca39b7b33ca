/**
 * `glmkit experiment list` and `glmkit experiment run NAME --out DIR [--base PIPELINE_DIR]
 * [--seeds 1,2,3] [--quick] [--threads N] [--jobs N]`: each paper's claim as one command (src/experiment/).
 */
import { UsageError } from '../errors.js';
import { EXPERIMENTS, findExperiment } from '../experiment/registry.js';
import { runExperiment, runExperimentWorker } from '../experiment/runner.js';
import { workerSlot } from '../experiment/parallel-arms.js';
import { useThreads } from '../generation/parallel-generate.js';
import { commandHelp, field, parseCommand } from './args.js';

const spec = {
  name: 'experiment run',
  usage: 'glmkit experiment run NAME --out DIR [--base PIPELINE_DIR] [--seeds 0,1,2] [--quick] [--threads N] [--jobs N] [--quiet]',
  description:
    "Runs a paper's claim at small scale and writes DIR/result.json (arms, comparisons with 95% CIs, the\nverdict), DIR/report.md, DIR/*.svg and DIR/<arm>/scores.jsonl. A rerun skips finished arms; a rerun\nwith other settings is refused. `glmkit experiment list` lists the experiments.",
  positionals: { min: 1, max: 1, name: 'an experiment name (glmkit experiment list)' },
  schema: {
    out: field('path', '', 'output folder', { required: true, placeholder: 'dir' }),
    base: field<string | null>('path', null, 'a finished `glmkit pipeline` output to build on (its data, SFT model, reward model); without it the base recipe runs under DIR/base', { nullable: true, placeholder: 'dir' }),
    seeds: field<string | null>('string', null, "training seeds, comma separated (default: the experiment's, see list)", { nullable: true, placeholder: 'list' }),
    quick: field('boolean', false, 'a smoke run: seconds per arm; checks the plumbing and the statistics, not the claim'),
    threads: field('int', 0, 'native threads (0 = all cores)', { min: 0 }),
    jobs: field('int', 0, "run the arms in N worker processes of 1 native thread each (0 = the experiment's default, see list; only experiments whose arms are independent)", { min: 0 }),
    quiet: field('boolean', false, 'no progress on stderr'),
  },
};

export async function experimentCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    console.log(commandHelp(spec));
    return 0;
  }
  if (sub === undefined) throw new UsageError('experiment: expected a subcommand list or run, got nothing; see glmkit experiment --help');
  if (sub === 'list') {
    const w = Math.max(...EXPERIMENTS.map((e) => e.name.length));
    for (const e of EXPERIMENTS) {
      const jobs = e.defaultJobs?.(false) ?? 1;
      console.log(`${e.name.padEnd(w)}  ${e.paper}\n${' '.repeat(w)}  claim: ${e.claim}\n${' '.repeat(w)}  ~${e.minutes.alone} min on 2 cores (${e.minutes.withBase} with --base)${jobs > 1 ? `, arms in ${jobs} worker processes` : ''}`);
    }
    return 0;
  }
  if (sub !== 'run') throw new UsageError(`experiment: unknown subcommand '${sub}'; expected list or run (glmkit experiment --help)`);
  const parsed = parseCommand(spec, rest);
  if (!parsed) return 0;
  const v = parsed.values;
  const values = { ...v, base: v.base ?? undefined, seeds: v.seeds ?? undefined };
  const exp = findExperiment(parsed.positionals[0]);
  const seeds = values.seeds === undefined ? null : values.seeds.split(',').map((s) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`experiment run: --seeds must be a comma list of integers >= 0, got '${values.seeds}'`);
    return n;
  });
  if (v.threads > 0) useThreads(v.threads);
  const command = ['glmkit experiment run', exp.name, '--out', values.out, ...(values.base ? ['--base', values.base] : []), ...(values.seeds ? ['--seeds', values.seeds] : []), ...(values.quick ? ['--quick'] : [])].join(' ');
  const opts = { out: values.out, base: values.base ?? null, seeds, quick: values.quick ?? false, quiet: values.quiet ?? false, command, jobs: v.jobs > 0 ? v.jobs : null };
  if (workerSlot()) {
    await runExperimentWorker(exp, opts); // one of a --jobs run's workers (src/experiment/parallel-arms.ts)
    return 0;
  }
  const r = await runExperiment(exp, opts);
  console.log(JSON.stringify({ experiment: r.experiment, verdict: r.verdict, comparisons: r.comparisons.map((c) => ({ metric: c.metric, a: c.a, b: c.b, diff: c.diff, ci95: c.ci95 })), result: `${values.out}/result.json` }));
  return 0;
}
