import { loadavg } from 'node:os';
import type { MixedPrecision } from '../tensor/ops/precision.js';

/** What a pipeline stage that lives in its own module (alignment, GRPO) gets from the pipeline. */
export interface StageContext {
  /** the pipeline's output folder; the stage writes under OUT/<its name> */
  out: string;
  /** OUT/data: the world data written by the data stage (stages may add their own files) */
  dataDir: string;
  /** the SFT model folder the stage starts from */
  sftDir: string;
  seed: number;
  /** a smoke run: every size tiny */
  quick: boolean;
  quiet: boolean;
  log: (s: string) => void;
  /** mixed_precision of the stage's supervised and preference trainers (the pipeline's --mixed-precision; default 'no') */
  mixedPrecision?: MixedPrecision;
}

/** What one stage cost: wall seconds, CPU seconds of this process (all its threads) and the 1-minute load average at its end. */
export interface StageCost {
  seconds: number;
  cpu_seconds: number;
  load_average: number;
}

/**
 * Starts timing a stage; call the result when it ends. CPU seconds (process.cpuUsage: user + system,
 * every thread of the process, native pool included) judge a stage on a busy machine, where wall
 * seconds grow with the load; the load average says how busy the machine was.
 */
export function stageClock(): () => StageCost {
  const t0 = Date.now(), c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return { seconds: (Date.now() - t0) / 1000, cpu_seconds: Math.round((c.user + c.system) / 1e3) / 1e3, load_average: Math.round(loadavg()[0] * 100) / 100 };
  };
}
