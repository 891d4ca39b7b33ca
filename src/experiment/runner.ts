/**
 * `glmkit experiment run NAME --out DIR`: resolves the settings, refuses a DIR made with other
 * settings, runs the arms resumably, and writes DIR/result.json, DIR/report.md and DIR/*.svg.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataError } from '../errors.js';
import { readJsonl } from '../data/jsonl.js';
import { runPipeline } from '../pipeline/pipeline.js';
import { runAlignmentStages } from '../pipeline/alignment-stage.js';
import { pipelineSchema } from '../pipeline/recipe.js';
import { resolveConfig } from '../trainers/base/config.js';
import { configDiff, configHash } from '../util/config-hash.js';
import { combineVerdicts, type Verdict } from './stats.js';
import type { ArmResult, BaseArtifacts, Experiment, ExperimentContext, ExperimentOutcome, ScoreRow } from './types.js';
import { renderReport } from './report-md.js';
import { buildVisionBase, visionPipelineArtifacts } from './vision-base.js';
import { claimArm, clearClaims, runWorkers, WORKER_ENV } from './parallel-arms.js';
import { currentCli } from '../server/spawn-serve.js';
import { writeTextAtomic } from '../io/atomic.js';

export interface RunOptions {
  out: string;
  /** a finished `glmkit pipeline` output to build on */
  base?: string | null;
  /** training seeds; null = the experiment's default */
  seeds: number[] | null;
  quick: boolean;
  quiet: boolean;
  /** the command line that reproduces the run (written into report.md) */
  command: string;
  /** worker processes for the arms (src/experiment/parallel-arms.ts); null/undefined = the experiment's default */
  jobs?: number | null;
  /** [executable, ...arguments before the glmkit command] that starts a worker; default: this process's CLI */
  cli?: readonly string[];
}

export interface ExperimentResult {
  experiment: string;
  paper: string;
  claim: string;
  settings: Record<string, unknown>;
  arms: Record<string, Record<string, unknown>>;
  comparisons: ExperimentOutcome['comparisons'];
  verdict: Verdict;
  seconds: number;
  command: string;
  notes: string[];
}

/** The base artifacts of a pipeline output folder, checked to exist. */
export function pipelineArtifacts(dir: string, needs: Experiment['needs']): BaseArtifacts {
  if (needs === 'vision-sft') return visionPipelineArtifacts(dir);
  const a: BaseArtifacts = { dir, dataDir: join(dir, 'data'), initDir: join(dir, 'init'), pretrainDir: join(dir, 'pretrain', 'final'), sftDir: join(dir, 'sft', 'final'), rewardDir: join(dir, 'reward', 'final') };
  const required: [string, string][] = [[a.dataDir, 'its world data (data stage)'], [join(a.initDir, 'tokenizer.json'), 'the initial model and tokenizer (init stage)']];
  if (needs !== 'init') required.push([join(a.pretrainDir, 'config.json'), 'the pre-trained model (pretrain stage)']);
  if (needs === 'sft' || needs === 'reward') required.push([join(a.sftDir, 'config.json'), 'the SFT model (sft stage)']);
  if (needs === 'reward') required.push([join(a.rewardDir, 'config.json'), 'the reward model (align stage)']);
  for (const [p, what] of required) {
    if (!existsSync(p)) throw new ConfigError(`--base ${dir}: expected ${what} at ${p}, found nothing; run \`glmkit pipeline --out ${dir}\` (with --until align or later when a reward model is needed) or leave out --base`);
  }
  const longctx = join(dir, 'longctx');
  if (existsSync(join(longctx, 'final', 'config.json'))) {
    // the stage's settings say the context and how its documents write visits (runs before visit styles wrote sentences)
    const { settings } = JSON.parse(readFileSync(join(longctx, 'longctx_state.json'), 'utf8')) as { settings: { length: number; visit_style?: 'sentence' | 'pair' } };
    a.longctx = { dir: join(longctx, 'final'), length: settings.length, visitStyle: settings.visit_style ?? 'sentence' };
  }
  return a;
}

async function buildBase(out: string, needs: Experiment['needs'], opts: RunOptions, log: (s: string) => void): Promise<BaseArtifacts> {
  const dir = join(out, 'base');
  if (needs === 'vision-sft') return buildVisionBase(dir, opts, log);
  const seed = 0; // the pipeline's default: the base recipe is the same whatever the experiment's seeds
  const until = needs === 'init' || needs === 'pretrain' ? needs : 'eval';
  log(`experiment: building the base recipe under ${dir} (pipeline --until ${until}${needs === 'reward' ? ' + reward model, frozen-half curriculum' : ''})`);
  const cfg = resolveConfig(pipelineSchema, { object: { out: dir, seed, quick: opts.quick, until, quiet: opts.quiet }, objectSource: 'experiment' });
  await runPipeline(cfg, log);
  if (needs === 'reward') {
    // the frozen-half curriculum: ~a third of the full one's CPU, validation accuracy 0.875 against
    // 0.892 (docs/performance.md "The reward model at a third of the CPU"); the default run then fits
    // the experiments' 30 minutes. `--base` of a pipeline run uses that run's (full-curriculum) model.
    await runAlignmentStages({ out: dir, dataDir: join(dir, 'data'), sftDir: join(dir, 'sft', 'final'), seed, quick: opts.quick, quiet: opts.quiet, log, lengthGroups: cfg.length_groups, rewardFrozenHalf: true }, { until: 'reward' });
  }
  return pipelineArtifacts(dir, needs);
}

function readArm<M>(dir: string, hash: string, config: Record<string, unknown>, name: string): ArmResult<M> | null {
  const file = join(dir, 'arm.json');
  if (!existsSync(file)) return null;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { config_hash: string; config: Record<string, unknown>; metrics: M };
  if (saved.config_hash !== hash) {
    throw new ConfigError(`arm ${name} in ${dir} was run with other settings (${configDiff(saved.config, config).join('; ')}); use a new --out, or delete ${dir} to rerun it`);
  }
  const scoresFile = join(dir, 'scores.jsonl');
  const scores = existsSync(scoresFile) && statSync(scoresFile).size > 0 ? readJsonl(scoresFile).map((r) => r.value as ScoreRow) : [];
  return { metrics: saved.metrics, scores };
}

/** Records the experiment's settings in DIR/experiment.json, or checks them against a rerun's. */
function checkSettings(out: string, exp: Experiment, settings: Record<string, unknown>, base: string | null): void {
  const file = join(out, 'experiment.json');
  const record = { experiment: exp.name, base, settings };
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as typeof record;
    const diff = configDiff({ experiment: saved.experiment, base: saved.base, ...saved.settings }, { experiment: exp.name, base, ...settings });
    if (diff.length > 0) throw new ConfigError(`${out} holds a run of other settings (${diff.join('; ')}); use a new --out to run these`);
    return;
  }
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
}

/** The arguments of `glmkit experiment run` that make a worker of this run. */
function workerArgs(exp: Experiment, opts: RunOptions, seeds: number[]): string[] {
  return ['experiment', 'run', exp.name, '--out', opts.out, ...(opts.base ? ['--base', opts.base] : []), '--seeds', seeds.join(','), ...(opts.quick ? ['--quick'] : []), '--threads', '1', '--jobs', '1', ...(opts.quiet ? ['--quiet'] : [])];
}

interface PreparedRun {
  ctx: ExperimentContext;
  seeds: number[];
  settings: Record<string, unknown>;
  /** true once an arm run by this process threw */
  ownArmFailed(): boolean;
}

/** Resolves seeds and settings, checks them against DIR, and makes the context the experiment runs in. */
function prepareRun(exp: Experiment, opts: RunOptions, worker: boolean): PreparedRun {
  const log = opts.quiet ? () => {} : (s: string) => console.error(s);
  const seeds = opts.seeds ?? exp.defaultSeeds?.(opts.quick) ?? [0];
  // a base built here trains its reward model with the frozen-half curriculum (a third of the CPU; buildBase)
  const settings = { ...exp.settings(opts.quick), seeds, quick: opts.quick, ...(exp.needs === 'reward' && !opts.base ? { base_reward_curriculum: 'frozen-half' } : {}) };
  mkdirSync(opts.out, { recursive: true });
  checkSettings(opts.out, exp, settings, opts.base ?? null);
  let base: BaseArtifacts | null = null;
  let failed = false;
  const ctx: ExperimentContext = {
    out: opts.out,
    quick: opts.quick,
    seeds,
    log,
    // a worker reads the base its parent built
    base: async () => (base ??= opts.base ? pipelineArtifacts(opts.base, exp.needs) : worker ? pipelineArtifacts(join(opts.out, 'base'), exp.needs) : await buildBase(opts.out, exp.needs, opts, log)),
    arm: async <M extends Record<string, unknown>>(name: string, config: Record<string, unknown>, run: (dir: string) => Promise<ArmResult<M>>) => {
      if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new DataError(`experiment arm name '${name}': expected letters, digits, '.', '_' or '-'`);
      const dir = join(opts.out, name);
      const hash = configHash(config);
      const cached = readArm<M>(dir, hash, config, name);
      if (cached) {
        log(`experiment: ${name} already done`);
        return cached;
      }
      if (worker && !claimArm(opts.out, name)) return { metrics: {} as M, scores: [] }; // another worker runs it
      log(`experiment: ${name} ...`);
      const s0 = Date.now();
      mkdirSync(dir, { recursive: true });
      let r: ArmResult<M>;
      try {
        r = await run(dir);
      } catch (e) {
        failed = true;
        throw e;
      }
      writeFileSync(join(dir, 'scores.jsonl'), r.scores.map((s) => JSON.stringify(s)).join('\n') + (r.scores.length ? '\n' : ''));
      // arm.json last, and atomically (another worker may read it): its presence marks the arm finished
      writeTextAtomic(join(dir, 'arm.json'), JSON.stringify({ config_hash: hash, config, metrics: r.metrics, seconds: (Date.now() - s0) / 1000, worker: process.env[WORKER_ENV] ?? null }, null, 2) + '\n');
      return r;
    },
  };
  return { ctx, seeds, settings, ownArmFailed: () => failed };
}

/**
 * One worker of a `--jobs N` run (src/experiment/parallel-arms.ts): runs the arms it claims and
 * writes no result. What the experiment does after an arm it did not run reads an empty placeholder,
 * so an error there is the parent's to redo, not this worker's; an error inside its own arm is thrown.
 */
export async function runExperimentWorker(exp: Experiment, opts: RunOptions): Promise<void> {
  const { ctx, settings, ownArmFailed } = prepareRun(exp, opts, true);
  try {
    await exp.run(ctx, settings);
  } catch (e) {
    if (ownArmFailed()) throw e;
  }
}

export async function runExperiment(exp: Experiment, opts: RunOptions): Promise<ExperimentResult> {
  const t0 = Date.now();
  const jobs = opts.jobs ?? exp.defaultJobs?.(opts.quick) ?? 1;
  if (jobs > 1 && !exp.independentArms) throw new ConfigError(`experiment ${exp.name}: --jobs ${jobs} needs arms that never read each other's results, and this experiment's do; use --jobs 1`);
  const { ctx, seeds, settings } = prepareRun(exp, opts, false);
  if (jobs > 1) {
    await ctx.base(); // built once, here; the workers read it
    clearClaims(opts.out);
    ctx.log(`experiment: ${exp.name}: arms in ${jobs} worker processes of 1 thread each`);
    await runWorkers({ cli: opts.cli ?? currentCli(), args: workerArgs(exp, opts, seeds), jobs, log: ctx.log });
    clearClaims(opts.out);
  }
  const outcome = await exp.run(ctx, settings);
  const deciding = outcome.comparisons.filter((c) => c.decides).map((c) => c.verdict);
  const result: ExperimentResult = {
    experiment: exp.name,
    paper: exp.paper,
    claim: exp.claim,
    settings,
    arms: outcome.arms,
    comparisons: outcome.comparisons,
    verdict: combineVerdicts(deciding),
    seconds: (Date.now() - t0) / 1000,
    command: opts.command,
    notes: outcome.notes,
  };
  writeFileSync(join(opts.out, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  for (const p of outcome.plots) writeFileSync(join(opts.out, p.file), p.svg);
  writeFileSync(join(opts.out, 'report.md'), renderReport(result, outcome.plots));
  ctx.log(`experiment: ${exp.name}: ${result.verdict} (${join(opts.out, 'result.json')}, report.md)`);
  return result;
}
