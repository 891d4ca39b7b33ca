/**
 * `glmkit pipeline --preset tiny-vl --out DIR`: a GLM-4.1V trained from scratch on the visual world,
 * resumable stage by stage as the text pipeline (OUT/pipeline_state.json; a rerun with other settings
 * is refused unless --force-stage names where to redo from):
 *   data -> tokenizer -> init -> pretrain -> prealign -> sft -> eval -> report
 * OUT/final/ is the SFT model; OUT/summary.json holds per-stage figures, held-out accuracy per family
 * with its chance level, and seconds per stage.
 *
 * Stages are entries of a list (`VlStage`: a name, the folders it owns, a run function), so a later
 * stage (e.g. RL after eval) is added by passing a longer list to `runVlStages`:
 *   runVlStages(cfg, withVlStage(VL_STAGES, rlStage, { after: 'eval' }), log)
 */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { useThreads } from '../../generation/parallel-generate.js';
import { writeTextAtomic } from '../../io/atomic.js';
import { machineInfo } from '../../util/machine.js';
import { loadGlm4vModel } from '../../models/glm4v/checkpoint.js';
import { readImageProcessorConfig } from '../../models/glm4v/preprocess-config.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { imageProcessor } from '../../models/glm4v/preprocess.js';
import { writeReport } from '../../report/report.js';
import { openPipelineState, savePipelineState, type StageLayout } from '../state.js';
import { vlQuickOverrides, type VlPipelineConfig } from './vl-recipe.js';
import { dataStage, evalFile, initStage, prealignStage, pretrainStage, sftStage, tokenizerStage, vlFamilies, vlPaths, type VlStageContext } from './vl-stages.js';
import { evalVisionFamilies } from './vl-eval.js';

export interface VlStage {
  name: string;
  /** folders under OUT the stage writes (removed when it is forced to run again) */
  dirs: string[];
  /** settings only this stage reads start with this prefix: they may change until it has run */
  prefix?: string;
  run(ctx: VlStageContext): Promise<void>;
}

/** Evaluates a glm4v folder on the held-out prompts of each family; writes summary[key]. */
export async function evalStageOf(ctx: VlStageContext, dir: string, key: string): Promise<void> {
  const model = loadGlm4vModel(dir);
  const tok = loadTokenizer(dir);
  const processor = imageProcessor(readImageProcessorConfig(dir, model.config.vision));
  const files = Object.fromEntries(vlFamilies(ctx.cfg).map((f) => [f, evalFile(ctx.paths, f)]));
  const r = await evalVisionFamilies(model, tok, files, { processor, maxNewTokens: ctx.cfg.eval_max_new_tokens });
  for (const [family, a] of Object.entries(r.test)) ctx.log(`pipeline: ${key} ${family}: test accuracy ${(100 * a.accuracy).toFixed(1)}% of ${a.n} (chance ${(100 * a.chance).toFixed(1)}%, validation ${(100 * r.validation[family].accuracy).toFixed(1)}%)`);
  ctx.summary[key] = { ...(ctx.summary[key] as object), accuracy: r.test, validation_accuracy: r.validation, samples: r.samples };
}

export const VL_STAGES: readonly VlStage[] = [
  { name: 'data', dirs: ['data'], run: dataStage },
  { name: 'tokenizer', dirs: ['tokenizer'], run: tokenizerStage },
  { name: 'init', dirs: ['init'], run: initStage },
  { name: 'pretrain', dirs: ['pretrain'], prefix: 'pretrain_', run: pretrainStage },
  { name: 'prealign', dirs: ['prealign'], prefix: 'prealign_', run: prealignStage },
  { name: 'sft', dirs: ['sft'], prefix: 'sft_', run: sftStage },
  {
    name: 'eval', dirs: [], prefix: 'eval_',
    run: async (ctx) => {
      const dir = join(ctx.paths.sft, 'final');
      await evalStageOf(ctx, dir, 'sft');
      rmSync(join(ctx.out, 'final'), { recursive: true, force: true });
      cpSync(dir, join(ctx.out, 'final'), { recursive: true });
      ctx.summary.final_model = join(ctx.paths.sft, 'final');
    },
  },
  { name: 'report', dirs: [], run: async (ctx) => void writeReport(ctx.out) },
];

/** `stages` with `stage` inserted after the stage named `at.after` (e.g. an RL stage after eval). */
export function withVlStage(stages: readonly VlStage[], stage: VlStage, at: { after: string }): VlStage[] {
  const i = stages.findIndex((s) => s.name === at.after);
  if (i < 0) throw new ConfigError(`pipeline: no stage "${at.after}" to add "${stage.name}" after (stages: ${stages.map((s) => s.name).join(', ')})`);
  return [...stages.slice(0, i + 1), stage, ...stages.slice(i + 1)];
}

function layoutOf(stages: readonly VlStage[]): StageLayout {
  return {
    order: stages.map((s) => s.name),
    dirs: Object.fromEntries(stages.map((s) => [s.name, s.dirs])),
    stageOnlyPrefixes: Object.fromEntries(stages.filter((s) => s.prefix).map((s) => [s.name, s.prefix!])),
  };
}

/** Runs the stages in order, skipping finished ones; returns summary.json's content. */
export async function runVlStages(input: VlPipelineConfig, stages: readonly VlStage[] = VL_STAGES, log: (s: string) => void = (s) => console.error(s)): Promise<Record<string, unknown>> {
  const cfg = input.quick ? vlQuickOverrides(input) : input;
  if (!cfg.out) throw new ConfigError('pipeline: --out is required');
  const names = stages.map((s) => s.name);
  for (const [key, v] of [['until', cfg.until], ['force_stage', cfg.force_stage]] as const) {
    if (v !== 'none' && !names.includes(v)) throw new ConfigError(`pipeline: ${key}: expected one of ${names.join(', ')}${key === 'force_stage' ? ' or none' : ''}, got "${v}"`);
  }
  vlFamilies(cfg);
  if (cfg.threads > 0) useThreads(cfg.threads);
  const out = cfg.out;
  mkdirSync(out, { recursive: true });
  const state = openPipelineState(out, cfg, cfg.force_stage === 'none' ? null : cfg.force_stage, log, layoutOf(stages));
  const ctx: VlStageContext = { cfg, out, paths: vlPaths(out), summary: state.summary, log };
  const timings: Record<string, number> = (state.summary.seconds as Record<string, number>) ?? {};
  const machine = machineInfo();
  const t0 = Date.now();
  const last = names.indexOf(cfg.until);
  for (const stage of stages) {
    if (stage.name !== 'report' && names.indexOf(stage.name) > last) {
      log(`pipeline: ${stage.name} skipped (--until ${cfg.until})`);
      continue;
    }
    if (state.done.includes(stage.name) && stage.name !== 'report') {
      log(`pipeline: ${stage.name} already done`);
      continue;
    }
    log(`pipeline: ${stage.name} ...`);
    const s0 = Date.now();
    await stage.run(ctx);
    timings[stage.name] = (Date.now() - s0) / 1000;
    Object.assign(state.summary, { preset: cfg.preset, seconds: timings, total_seconds: Object.values(timings).reduce((a, b) => a + b, 0), machine });
    if (!state.done.includes(stage.name)) state.done.push(stage.name);
    state.stage_config_hash[stage.name] = state.config_hash;
    writeTextAtomic(join(out, 'summary.json'), JSON.stringify(state.summary, null, 2) + '\n');
    savePipelineState(out, state);
  }
  log(`pipeline: done in ${((Date.now() - t0) / 1000).toFixed(0)}s; ${join(out, 'summary.json')}`);
  return state.summary;
}
