/**
 * rept (REPT, retrieval-based pre-training for reading comprehension): a reader pre-trained with
 * REPT (Surrounding Sentences Prediction + retrieval-based masked span prediction) answers held-out
 * hard world MRC questions more accurately than one pre-trained for the same steps with plain
 * masked LM, or with the causal LM objective (the backbone "as is" for a GLM), most on questions
 * whose evidence is several sentences.
 * Per seed, three arms start from the same point (by default the base pipeline's pre-trained model,
 * as the paper continues pre-training a pre-trained LM; `backbone: 'fresh'` a fresh small GLM),
 * are pre-trained for the same steps on the same annotated world documents with REPT, plain masked
 * LM or the causal LM objective, then fine-tuned identically on hard-kind MRC items (answer loss
 * only) and evaluated on held-out items (another task seed). Claims, paired bootstrap over (seed, item):
 *   1. accuracy(REPT) - accuracy(MLM) > 0;   2. accuracy(REPT) - accuracy(CLM) > 0;
 * reported, not deciding: the same differences on multi-sentence vs single-sentence items and on
 * the multi-hop, pronoun/alias and paraphrase kinds.
 */
import { predictMrc, trainMrc } from '../../models/reader/mrc.js';
import { reptPretrain } from '../../models/reader/rept.js';
import { bootstrapMean, pairedBootstrap, verdictOf } from '../stats.js';
import { barChart } from '../../report/svg.js';
import type { Comparison, Experiment, ExperimentContext, ScoreRow } from '../types.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { KIND_GROUPS, annotatedDocs, freshReader, hardItems, pretrainedReader, readingTokenizer } from './reading-common.js';

interface Settings extends Record<string, unknown> {
  /** 'pretrained': every arm starts from the base pipeline's pre-trained model; 'fresh': from the same randomly initialised GLM of `hidden` x `layers` */
  backbone: 'pretrained' | 'fresh';
  hidden: number;
  layers: number;
  docs: number;
  pretrain_steps: number;
  pretrain_batch: number;
  pretrain_lr: number;
  train_items: number;
  finetune_steps: number;
  finetune_batch: number;
  finetune_lr: number;
  test_items: number;
  resamples: number;
}

const ARMS = ['rept', 'mlm', 'clm'] as const;

export const rept: Experiment = {
  name: 'rept',
  paper: 'REPT: Bridging language models and machine reading comprehension via retrieval-based pre-training',
  claim: 'A reader pre-trained with REPT answers held-out multi-sentence world MRC questions more accurately than one pre-trained for the same steps with plain masked LM or the causal LM objective.',
  // measured 2026-12-06 from a fresh clone on an idle 2-core machine (docs/reading.md "Wall time"): 21.1 minutes, of which the base's pre-training 3.6
  minutes: { alone: 21, withBase: 18 },
  // the default backbone is the pipeline's pre-trained model ('fresh' never asks for the base)
  needs: 'pretrain',
  defaultSeeds: (quick) => (quick ? [0] : [0, 1]),
  // every arm starts from the base alone: they may run in worker processes, one thread each (a reader is too small for a second thread to pay: docs/reading.md "Wall time")
  independentArms: true,
  defaultJobs: (quick) => (quick ? 1 : 2),
  settings(quick) {
    return quick
      ? { backbone: 'fresh', hidden: 32, layers: 1, docs: 16, pretrain_steps: 2, pretrain_batch: 1, pretrain_lr: 2e-3, train_items: 12, finetune_steps: 2, finetune_batch: 2, finetune_lr: 2e-3, test_items: 8, resamples: 1000 }
      // chosen on validation items (task seed 77, never the test items), docs/reading.md "Choosing the rept defaults"
      : { backbone: 'pretrained', hidden: 64, layers: 2, docs: 2000, pretrain_steps: 200, pretrain_batch: 8, pretrain_lr: 5e-4, train_items: 1000, finetune_steps: 600, finetune_batch: 8, finetune_lr: 1e-3, test_items: 400, resamples: 2000 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    let tok: Tokenizer | null = null; // the fresh backbone's BPE tokenizer, built when first needed
    const pretrained = S.backbone === 'pretrained' ? (await ctx.base()).pretrainDir : null;
    const startReader = (seed: number) => (pretrained ? pretrainedReader(pretrained, seed) : freshReader((tok ??= readingTokenizer()), { hidden: S.hidden, layers: S.layers }, seed));
    const docs = annotatedDocs(S.docs, 1);
    const train = hardItems(S.train_items, 2);
    const test = hardItems(S.test_items, 903);
    const rows: ScoreRow[] = test.flatMap((it, i) => ctx.seeds.map((seed) => ({ item: i, seed, kind: it.kind, evidence: it.evidence.length } as ScoreRow)));
    const arms: Record<string, Record<string, unknown>> = {};
    for (const arm of ARMS) {
      for (const seed of ctx.seeds) {
        const r = await ctx.arm(`${arm}-seed${seed}`, { arm, seed, ...S }, async () => {
          const reader = startReader(seed); // the same backbone and heads for every arm of a seed
          const log = reptPretrain(reader, docs, { steps: S.pretrain_steps, batch: S.pretrain_batch, lr: S.pretrain_lr, seed, objective: arm, log: (s) => ctx.log(`${arm} seed ${seed} pretrain ${s}`) });
          const ft = trainMrc(reader, train, { steps: S.finetune_steps, batch: S.finetune_batch, lr: S.finetune_lr, seed, evidenceWeight: 0, log: (s) => ctx.log(`${arm} seed ${seed} finetune ${s}`) });
          const preds = predictMrc(reader, test);
          const last = log.slice(-Math.min(10, log.length));
          const avg = (k: 'prev' | 'next' | 'mlm') => last.reduce((a, x) => a + x[k], 0) / last.length;
          const correct = test.map((it, i) => Number(preds[i].predicted === it.answer));
          return {
            metrics: { accuracy: correct.reduce((a, b) => a + b, 0) / correct.length, pretrain_ssp_prev: avg('prev'), pretrain_ssp_next: avg('next'), pretrain_mlm: avg('mlm'), finetune_loss: ft.answerLoss.slice(-10).reduce((a, b) => a + b, 0) / Math.min(10, ft.answerLoss.length) },
            scores: correct.map((c, i) => ({ item: i, correct: c })),
          };
        });
        arms[`${arm}-seed${seed}`] = r.metrics;
        r.scores.forEach((s) => {
          rows.find((x) => x.item === s.item && x.seed === seed)![arm] = s.correct;
        });
      }
    }
    const col = (arm: string, keep: (r: ScoreRow) => boolean = () => true) => rows.filter(keep).map((r) => r[arm] as number);
    const comparisons: Comparison[] = [];
    const groups: [string, (r: ScoreRow) => boolean][] = [
      ['all items', () => true],
      ['multi-sentence evidence', (r) => (r.evidence as number) >= 2],
      ['single-sentence evidence', (r) => (r.evidence as number) === 1],
      ...(['multi_hop', 'pronoun', 'paraphrase'] as const).map((g) => [`${g} kinds`, (r: ScoreRow) => KIND_GROUPS[g].includes(r.kind as string)] as [string, (r: ScoreRow) => boolean]),
    ];
    for (const [label, keep] of groups) {
      for (const b of ['mlm', 'clm']) {
        const a = col('rept', keep), bb = col(b, keep);
        if (a.length < 2) continue; // too few items of the group for an interval (quick runs)
        const r = pairedBootstrap(a, bb, { resamples: S.resamples, seed: 0 });
        comparisons.push({ metric: `accuracy, ${label}`, a: 'REPT', b: b.toUpperCase(), diff: r.estimate, ci95: r.ci, n: r.n, claim: 'greater', margin: 0, method: 'paired bootstrap over prompts', verdict: verdictOf(r.ci, 'greater'), decides: label === 'all items' });
      }
    }
    const bar = (arm: string) => {
      const m = bootstrapMean(col(arm), { resamples: S.resamples });
      return { label: arm.toUpperCase(), value: m.estimate, ci: m.ci };
    };
    const acc = (arm: string, keep: (r: ScoreRow) => boolean) => {
      const c = col(arm, keep);
      return c.length ? (c.reduce((x, y) => x + y, 0) / c.length).toFixed(3) : 'n/a';
    };
    return {
      settings: S,
      arms,
      comparisons,
      plots: [{ file: 'accuracy.svg', caption: 'Held-out hard world MRC accuracy by pre-training objective (95% bootstrap CIs)', svg: barChart({ title: 'REPT vs MLM vs CLM pre-training', yLabel: 'accuracy', bars: ARMS.map(bar) }) }],
      notes: [
        `${S.docs} annotated world documents, ${S.pretrain_steps} pre-training steps x ${S.pretrain_batch} documents at lr ${S.pretrain_lr} per arm from ${pretrained ? 'the base pipeline\'s pre-trained model' : `the same fresh ${S.layers}-layer GLM (hidden ${S.hidden})`}; fine-tuned ${S.finetune_steps} steps x ${S.finetune_batch} at lr ${S.finetune_lr} on ${S.train_items} hard-kind items (answers only); ${test.length} held-out items x ${ctx.seeds.length} seed(s).`,
        `Accuracy per seed (${ctx.seeds.join(', ')}): ${ARMS.map((a) => `${a.toUpperCase()} ${ctx.seeds.map((sd) => (arms[`${a}-seed${sd}`].accuracy as number).toFixed(3)).join(', ')}`).join('; ')} (readers trained alike can differ by several points: read differences within that spread as noise).`,
        `Accuracy by group (REPT / MLM / CLM): ${groups.map(([label, keep]) => `${label} ${ARMS.map((a) => acc(a, keep)).join(' / ')}`).join('; ')}.`,
        pretrained
          ? 'The "causal LM as is" arm is the pre-trained causal LM continued for the same steps with its own next-token objective on the same documents (so every arm gets the same budget), then read bidirectionally like the others.'
          : 'The "causal LM as is" arm is the same backbone pre-trained for the same steps with the next-token objective (the objective GLM checkpoints come with), then read bidirectionally like the others.',
      ],
    };
  },
};
