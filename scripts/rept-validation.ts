/**
 * rept diagnostics on VALIDATION items (world MRC task seed 77; the rept experiment fine-tunes on task
 * seed 2 and tests on 903, never used here): for each objective, starts a reader from a pre-trained
 * causal LM folder (`--model`, the base pipeline's pre-trained model), continues pre-training it on
 * annotated world documents with that objective, fine-tunes it on answers as the experiment does, and
 * prints validation accuracy overall and per kind group, with the CPU time of each phase.
 * Run from the repository root:
 *   GLMKIT_THREADS=1 npx tsx scripts/rept-validation.ts --model DIR [--arms none,rept,mlm,clm]
 *     [--pretrain-steps 200] [--pretrain-batch 8] [--pretrain-lr 5e-4] [--steps 600] [--batch 8]
 *     [--lr 1e-3] [--train 1000] [--val 300] [--kinds K,...] [--seed 0]
 * Arm `none` is fine-tuned with no further pre-training (the pre-trained model as it is).
 */
import { HARD_MRC_KINDS, type MrcKind } from '../src/data/world/index.js';
import { KIND_GROUPS, annotatedDocs, hardItems, pretrainedReader } from '../src/experiment/experiments/reading-common.js';
import { predictMrc, trainMrc } from '../src/models/reader/mrc.js';
import { reptPretrain } from '../src/models/reader/rept.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const num = (k: string, d: number) => Number(args.get(k) ?? d);
const model = args.get('model');
if (!model) throw new Error('rept-validation: --model DIR (a pre-trained causal-LM folder) is required');
const arms = (args.get('arms') ?? 'none,rept,mlm,clm').split(',');
const kinds = (args.get('kinds') ?? HARD_MRC_KINDS.join(',')).split(',') as MrcKind[];
const seed = num('seed', 0);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const avg = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

const docs = annotatedDocs(num('docs', 2000), 1);
const train = hardItems(num('train', 1000), 2, kinds);
const val = hardItems(num('val', 300), 77, kinds);
for (const arm of arms) {
  const reader = pretrainedReader(model, seed);
  const t0 = cpu();
  if (arm !== 'none') {
    const log = reptPretrain(reader, docs, { steps: num('pretrain-steps', 200), batch: num('pretrain-batch', 8), lr: num('pretrain-lr', 5e-4), seed, objective: arm as 'rept' | 'mlm' | 'clm' });
    const last = log.slice(-20);
    console.log(`${arm}: pre-training losses (last 20 steps) prev ${avg(last.map((x) => x.prev)).toFixed(3)} next ${avg(last.map((x) => x.next)).toFixed(3)} mlm ${avg(last.map((x) => x.mlm)).toFixed(3)}; first 20: mlm ${avg(log.slice(0, 20).map((x) => x.mlm)).toFixed(3)}`);
  }
  const t1 = cpu();
  const ft = trainMrc(reader, train, { steps: num('steps', 600), batch: num('batch', 8), lr: num('lr', 1e-3), seed, evidenceWeight: 0 });
  const t2 = cpu();
  const preds = predictMrc(reader, val);
  const correct = val.map((it, i) => Number(preds[i].predicted === it.answer));
  const group = (g: string) => avg(correct.filter((_, i) => KIND_GROUPS[g].includes(val[i].kind!)));
  console.log(`${arm}: validation accuracy ${avg(correct).toFixed(3)} (multi-sentence ${group('multi_sentence').toFixed(3)}, single ${group('single_sentence').toFixed(3)}, multi_hop ${group('multi_hop').toFixed(3)}, pronoun ${group('pronoun').toFixed(3)}, paraphrase ${group('paraphrase').toFixed(3)}); fine-tune loss (last 50) ${avg(ft.answerLoss.slice(-50)).toFixed(3)}; CPU s: pre-train ${(t1 - t0).toFixed(0)}, fine-tune ${(t2 - t1).toFixed(0)}, predict ${(cpu() - t2).toFixed(0)}`);
}
