/**
 * The experiments of docs/experiments/rl.md, on the pipeline's GRPO-stage data (same prompts, seeds
 * and held-out hard set):
 *   npx tsx src/trainers/grpo/experiment.ts --sft PIPELINE_OUT/sft/final --out DIR [--steps 30] [--seeds 0] [--only rlcs,uniform,g2,g4,g16] [--lr 2e-5]
 * - rlcs vs uniform: same steps, batch (4 prompts x G=8), learning rate and seed; greedy hard-set
 *   accuracy every 5 steps against rollouts spent (RLCS's pre-pass included);
 * - G = 2, 4, 8, 16 samples per prompt with 4 prompts per step (uniform sampling; G = 8 is the
 *   `uniform` run).
 * Writes DIR/results.json ({run: [{step, rollouts, accuracy}]}) and one metrics.jsonl per run.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../base/config.js';
import { readPrompts, writeGrpoStageData } from '../../pipeline/grpo-stage.js';
import { grpoSchema } from './grpo-config.js';
import { GrpoTrainer, greedyAccuracy } from './grpo-trainer.js';

const { values } = parseArgs({ options: { sft: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string', default: '30' }, seeds: { type: 'string', default: '0' }, only: { type: 'string', default: 'rlcs,uniform,g2,g4,g16' }, lr: { type: 'string', default: '2e-5' }, tasks: { type: 'string', default: '' }, prompts: { type: 'string', default: '4' }, extra: { type: 'string', default: '{}' } } });
if (!values.sft || !values.out) throw new Error('usage: experiment.ts --sft DIR --out DIR [--steps N] [--seeds 0,1] [--only rlcs,uniform,g2,g4,g16] [--lr 2e-5]');
const out = values.out;
mkdirSync(out, { recursive: true });
const files = await writeGrpoStageData({ dataDir: join(out, 'data'), seed: 0, quick: false });
const tasks = values.tasks ? values.tasks.split(',') : null;
const prompts = readPrompts(files.train).filter((p) => !tasks || tasks.includes(p.task ?? '')), hard = readPrompts(files.eval);
const steps = Number(values.steps);
const runs: Record<string, { curriculum: 'rlcs' | 'uniform'; G: number }> = {
  rlcs: { curriculum: 'rlcs', G: 8 }, uniform: { curriculum: 'uniform', G: 8 },
  g2: { curriculum: 'uniform', G: 2 }, g4: { curriculum: 'uniform', G: 4 }, g8: { curriculum: 'uniform', G: 8 }, g16: { curriculum: 'uniform', G: 16 },
};
const results: Record<string, unknown> = {};
for (const seed of values.seeds!.split(',').map(Number)) {
  for (const name of values.only!.split(',')) {
    const run = runs[name];
    if (!run) throw new Error(`unknown run ${name}`);
    const cfg = resolveConfig(grpoSchema, {
      object: { model: values.sft, data: files.train, eval_data: files.eval, out: join(out, `${name}-s${seed}`), seed, quiet: true, max_steps: steps, eval_steps: 5, learning_rate: Number(values.lr), curriculum: run.curriculum, num_generations: run.G, per_device_train_batch_size: Number(values.prompts) * run.G, eval_max_examples: hard.length, ...JSON.parse(values.extra!) },
    });
    const model = loadCausalLM(values.sft), tok = loadTokenizer(values.sft);
    const t0 = Date.now();
    const trainer = new GrpoTrainer(cfg, model, tok, prompts, hard);
    const curve = [{ step: 0, rollouts: 0, accuracy: greedyAccuracy(model, tok, hard, trainer.rolloutOptions(1, 0)) }];
    const r = await trainer.train();
    for (const m of r.metrics) if (m.eval_accuracy !== undefined) curve.push({ step: m.step as number, rollouts: (m.rollouts as number) + trainer.prepassRollouts, accuracy: m.eval_accuracy as number });
    const train = r.metrics.filter((m) => m.reward !== undefined);
    const mean = (k: string) => train.reduce((a, m) => a + (m[k] as number), 0) / train.length;
    results[`${name}-s${seed}`] = { curve, train_reward: mean('reward'), informative_share: 1 - mean('frac_reward_zero_std'), rollouts: trainer.rollouts, prepass_rollouts: trainer.prepassRollouts, seconds: (Date.now() - t0) / 1000, curriculum: trainer.curriculum.summary() };
    console.log(`${name} seed ${seed}: train reward ${mean('reward').toFixed(3)}, informative groups ${(1 - mean('frac_reward_zero_std')).toFixed(3)}; ${curve.map((c) => `${c.rollouts}:${c.accuracy.toFixed(3)}`).join(' ')} (${((Date.now() - t0) / 1000).toFixed(0)}s)`);
    writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  }
}
