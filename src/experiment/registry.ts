/** The experiments `glmkit experiment` knows, by name. */
import { UsageError } from '../errors.js';
import type { Experiment } from './types.js';
import { exoVsDpo } from './experiments/exo-vs-dpo.js';
import { muonVsAdamw } from './experiments/muon-vs-adamw.js';
import { mtp } from './experiments/mtp.js';
import { rmLengthBias } from './experiments/rm-length-bias.js';
import { rlhfScaling } from './experiments/rlhf-scaling.js';
import { rlhfModelSize } from './experiments/rlhf-model-size.js';
import { ppoVsDpo } from './experiments/ppo-vs-dpo.js';
import { rlcsVsUniform } from './experiments/rlcs-vs-uniform.js';
import { seqa } from './experiments/seqa.js';
import { prmVsOrm } from './experiments/prm-vs-orm.js';
import { expertIteration } from './experiments/expert-iteration.js';
import { rept } from './experiments/rept.js';
import { stm } from './experiments/stm.js';
import { longreward } from './experiments/longreward.js';
import { visionRlcs } from './experiments/vision-rlcs.js';

export const EXPERIMENTS: readonly Experiment[] = [exoVsDpo, ppoVsDpo, rmLengthBias, rlcsVsUniform, rlhfScaling, rlhfModelSize, muonVsAdamw, mtp, seqa, expertIteration, rept, stm, prmVsOrm, longreward, visionRlcs];

export function findExperiment(name: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (!e) throw new UsageError(`experiment: unknown experiment '${name}'; known: ${EXPERIMENTS.map((x) => x.name).join(', ')} (glmkit experiment list)`);
  return e;
}
