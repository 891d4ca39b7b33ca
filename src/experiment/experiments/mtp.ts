/**
 * mtp (GLM-4.5): a multi-token-prediction layer does not hurt the next-token loss, and its draft of
 * token t+2 is accepted often enough to pay for itself in speculative decoding.
 * Two arms per seed from the same initial GLM-4.5 MoE model (tiny-moe preset, with one MTP layer):
 * pre-trained with the MTP loss (weight `mtp_weight`) and without it (weight 0). Claims, tested on
 * held-out documents across seeds (Student-t intervals):
 *   1. non-inferiority: test loss (MTP) - test loss (no MTP) < `loss_margin` nats/token;
 *   2. the greedy accept rate of the MTP draft exceeds its cost: with one drafted token per step a
 *      decode step yields 1 + a tokens for 1 + c forward-equivalents, a speed-up when a > c, with c
 *      the MTP layer's share of the main model's per-token matrix FLOPs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorldTask, writeJsonl } from '../../data/world/index.js';
import { initModelForTokenizer } from '../../models/glm/init-model.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import { noGrad } from '../../tensor/autograd.js';
import { loadTokenizer } from '../../tokenizer/tokenizer-json.js';
import { resolveConfig } from '../../trainers/base/config.js';
import { PretrainTrainer, packText, packedBatch, packedLoss, pretrainSchema } from '../../trainers/pretrain/pretrain-trainer.js';
import { tInterval, verdictOf } from '../stats.js';
import { compareSpeculative } from '../../generation/speculative.js';
import { barChart } from '../../report/svg.js';
import type { ArmResult, Comparison, Experiment, ExperimentContext } from '../types.js';

interface Settings extends Record<string, unknown> {
  preset: string;
  steps: number;
  batch: number;
  seq_len: number;
  learning_rate: number;
  mtp_weight: number;
  loss_margin: number;
  heldout_docs: number;
  /** speculative decoding measurement: prompts (first 32 tokens of held-out sequences) and tokens each */
  decode_prompts: number;
  decode_tokens: number;
  seeds: number[];
}

interface ArmMetrics extends Record<string, unknown> {
  test_loss: number;
  test_mtp_accept_rate: number;
  train_loss: number;
  /** MTP arms: greedy speculative decoding on held-out prompts, measured (batch 1) */
  speculative_speedup?: number;
  speculative_accept_rate?: number;
  speculative_identical?: boolean;
}

/** Share of greedy MTP drafts (token t+2 from h_t and token t+1) equal to the main model's greedy token t+2. */
export function mtpAcceptRate(model: GlmForCausalLM, seqs: Int32Array[], bs: number): number {
  return noGrad(() => {
    let hit = 0, n = 0;
    for (let i = 0; i < seqs.length; i += bs) {
      const batch = packedBatch(seqs.slice(i, i + bs));
      const [B, T] = batch.ids.shape;
      const out = model.forward(batch.ids);
      const main = out.logits!.data, draft = model.mtpLogits(batch.ids, out.hidden).data;
      const V = model.config.vocabSize;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t + 1 < T; t++) {
          // draft row (b, t) predicts token t+2; the main model predicts it at position t+1
          if (argmax(draft, (b * (T - 1) + t) * V, V) === argmax(main, (b * T + t + 1) * V, V)) hit++;
          n++;
        }
      }
    }
    return hit / n;
  });
}

function argmax(x: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[off + i] > x[off + best]) best = i;
  return best;
}

/** Seed of the held-out world documents the MTP claim is measured on (test split; also `bench generate --mtp-model`'s prompts). */
export const MTP_HELDOUT_SEED = 910;

/** The MTP layer's matrix FLOPs per token as a share of the main model's (embeddings excluded, heads included). */
export function mtpCostShare(model: GlmForCausalLM): number {
  const c = model.config;
  const mtpPrefix = `model.layers.${c.numHiddenLayers}.`;
  // routed experts run num_experts_per_tok of n_routed_experts per token
  const routedShare = c.nRoutedExperts > 0 ? c.numExpertsPerTok / c.nRoutedExperts : 1;
  let main = 0, mtp = 0;
  for (const [name, t] of model.stateDict()) {
    if (t.shape.length !== 2 || name.includes('embed_tokens')) continue;
    const active = /\.mlp\.experts\./.test(name) ? t.size * routedShare : t.size;
    if (name.startsWith(mtpPrefix)) mtp += active;
    else main += active;
  }
  return mtp / main;
}

export const mtp: Experiment = {
  name: 'mtp',
  paper: 'GLM-4.5: Agentic, Reasoning, and Coding (ARC) Foundation Models',
  claim: 'An MTP layer trained alongside the model does not hurt the next-token loss, and its greedy draft is accepted more often than its cost, so speculative decoding with it is faster.',
  // measured 2026-12-06 from a fresh clone on an idle 2-core machine (docs/experiments/results/README.md): 26.3 minutes
  minutes: { alone: 27, withBase: 26 },
  needs: 'init',
  defaultSeeds: (quick) => (quick ? [0, 1] : [0, 1, 2]),
  settings(quick) {
    return quick
      ? { preset: 'tiny-moe', steps: 3, batch: 4, seq_len: 64, learning_rate: 3e-3, mtp_weight: 0.3, loss_margin: 0.02, heldout_docs: 60, decode_prompts: 2, decode_tokens: 8 }
      : { preset: 'tiny-moe', steps: 300, batch: 16, seq_len: 256, learning_rate: 3e-3, mtp_weight: 0.3, loss_margin: 0.02, heldout_docs: 600, decode_prompts: 16, decode_tokens: 128 };
  },
  async run(ctx: ExperimentContext, raw) {
    const S = raw as Settings;
    const base = await ctx.base();
    const tok = loadTokenizer(base.initDir);
    const dataDir = join(ctx.out, 'data');
    mkdirSync(dataDir, { recursive: true });
    await writeJsonl(join(dataDir, 'test.jsonl'), generateWorldTask('pretrain', { n: S.heldout_docs, seed: MTP_HELDOUT_SEED, split: 'test' }));
    const trainFile = join(base.dataDir, 'pretrain.jsonl');
    const testSeqs = packText(join(dataDir, 'test.jsonl'), tok, S.seq_len);
    let trainSeqs: Int32Array[] | null = null;
    const arms: Record<string, ArmResult<ArmMetrics>> = {};
    for (const seed of S.seeds) {
      for (const withMtp of [true, false]) {
        const name = `${withMtp ? 'mtp' : 'no-mtp'}-s${seed}`;
        const weight = withMtp ? S.mtp_weight : 0;
        arms[name] = await ctx.arm(name, { base: base.dir, preset: S.preset, seed, mtp_weight: weight, steps: S.steps, batch: S.batch, seq_len: S.seq_len, learning_rate: S.learning_rate, heldout_docs: S.heldout_docs }, async (dir) => {
          trainSeqs ??= packText(trainFile, tok, S.seq_len);
          const model = initModelForTokenizer(S.preset, tok, seed);
          const cfg = resolveConfig(pretrainSchema, { object: { model: base.initDir, data: trainFile, out: join(dir, 'train'), max_steps: S.steps, per_device_train_batch_size: S.batch, max_seq_length: S.seq_len, learning_rate: S.learning_rate, warmup_steps: Math.max(1, Math.round(S.steps / 20)), optimizer: 'muon', mtp_weight: weight, seed, save_steps: 0, logging_steps: 1, quiet: true }, objectSource: 'mtp' });
          const r = await new PretrainTrainer(cfg, model, tok, trainSeqs, null).train();
          model.eval();
          const metrics: ArmMetrics = { train_loss: r.finalLoss, test_loss: packedLoss(model, testSeqs, S.batch), test_mtp_accept_rate: mtpAcceptRate(model, testSeqs, S.batch) };
          if (withMtp) {
            const prompts = testSeqs.slice(0, S.decode_prompts).map((q) => Array.from(q.subarray(0, 32)));
            const c = compareSpeculative(model, prompts, S.decode_tokens);
            Object.assign(metrics, { speculative_speedup: c.plainSeconds / c.speculativeSeconds, speculative_accept_rate: c.accepted / Math.max(1, c.drafted), speculative_identical: c.identical });
          }
          return { metrics, scores: [{ split: 'test', loss: metrics.test_loss, accept_rate: metrics.test_mtp_accept_rate }] };
        });
        const m = arms[name].metrics;
        ctx.log(`mtp: ${name}: test loss ${m.test_loss.toFixed(4)}, MTP draft accept rate ${m.test_mtp_accept_rate.toFixed(3)}` + (m.speculative_speedup !== undefined ? `; speculative decoding ${m.speculative_speedup.toFixed(2)}x, accept rate ${m.speculative_accept_rate!.toFixed(3)}, output identical: ${m.speculative_identical}` : ''));
      }
    }
    const cost = mtpCostShare(initModelForTokenizer(S.preset, tok, 0));
    const comparisons: Comparison[] = [];
    const lossDiffs = S.seeds.map((s) => arms[`mtp-s${s}`].metrics.test_loss - arms[`no-mtp-s${s}`].metrics.test_loss);
    const accept = S.seeds.map((s) => arms[`mtp-s${s}`].metrics.test_mtp_accept_rate);
    const speedups = S.seeds.map((s) => arms[`mtp-s${s}`].metrics.speculative_speedup ?? NaN);
    if (S.seeds.length >= 2) {
      const l = tInterval(lossDiffs), a = tInterval(accept);
      comparisons.push(
        { metric: 'test loss (nats/token)', a: 'mtp', b: 'no-mtp', diff: l.estimate, ci95: l.ci, n: l.n, claim: 'less', margin: S.loss_margin, method: 't-interval over seeds', verdict: verdictOf(l.ci, 'less', S.loss_margin), decides: true },
        { metric: 'MTP draft accept rate minus its cost share', a: 'mtp accept rate', b: `cost ${cost.toFixed(3)}`, diff: a.estimate - cost, ci95: [a.ci[0] - cost, a.ci[1] - cost], n: a.n, claim: 'greater', margin: 0, method: 't-interval over seeds', verdict: verdictOf([a.ci[0] - cost, a.ci[1] - cost], 'greater'), decides: true },
      );
      if (speedups.every(Number.isFinite)) {
        const sp = tInterval(speedups);
        const ci: [number, number] = [sp.ci[0] - 1, sp.ci[1] - 1];
        comparisons.push({ metric: 'speculative decoding speed-up minus 1 (plain / speculative wall time, greedy, batch 1)', a: 'speculative', b: 'plain', diff: sp.estimate - 1, ci95: ci, n: sp.n, claim: 'greater', margin: 0, method: 't-interval over seeds', verdict: verdictOf(ci, 'greater'), decides: true });
      }
    }
    const meanAccept = accept.reduce((x, y) => x + y, 0) / accept.length;
    return {
      settings: S,
      arms: Object.fromEntries(Object.entries(arms).map(([k, v]) => [k, v.metrics])),
      comparisons,
      plots: comparisons.length
        ? [
            { file: 'loss-difference.svg', caption: `Test loss with minus without the MTP loss (non-inferiority margin ${S.loss_margin})`, svg: barChart({ title: 'Test loss: MTP − no MTP (95% CI over seeds)', yLabel: 'difference in nats/token', bars: [{ label: 'mtp − no-mtp', value: comparisons[0].diff, ci: comparisons[0].ci95 }, { label: 'margin', value: S.loss_margin }] }) },
            { file: 'accept-rate.svg', caption: 'Greedy accept rate of the MTP draft against its cost share (a speed-up needs rate > cost)', svg: barChart({ title: 'MTP draft accept rate vs cost (95% CI over seeds)', yLabel: 'share', bars: [{ label: 'accept rate', value: meanAccept, ci: [comparisons[1].ci95[0] + cost, comparisons[1].ci95[1] + cost] }, { label: 'cost share', value: cost }] }) },
          ]
        : [],
      notes: [
        `${S.preset}, ${S.steps} steps of ${S.batch} x ${S.seq_len} tokens (Muon, lr ${S.learning_rate}) per arm; the MTP arm adds ${S.mtp_weight} x the MTP loss. Test loss differences per seed: ${lossDiffs.map((d) => d.toFixed(4)).join(', ')}.`,
        `MTP draft accept rate per seed: ${accept.map((a) => a.toFixed(3)).join(', ')}; the MTP layer costs ${cost.toFixed(3)} of a main forward per token, so one drafted token per step would decode about ${((1 + meanAccept) / (1 + cost)).toFixed(2)}x as many tokens per unit of compute.`,
        `Measured greedy speculative decoding (batch 1, ${S.decode_prompts} held-out prompts of 32 tokens, ${S.decode_tokens} new tokens each, src/generation/speculative.ts): speed-up per seed ${speedups.map((x) => x.toFixed(2)).join(', ')}; output identical to plain decoding: ${S.seeds.every((s) => arms[`mtp-s${s}`].metrics.speculative_identical !== false)}.`,
        ...(comparisons.length ? [] : ['One seed only: no interval across seeds, so no verdict (pass --seeds with at least two).']),
      ],
    };
  },
};
