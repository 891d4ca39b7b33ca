/**
 * Process / outcome reward-model diagnostics on a VALIDATION split of step-labelled traces (never the
 * prm-vs-orm experiment's test split). Run from the repository root:
 *   npx tsx scripts/prm-validation.ts --base DIR [--init sft|reward] [--kinds prm,orm] [--steps 80]
 *     [--batch 16] [--lr 1e-3] [--warmup 10] [--train 640] [--val 200] [--balance true|false]
 *     [--layout chat|plain] [--seed 0] [--threads 1] [--out FILE.json]
 * DIR is a pipeline folder with sft/final (and reward/final for --init reward). Training data: the
 * experiment's draw (steps task, train split, seed 900, all families), its first --train examples;
 * validation: --val traces from another draw of the train split (seed 905) whose prompts are not in
 * the training data. Each kind is trained as the experiment trains it (prm-vs-orm.ts
 * `trainStepRewardModel`) and measured against two baselines that read no step text: a constant
 * (the majority label of the training data) and a step-position predictor (the training data's share
 * of right steps at each step index).
 */
import { writeFileSync } from 'node:fs';
import { generateWorldTask } from '../src/data/world/index.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-json.js';
import { EOS_TOKEN } from '../src/tokenizer/special-tokens.js';
import { tokenizeStepwise } from '../src/trainers/reward/prm-trainer.js';
import type { StepLayout } from '../src/data/stepwise.js';
import { scoreSteps } from '../src/trainers/reward/prm.js';
import { stepValidationMetrics } from '../src/trainers/reward/prm-metrics.js';
import { initStepRewardModel, trainStepRewardModel } from '../src/experiment/experiments/prm-vs-orm.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const need = (k: string) => args.get(k) ?? (() => { throw new Error(`--${k} is required`); })();
const num = (k: string, d: number) => Number(args.get(k) ?? d);
const base = need('base');
const init = (args.get('init') ?? 'sft') as 'sft' | 'reward';
const kinds = (args.get('kinds') ?? 'prm,orm').split(',') as ('prm' | 'orm')[];
const nTrain = num('train', 640), nVal = num('val', 200);
const tok = loadTokenizer(`${base}/sft/final`);
const padId = tok.requireId(EOS_TOKEN);

const trainRecs = generateWorldTask('steps', { n: nTrain, seed: 900, split: 'train' });
const seen = new Set(trainRecs.map((r) => r.prompt));
const valRecs = generateWorldTask('steps', { n: 4 * nVal, seed: 905, split: 'train' }).filter((r) => !seen.has(r.prompt)).slice(0, nVal);
const layout = (args.get('layout') ?? 'chat') as StepLayout;
const train = tokenizeStepwise(tok, trainRecs, 384, '\n', layout);
const val = tokenizeStepwise(tok, valRecs, 384, '\n', layout);
const lens = train.examples.map((e) => e.ids.length).sort((a, b) => a - b);
console.log(`train ${train.examples.length} (dropped ${train.dropped}), val ${val.examples.length} (dropped ${val.dropped}); tokens median ${lens[lens.length >> 1]}, max ${lens.at(-1)}`);

const out: Record<string, unknown> = { args: Object.fromEntries(args), train: train.examples.length, val: val.examples.length };
for (const kind of kinds) {
  const t0 = Date.now();
  const o = {
    kind, tok, train: train.examples, seed: num('seed', 0), steps: num('steps', 80), batch: num('batch', 16), learningRate: num('lr', 1e-3),
    warmup: num('warmup', 10), balance: (args.get('balance') ?? 'false') === 'true', init, layout, sftDir: `${base}/sft/final`, rewardDir: `${base}/reward/final`, threads: num('threads', 1),
  };
  // --steps 0: the starting model as it is (e.g. the pipeline's reward model read at the step ends)
  const { rm, log } = o.steps > 0 ? await trainStepRewardModel(o) : { rm: initStepRewardModel(o).rm, log: [NaN] };
  const scores = scoreSteps(rm, val.examples, padId);
  const m = stepValidationMetrics(scores, val.examples, train.examples, kind === 'prm' ? 'min' : 'last');
  const lossFirst = log.slice(0, 5).reduce((a, b) => a + b, 0) / Math.min(5, log.length), lossLast = log.slice(-5).reduce((a, b) => a + b, 0) / Math.min(5, log.length);
  out[kind] = { ...m, loss_first5: lossFirst, loss_last5: lossLast, seconds: (Date.now() - t0) / 1000 };
  console.log(kind, JSON.stringify(out[kind], (_, v) => (typeof v === 'number' ? Number(v.toFixed(4)) : v)));
}
if (args.has('out')) writeFileSync(need('out'), JSON.stringify(out, null, 2));
