/**
 * `glmkit experiment run NAME --jobs N`: the arms of an experiment whose arms are independent run in
 * N worker processes of one native thread each. The reading experiments' readers are too small for a
 * second thread to pay (a rept arm took 304-334 s at 2 threads and 340-348 s at 1, docs/reading.md
 * "Wall time"), so two single-thread processes do nearly twice the work of one two-thread process.
 *
 * How: the parent builds the base, then starts N copies of the same command with
 * GLMKIT_EXPERIMENT_WORKER=i/N. A worker walks the experiment as usual; at each arm that is not
 * finished it takes the arm by creating DIR/.claims/<arm> (mkdir fails if another worker took it
 * first) and runs it, or moves on with an empty placeholder result. Workers write no result.json.
 * When all have exited the parent runs the experiment once more: every arm is read back from disk
 * (any arm a worker left undone runs there), and the statistics and report are made from them.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError, TrainingError } from '../errors.js';

/** Set in a worker's environment to `i/N`. */
export const WORKER_ENV = 'GLMKIT_EXPERIMENT_WORKER';

/** The worker index of this process (`{ index, of }`), or null in the parent. */
export function workerSlot(env: NodeJS.ProcessEnv = process.env): { index: number; of: number } | null {
  const v = env[WORKER_ENV];
  if (v === undefined || v === '') return null;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2])) throw new ConfigError(`${WORKER_ENV}: expected i/N with i < N, got '${v}'`);
  return { index: Number(m[1]), of: Number(m[2]) };
}

function claimsDir(out: string): string {
  return join(out, '.claims');
}

/** Takes arm `name` for this worker; false when another worker already did. */
export function claimArm(out: string, name: string): boolean {
  mkdirSync(claimsDir(out), { recursive: true });
  try {
    mkdirSync(join(claimsDir(out), name));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Removes the claims of an earlier (possibly interrupted) parallel run. */
export function clearClaims(out: string): void {
  rmSync(claimsDir(out), { recursive: true, force: true });
}

export interface WorkerSpawn {
  /** [executable, ...arguments before the glmkit command] */
  cli: readonly string[];
  /** the `experiment run ...` arguments every worker gets */
  args: readonly string[];
  jobs: number;
  log: (s: string) => void;
}

/** Starts `jobs` workers, prefixes their progress lines with `[worker i]`, and resolves when all exited 0. */
export async function runWorkers(o: WorkerSpawn): Promise<void> {
  const [exe, ...pre] = o.cli;
  const runs = Array.from({ length: o.jobs }, (_, i) => new Promise<void>((resolve, reject) => {
    const p = spawn(exe, [...pre, ...o.args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, [WORKER_ENV]: `${i}/${o.jobs}` } });
    const tail: string[] = [];
    createInterface({ input: p.stderr! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      o.log(`[worker ${i}] ${line}`);
    });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new TrainingError(`experiment worker ${i} of ${o.jobs} exited with ${signal ?? `code ${code}`}; its last lines:\n${tail.join('\n')}\nfix the cause and rerun the same command (finished arms are kept), or use --jobs 1`));
    });
  }));
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
}
