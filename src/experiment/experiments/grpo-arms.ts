/** What the GRPO experiments (rlcs-vs-uniform, rlhf-scaling) share: their prompt sets and per-prompt scores. */
import { join } from 'node:path';
import { validationTestSplit } from '../../eval/splits.js';
import { readPrompts, writeGrpoStageData } from '../../pipeline/grpo-stage.js';
import type { RlPrompt } from '../../trainers/grpo/grpo-data.js';
import type { ArmResult } from '../types.js';

/**
 * The pipeline's kind of GRPO data (training prompts of arithmetic levels 1-7; hard held-out prompts
 * of levels 3-5) drawn with `dataSeed`, written under DIR/data; the hard prompts halved by a hash
 * into validation and test.
 */
export async function grpoPromptSets(out: string, dataSeed: number, sizes: { train: number; validation: number; test: number }) {
  // the full-size files in every mode (cheap to write); --quick takes a few prompts of them
  const files = await writeGrpoStageData({ dataDir: join(out, 'data'), seed: dataSeed, quick: false }, 80);
  const split = validationTestSplit(readPrompts(files.eval), (p) => p.prompt);
  return { files, train: readPrompts(files.train).slice(0, sizes.train), validation: split.validation.slice(0, sizes.validation), test: split.test.slice(0, sizes.test) };
}

/** Per test prompt, the share of seeds whose arm `${prefix}-s${seed}` answered it correctly. */
export function correctOverSeeds(arms: Record<string, ArmResult<Record<string, unknown>>>, prefix: string, seeds: readonly number[], test: readonly RlPrompt[]): number[] {
  return test.map((_, i) => seeds.reduce((a, s) => a + (arms[`${prefix}-s${s}`].scores[i].correct as number), 0) / seeds.length);
}
