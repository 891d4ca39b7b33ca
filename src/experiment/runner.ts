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
  return a;
}

async function buildBase(out: string, needs: Experiment['needs'], opts: RunOptions, log: (s: string) => void): Promise<BaseArtifacts> {
  const dir = join(out, 'base');
  if (needs === 'vision-sft') return buildVisionBase(dir, opts, log);
  const seed = 0; // the pipeline's default: the base recipe is the same whatever the experiment's seeds
  const until = needs === 'init' || needs === 'pretrain' ? needs : 'eval';
  log(`experiment: building the base recipe under ${dir} (pipeline --until ${until}${needs === 'reward' ? ' + reward model' : ''})`);
  const cfg = resolveConfig(pipelineSchema, { object: { out: dir, seed, quick: opts.quick, until, quiet: opts.quiet }, objectSource: 'experiment' });
  await runPipeline(cfg, log);
  if (needs === 'reward') {
    await runAlignmentStages({ out: dir, dataDir: join(dir, 'data'), sftDir: join(dir, 'sft', 'final'), seed, quick: opts.quick, quiet: opts.quiet, log }, { until: 'reward' });
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

export async function runExperiment(exp: Experiment, opts: RunOptions): Promise<ExperimentResult> {
  const t0 = Date.now();
  const log = opts.quiet ? () => {} : (s: string) => console.error(s);
  const seeds = opts.seeds ?? exp.defaultSeeds?.(opts.quick) ?? [0];
  const settings = { ...exp.settings(opts.quick), seeds, quick: opts.quick };
  mkdirSync(opts.out, { recursive: true });
  checkSettings(opts.out, exp, settings, opts.base ?? null);
  let base: BaseArtifacts | null = null;
  const ctx: ExperimentContext = {
    out: opts.out,
    quick: opts.quick,
    seeds,
    log,
    base: async () => (base ??= opts.base ? pipelineArtifacts(opts.base, exp.needs) : await buildBase(opts.out, exp.needs, opts, log)),
    arm: async <M extends Record<string, unknown>>(name: string, config: Record<string, unknown>, run: (dir: string) => Promise<ArmResult<M>>) => {
      if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new DataError(`experiment arm name '${name}': expected letters, digits, '.', '_' or '-'`);
      const dir = join(opts.out, name);
      const hash = configHash(config);
      const cached = readArm<M>(dir, hash, config, name);
      if (cached) {
        log(`experiment: ${name} already done`);
        return cached;
      }
      log(`experiment: ${name} ...`);
      const s0 = Date.now();
      mkdirSync(dir, { recursive: true });
      const r = await run(dir);
      writeFileSync(join(dir, 'scores.jsonl'), r.scores.map((s) => JSON.stringify(s)).join('\n') + (r.scores.length ? '\n' : ''));
      // arm.json last: its presence marks the arm finished
      writeFileSync(join(dir, 'arm.json'), JSON.stringify({ config_hash: hash, config, metrics: r.metrics, seconds: (Date.now() - s0) / 1000 }, null, 2) + '\n');
      return r;
    },
  };
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
  log(`experiment: ${exp.name}: ${result.verdict} (${join(opts.out, 'result.json')}, report.md)`);
  return result;
}
