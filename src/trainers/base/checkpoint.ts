/**
 * Training checkpoints: OUT/checkpoint-<step>/ holds the model (an HF folder), the tokenizer files,
 * optimizer.safetensors, trainer_state.json (step, RNG state, data position, metrics), the
 * method's own state (method_state.json, e.g. GRPO's curriculum), modules beyond the model
 * (<name>.safetensors, e.g. PPO's value model) and the resolved config. It is written to a temporary folder, fsynced, then renamed, so a crash or kill
 * never leaves a half-written checkpoint under the final name.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../../errors.js';
import { loadOptimizerState, saveOptimizerState, type OptimizerState } from '../../optim/index.js';

export interface TrainerState {
  step: number;
  rng: (number | null)[];
  data: unknown;
  tokens_seen: number;
  /** steps skipped for a non-finite loss or gradient norm: in a row at the checkpoint, and in all */
  nonfinite?: { consecutive: number; total: number };
  metrics: Record<string, unknown>;
}

export interface CheckpointPayload {
  state: TrainerState;
  config: Record<string, unknown>;
  optimizer: OptimizerState;
  /** writes the model and tokenizer files into the folder */
  writeModel: (dir: string) => void;
}

const PATTERN = /^checkpoint-(\d+)$/;

function fsyncDir(dir: string): void {
  for (const f of readdirSync(dir)) {
    const fd = openSync(join(dir, f), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

export function saveCheckpoint(out: string, p: CheckpointPayload): string {
  const final = join(out, `checkpoint-${p.state.step}`);
  const tmp = join(out, `.checkpoint-${p.state.step}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    p.writeModel(tmp);
    saveOptimizerState(join(tmp, 'optimizer.safetensors'), p.optimizer);
    writeFileSync(join(tmp, 'training_config.json'), JSON.stringify(p.config, null, 2) + '\n');
    writeFileSync(join(tmp, 'trainer_state.json'), JSON.stringify(p.state, null, 2) + '\n');
    fsyncDir(tmp);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true }); // a failed checkpoint leaves nothing behind
    throw e;
  }
  return final;
}

/** Complete checkpoints in `out`, oldest first. */
export function listCheckpoints(out: string): { step: number; dir: string }[] {
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .map((name) => ({ m: PATTERN.exec(name), name }))
    .filter((x) => x.m && existsSync(join(out, x.name, 'trainer_state.json')))
    .map((x) => ({ step: Number(x.m![1]), dir: join(out, x.name) }))
    .sort((a, b) => a.step - b.step);
}

/** Deletes the oldest checkpoints beyond `limit` (0 = keep all). */
export function pruneCheckpoints(out: string, limit: number): void {
  if (limit <= 0) return;
  const all = listCheckpoints(out);
  for (const c of all.slice(0, Math.max(0, all.length - limit))) rmSync(c.dir, { recursive: true, force: true });
}

export interface LoadedCheckpoint {
  dir: string;
  state: TrainerState;
  optimizer: OptimizerState;
}

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  } catch (e) {
    throw new CheckpointError(`${dir}/trainer_state.json: cannot read (${(e as Error).message})`);
  }
  const optimizer = loadOptimizerState(join(dir, 'optimizer.safetensors'));
  return { dir, state, optimizer };
}
