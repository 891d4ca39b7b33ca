/**
 * muon-vs-adamw (GLM-4.5): Muon reaches a lower pre-training loss than AdamW at equal tokens.
 * Both optimizers are tuned on a small learning-rate grid (seed 0, validation loss on held-out world
 * documents); the chosen rate of each then trains at every seed, and the claim is tested on test
 * documents the selection never saw: per seed, AdamW's test loss minus Muon's, Student-t interval.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, writeJsonl } from '../../data/world/index.js';
import { loadCausalLM } from '../../models/glm/checkpoint.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { readMetrics } from '../../trainers/base/metrics.js';
import { PretrainTrainer, packText, packedLoss, pretrainSchema } from '../../trainers/pretrain/pretrain-trainer.js';
import { validationTestSplit } from '../../eval/splits.js';
import { tInterval, verdictOf } from '../stats.js';
import { barChart, xyChart, type XYSeries } from '../../report/svg.js';
import type { ArmResult, Comparison, Experiment, ExperimentContext } from '../types.js';

interface Settings extends Record<string, unknown> {
  learning_rates: { adamw: number[]; muon: number[] };
  steps: number;
  batch: number;
  seq_len: number;
  heldout_docs: number;
  seeds: number[];
}

interface ArmMetrics extends Record<string, unknown> {
  train_loss: number;
  validation_loss: number;
  test_loss: number;
  tokens: number;
}

const OPTIMIZERS = ['adamw', 'muon'] as const;
type Opt = (typeof OPTIMIZERS)[number];

export const muonVsAdamw: Experiment = {
  name: 'muon-vs-adamw',
  paper: 'GLM-4.5: Agentic, Reasoning, and Coding (ARC) Foundation Models',
  claim: 'Muon reaches a lower pre-training loss than AdamW at equal tokens, each at its best learning rate of a small grid.',
  // measured 2026-12-06 from a fresh clone on an idle 2-core machine (docs/experiments/results/README.md): 16.2 minutes
  minutes: { alone: 17, withBase: 16 },
  needs: 'init',
  defaultSeeds: (quick) => (quick ? [0, 1] : [0, 1, 2]),
  settings(quick) {
    return quick
      ? { learning_rates: { adamw: [3e-3], muon: [3e-3] }, steps: 3, batch: 4, seq_len: 64, heldout_docs: 60 }
      : { learning_rates: { adamw: [1e-3, 3e-3, 1e-2], muon: [1e-3, 3e-3, 1e-2] }, steps: 300, batch: 16, seq_len: 256, heldout_docs: 1200 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const tok = loadTokenizer(base.initDir);
    // held-out documents (the world's test split), halved by a hash of the text: validation picks the
    // learning rates, test reports the claim
    const dataDir = join(ctx.out, 'data');
    mkdirSync(dataDir, { recursive: true });
    const docs = generateWorldTask('pretrain', { n: S.heldout_docs, seed: 900, split: 'test' }) as { text: string }[];
    const halves = validationTestSplit(docs, (d) => d.text);
    await writeJsonl(join(dataDir, 'validation.jsonl'), halves.validation);
    await writeJsonl(join(dataDir, 'test.jsonl'), halves.test);
    const valSeqs = packText(join(dataDir, 'validation.jsonl'), tok, S.seq_len), testSeqs = packText(join(dataDir, 'test.jsonl'), tok, S.seq_len);
    const trainFile = join(base.dataDir, 'pretrain.jsonl');
    let trainSeqs: Int32Array[] | null = null;
    const arms: Record<string, ArmResult<ArmMetrics>> = {};
    const runArm = async (opt: Opt, lr: number, seed: number) => {
      const name = `${opt}-lr${lr}-s${seed}`;
      const config = { base: base.dir, optimizer: opt, learning_rate: lr, seed, steps: S.steps, batch: S.batch, seq_len: S.seq_len, heldout_docs: S.heldout_docs };
      arms[name] = await ctx.arm(name, config, async (dir) => {
        trainSeqs ??= packText(trainFile, tok, S.seq_len);
        // the same initial weights for both optimizers at a seed: the init model, re-seeded data order
        const model = loadCausalLM(base.initDir);
        const cfg = resolveConfig(pretrainSchema, { object: { model: base.initDir, data: trainFile, out: join(dir, 'train'), max_steps: S.steps, per_device_train_batch_size: S.batch, max_seq_length: S.seq_len, learning_rate: lr, warmup_steps: Math.max(1, Math.round(S.steps / 20)), optimizer: opt, seed, save_steps: 0, logging_steps: 1, quiet: true }, objectSource: 'muon-vs-adamw' });
        const r = await new PretrainTrainer(cfg, model, tok, trainSeqs, null).train();
        model.eval();
        const metrics: ArmMetrics = { train_loss: r.finalLoss, validation_loss: packedLoss(model, valSeqs, S.batch), test_loss: packedLoss(model, testSeqs, S.batch), tokens: r.tokens };
        return { metrics, scores: [{ split: 'validation', loss: metrics.validation_loss }, { split: 'test', loss: metrics.test_loss }] };
      });
      const m = arms[name].metrics;
      ctx.log(`muon-vs-adamw: ${name}: validation loss ${m.validation_loss.toFixed(4)}, test loss ${m.test_loss.toFixed(4)}`);
      return name;
    };
    const seed0 = S.seeds[0];
    const best: Record<Opt, number> = { adamw: NaN, muon: NaN };
    for (const opt of OPTIMIZERS) {
      const names: string[] = [];
      for (const lr of S.learning_rates[opt]) names.push(await runArm(opt, lr, seed0));
      const pick = names.reduce((a, b) => (arms[b].metrics.validation_loss < arms[a].metrics.validation_loss ? b : a));
      best[opt] = S.learning_rates[opt][names.indexOf(pick)];
    }
    for (const seed of S.seeds.slice(1)) for (const opt of OPTIMIZERS) await runArm(opt, best[opt], seed);
    return summarise(ctx, S, arms, best);
  },
};

function summarise(ctx: ExperimentContext, S: Settings, arms: Record<string, ArmResult<ArmMetrics>>, best: Record<Opt, number>) {
  const at = (opt: Opt, seed: number) => arms[`${opt}-lr${best[opt]}-s${seed}`].metrics;
  const diffs = S.seeds.map((s) => at('adamw', s).test_loss - at('muon', s).test_loss);
  const comparisons: Comparison[] = [];
  if (diffs.length >= 2) {
    const t = tInterval(diffs);
    comparisons.push({ metric: 'test loss (nats/token)', a: `adamw lr ${best.adamw}`, b: `muon lr ${best.muon}`, diff: t.estimate, ci95: t.ci, n: t.n, claim: 'greater', margin: 0, method: 't-interval over seeds', verdict: verdictOf(t.ci, 'greater'), decides: true });
  }
  const curve = (opt: Opt): XYSeries => ({
    name: `${opt} lr ${best[opt]}`,
    line: true,
    points: readMetrics(join(ctx.out, `${opt}-lr${best[opt]}-s${S.seeds[0]}`, 'train', 'metrics.jsonl')).filter((r) => typeof r.loss === 'number' && typeof r.num_tokens === 'number').map((r) => ({ x: r.num_tokens as number, y: r.loss as number })),
  });
  const grid = (opt: Opt): XYSeries => ({ name: opt, line: true, points: S.learning_rates[opt].map((lr) => ({ x: Math.log10(lr), y: arms[`${opt}-lr${lr}-s${S.seeds[0]}`].metrics.validation_loss, label: String(lr) })) });
  const plots = [
    { file: 'loss-curves.svg', caption: `Training loss against tokens at each optimizer's chosen learning rate (seed ${S.seeds[0]})`, svg: xyChart({ title: 'Pre-training loss vs tokens', xLabel: 'tokens', yLabel: 'training loss (nats/token)', series: OPTIMIZERS.map(curve) }) },
    { file: 'lr-grid.svg', caption: 'Validation loss over the learning-rate grid (the selection)', svg: xyChart({ title: 'Validation loss vs learning rate', xLabel: 'log10 learning rate', yLabel: 'validation loss (nats/token)', series: OPTIMIZERS.map(grid) }) },
    ...(comparisons.length ? [{ file: 'difference.svg', caption: 'AdamW minus Muon test loss, mean over seeds with a t-interval', svg: barChart({ title: 'AdamW − Muon test loss (95% CI over seeds)', yLabel: 'difference in test loss (nats/token)', bars: comparisons.map((c) => ({ label: 'adamw − muon', value: c.diff, ci: c.ci95 })) }) }] : []),
  ];
  const notes = [
    `Learning rates chosen by validation loss at seed ${S.seeds[0]}: AdamW ${best.adamw}, Muon ${best.muon} (grids ${S.learning_rates.adamw.join(', ')} and ${S.learning_rates.muon.join(', ')}).`,
    `Each run: ${S.steps} steps of ${S.batch} sequences of ${S.seq_len} tokens from the same initial model; per-seed test losses: AdamW ${S.seeds.map((s) => at('adamw', s).test_loss.toFixed(4)).join(', ')}; Muon ${S.seeds.map((s) => at('muon', s).test_loss.toFixed(4)).join(', ')}.`,
    ...(comparisons.length ? [] : ['One seed only: no interval across seeds, so no verdict (pass --seeds with at least two).']),
  ];
  return { settings: S, arms: Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, v.metrics])), comparisons, plots, notes };
}
