/**
 * OUT/pipeline_state.json: which stages of a pipeline run finished, under which resolved settings.
 * A rerun into the same folder with settings that change results is refused, naming the keys that
 * differ; `--force-stage S` redoes S and every later stage under the new settings (their folders are
 * removed first), keeping the earlier ones. Written atomically, as checkpoints are.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, ConfigError } from '../errors.js';
import { writeTextAtomic } from '../io/atomic.js';
import { configDiff, configHash } from '../util/config-hash.js';

export const STAGES = ['data', 'tokenizer', 'init', 'pretrain', 'sft', 'eval', 'longctx', 'align', 'grpo', 'experts', 'report'] as const;
export type Stage = (typeof STAGES)[number];

/** Settings that do not change what a stage computes (how it runs, how far, how loudly). */
const RUN_ONLY_KEYS = ['out', 'threads', 'quiet', 'until', 'force_stage'];

/**
 * Settings read by one stage only (whose prefix names it): while that stage has not run they may
 * change (or be new to an older state file) without refusing the rerun, so a finished pipeline
 * folder can be extended later, e.g. with `--long-context 4096`.
 */
const STAGE_ONLY_PREFIXES: Partial<Record<Stage, string>> = { longctx: 'long_' };

/** The folders under OUT each stage writes (removed when the stage is forced to run again). */
const STAGE_DIRS: Record<Stage, string[]> = {
  data: ['data'],
  tokenizer: ['tokenizer'],
  init: ['init'],
  pretrain: ['pretrain'],
  sft: ['sft'],
  eval: [],
  longctx: ['longctx'],
  align: ['alignment', 'reward', 'ppo', 'dpo', 'exo'],
  grpo: ['grpo'],
  experts: ['experts'],
  report: [],
};

/**
 * A pipeline's stages: their order, the folders under OUT each writes, and the key prefix of
 * settings only one stage reads (see STAGE_ONLY_PREFIXES). The text pipeline's is TEXT_STAGE_LAYOUT;
 * the vision-language pipeline has its own (pipeline/vl/).
 */
export interface StageLayout {
  order: readonly string[];
  dirs: Readonly<Record<string, readonly string[]>>;
  stageOnlyPrefixes?: Readonly<Record<string, string>>;
}

export const TEXT_STAGE_LAYOUT: StageLayout = { order: STAGES, dirs: STAGE_DIRS, stageOnlyPrefixes: STAGE_ONLY_PREFIXES as Record<string, string> };

export interface PipelineState {
  /** the settings that decide results, as resolved for the run that wrote each stage */
  config: Record<string, unknown>;
  config_hash: string;
  /** finished stages, in order, each with the hash of the settings it ran under */
  done: string[];
  stage_config_hash: Partial<Record<string, string>>;
  summary: Record<string, unknown>;
}

/** The settings of a resolved pipeline config that change results. */
export function resultConfig(cfg: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(cfg).filter(([k]) => !RUN_ONLY_KEYS.includes(k)));
}

/**
 * Loads OUT/pipeline_state.json (or starts a new state) and checks it against `cfg`. A mismatch is a
 * ConfigError naming the differing keys unless `forceStage` is given: then that stage and every later
 * one are forgotten, their folders removed, and the new settings recorded.
 */
export function openPipelineState(out: string, cfg: Record<string, unknown>, forceStage: string | null, log: (s: string) => void, layout: StageLayout = TEXT_STAGE_LAYOUT): PipelineState {
  const file = join(out, 'pipeline_state.json');
  const config = resultConfig(cfg);
  const hash = configHash(config);
  if (!existsSync(file)) return { config, config_hash: hash, done: [], stage_config_hash: {}, summary: {} };
  const state = readStateFile<PipelineState>(file, `remove it to start the pipeline over in ${out}, or choose another --out`);
  if (!state.config || !state.config_hash) {
    throw new ConfigError(`${file} records no settings (written by an older glmkit), so a rerun cannot be checked against it; choose a new --out`);
  }
  const pending = Object.entries(layout.stageOnlyPrefixes ?? {}).filter(([st]) => !state.done.includes(st)).map(([, prefix]) => prefix);
  const checked = (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([k]) => !pending.some((p) => k.startsWith(p))));
  const diff = configDiff(checked(state.config), checked(config));
  if (forceStage) {
    const from = layout.order.indexOf(forceStage);
    if (from < 0) throw new ConfigError(`--force-stage: expected one of ${layout.order.join(', ')}, got "${forceStage}"`);
    const redo = layout.order.slice(from);
    for (const s of redo) for (const d of layout.dirs[s] ?? []) rmSync(join(out, d), { recursive: true, force: true });
    state.done = state.done.filter((s) => layout.order.indexOf(s) < from);
    for (const s of redo) delete state.stage_config_hash[s];
    log(`pipeline: --force-stage ${forceStage}: redoing ${redo.join(', ')}${diff.length ? ` with ${diff.join('; ')}` : ''}`);
  } else if (diff.length > 0 && state.done.length > 0) {
    throw new ConfigError(
      `${out} holds a pipeline run with other settings (${diff.join('; ')}); rerun with the same settings to continue it, pass --force-stage STAGE to redo STAGE and every later stage with these settings (stages: ${layout.order.join(', ')}), or choose a new --out`,
    );
  }
  return { ...state, config, config_hash: hash };
}

/** A JSON state file written by a stage; one that cannot be read is a CheckpointError naming it and `remedy`. */
export function readStateFile<T>(file: string, remedy: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new CheckpointError(`${file}: not a readable JSON state file (${(e as Error).message}); ${remedy}`);
  }
}

export function savePipelineState(out: string, state: PipelineState): void {
  writeTextAtomic(join(out, 'pipeline_state.json'), JSON.stringify(state, null, 2) + '\n');
}
