/** The experiments `glmkit experiment` knows, by name. */
import { UsageError } from '../errors.js';
import type { Experiment } from './types.js';
import { exoVsDpo } from './experiments/exo-vs-dpo.js';

export const EXPERIMENTS: readonly Experiment[] = [exoVsDpo];

export function findExperiment(name: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (!e) throw new UsageError(`experiment: unknown experiment '${name}'; known: ${EXPERIMENTS.map((x) => x.name).join(', ')} (glmkit experiment list)`);
  return e;
}
