/**
 * `glmkit bench train --preset bench`: training tokens/s of a fixed GLM config (batch 8, sequence
 * 256, AdamW, fp32, random tokens), one warm-up step then timed steps. The same model in PyTorch
 * eager is bench/peers/torch_train.py, for the side-by-side figure. For dense (glm4) presets it
 * also reports the model FLOPs per token (trainingFlopsPerToken), the useful GFLOP/s they give at
 * the measured speed, and that as a share of the machine's measured FMA peak at the same thread
 * count (model FLOPs utilisation).
 * `--seq-lens 512,1024,2048,4096` times each length in a fresh child process (batch 1 unless
 * `--batch`), so each line's peak RSS is that length's own: attention keeps O(T) memory per head
 * (docs/long-context.md), so the peak grows linearly with T.
 */
import { spawnSync } from 'node:child_process';
import { UsageError } from '../errors.js';
import { loadPreset, type GlmConfig } from '../models/glm/config.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { HybridOptimizer } from '../optim/index.js';
import { getBackend } from '../tensor/backend/index.js';
import { nativeFmaPeak, nativeInfo, setNativeThreads } from '../tensor/backend/native.js';
import { withBf16Compute } from '../tensor/ops/precision.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import { DataParallel } from '../trainers/base/data-parallel.js';
import { lmShards } from '../trainers/base/shard-losses.js';
import { withBufferPool } from '../tensor/buffer-pool.js';

export interface BenchTrainOptions {
  preset?: string;
  threads?: number;
  json?: boolean;
  quick?: boolean;
  batch?: number;
  seqLen?: number;
  steps?: number;
  /** threads a step's batch is split over (data-parallel, src/trainers/base/data-parallel.ts); 1 = off */
  dataParallel?: number;
  /** bf16 compute in the forward and backward GEMMs (the trainers' --mixed-precision bf16) */
  bf16Compute?: boolean;
  /** false: every step allocates fresh buffers (the garbage collector's cost, for comparison); default: recycled (src/tensor/buffer-pool.ts) */
  bufferPool?: boolean;
}

/**
 * Training FLOPs per token of a dense GLM at sequence length T: 6 x the matmul weights (attention
 * projections, MLP, the head; not the embedding lookup) plus causal attention, whose forward does
 * QK^T and PV over T/2 keys on average (4 * T/2 * Hq * D per layer), times 3 with the backward.
 * The same count as bench/peers/torch_train.py. Null for MoE configs (routing makes it data-dependent).
 */
export function trainingFlopsPerToken(cfg: GlmConfig, T: number): number | null {
  if (cfg.modelType !== 'glm4') return null;
  const H = cfg.hiddenSize, q = cfg.numAttentionHeads * cfg.headDim, kv = cfg.numKeyValueHeads * cfg.headDim;
  const perLayer = H * q + 2 * H * kv + q * H + H * 2 * cfg.intermediateSize + cfg.intermediateSize * H;
  const matmul = cfg.numHiddenLayers * perLayer + H * cfg.vocabSize;
  return 6 * matmul + 6 * T * q * cfg.numHiddenLayers;
}

export async function benchTrain(opts: BenchTrainOptions, print: (line: string) => void): Promise<{ tokensPerS: number; peakRssMb: number }> {
  if (opts.threads) setNativeThreads(opts.threads);
  const preset = opts.preset ?? 'bench';
  const cfg = { ...loadPreset(preset), padTokenId: null, eosTokenId: null, bosTokenId: null };
  const B = opts.batch ?? 8, T = opts.seqLen ?? 256;
  const steps = opts.steps ?? (opts.quick ? 2 : 10);
  const model = new GlmForCausalLM(cfg, { seed: 0 });
  const opt = HybridOptimizer.forModel(model, { lr: 1e-4, muon: false, weightDecay: 0 });
  const rng = new Rng(0);
  const ids = Tensor.ids(Array.from({ length: B * T }, () => rng.int(cfg.vocabSize)), [B, T]);
  const targets = Tensor.ids(Array.from({ length: B * T }, () => rng.int(cfg.vocabSize)), [B, T]);
  const W = opts.dataParallel ?? 1;
  const dp = W > 1 ? DataParallel.create(model, model.parameters(), W) : null;
  if (W > 1 && !dp) throw new UsageError(`--data-parallel ${W}: the ${preset} preset trains on one thread only (MoE presets are not replicated); drop --data-parallel`);
  // data-parallel rows: packed sequences of T + 1 random tokens (the same work as ids/targets above)
  const rows = Array.from({ length: B }, () => ({ ids: Int32Array.from({ length: T + 1 }, () => rng.int(cfg.vocabSize)), mask: new Uint8Array(0) }));
  const step = (): number => {
    const t = performance.now();
    const run = () =>
      withBf16Compute(opts.bf16Compute ?? false, () => {
        if (dp) dp.run(lmShards(rows, true, W, { padId: 0, lengthGroups: 1, accumulation: 1 }));
        else model.forward(ids, { targets }).loss!.backward();
      });
    if (opts.bufferPool === false) run();
    else withBufferPool(run);
    opt.update();
    opt.zeroGrad();
    return (performance.now() - t) / 1000;
  };
  step(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    times.push(step());
    if (!opts.json) print(`step ${i + 1}/${steps}: ${(B * T / times[i]).toFixed(0)} tokens/s`);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const tokensPerS = (B * T) / median;
  const threads = nativeInfo()?.threads ?? 1;
  const fpt = trainingFlopsPerToken(cfg, T);
  const modelGflops = fpt === null ? null : (fpt * tokensPerS) / 1e9;
  const peak = getBackend().name === 'native' ? nativeFmaPeak(opts.quick ? 2_000_000 : 20_000_000) : null;
  const mfu = modelGflops !== null && peak ? modelGflops / peak : null;
  const peakRssMb = +(process.resourceUsage().maxRSS / 1024).toFixed(1);
  const result = {
    bench: 'train', impl: 'glmkit', preset, params: model.numParameters(), batch: B, seq_len: T, threads, data_parallel: W, mixed_precision: opts.bf16Compute ? 'bf16' : 'no', buffer_pool: opts.bufferPool !== false, backend: getBackend().describe(),
    step_ms_median: +(median * 1000).toFixed(1), step_ms_best: +(times[0] * 1000).toFixed(1), tokens_per_s: Math.round(tokensPerS), peak_rss_mb: peakRssMb,
    flops_per_token: fpt, model_gflops: modelGflops === null ? null : +modelGflops.toFixed(1),
    fma_peak_gflops: peak === null ? null : +peak.toFixed(1), mfu: mfu === null ? null : +mfu.toFixed(3),
  };
  const util = mfu === null ? '' : `, ${result.model_gflops} model GFLOP/s = ${(mfu * 100).toFixed(1)}% of the measured ${result.fma_peak_gflops} GFLOP/s FMA peak`;
  print(opts.json ? JSON.stringify(result) : `${preset}: ${result.tokens_per_s} tokens/s (median step ${result.step_ms_median} ms, ${threads} threads${W > 1 ? `, data-parallel over ${W}` : ''}${opts.bf16Compute ? ', bf16 compute' : ''}, ${result.params} parameters, batch ${B} x ${T} tokens, peak RSS ${peakRssMb} MB${util})`);
  if (opts.json) print(JSON.stringify({ tokens_per_s: result.tokens_per_s }));
  return { tokensPerS, peakRssMb };
}

/** Parses `--seq-lens 512,1024`: positive integers, at least one. */
export function parseSeqLens(s: string): number[] {
  const xs = s.split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 2)) {
    throw new UsageError(`bench train: --seq-lens expects a comma list of sequence lengths like 512,1024,2048,4096, got '${s}'`);
  }
  return xs;
}

export interface SeqLenRow {
  seq_len: number;
  batch: number;
  tokens_per_s: number;
  step_ms_median: number;
  peak_rss_mb: number;
}

/**
 * One `bench train --seq-len T --json` child per length (the same entry script and Node flags as
 * this process), so every peak RSS is measured in a fresh process. Prints a table (or JSON lines).
 */
export function benchTrainSeqLens(opts: BenchTrainOptions & { seqLens: number[] }, print: (line: string) => void): SeqLenRow[] {
  const rows: SeqLenRow[] = [];
  const B = opts.batch ?? 1;
  for (const T of opts.seqLens) {
    const args = [...process.execArgv, process.argv[1], 'bench', 'train', '--json', '--preset', opts.preset ?? 'tiny', '--seq-len', String(T), '--batch', String(B)];
    if (opts.threads) args.push('--threads', String(opts.threads));
    if (opts.quick) args.push('--quick');
    if (opts.steps) args.push('--steps', String(opts.steps));
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`bench train --seq-len ${T}: the child process failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`);
    const line = r.stdout.trim().split('\n').find((l) => l.includes('"bench":"train"'));
    if (!line) throw new Error(`bench train --seq-len ${T}: no result line in the child's output`);
    const j = JSON.parse(line) as Record<string, number>;
    const row = { seq_len: T, batch: B, tokens_per_s: j.tokens_per_s, step_ms_median: j.step_ms_median, peak_rss_mb: j.peak_rss_mb };
    rows.push(row);
    print(opts.json ? JSON.stringify({ bench: 'train-seq-lens', preset: opts.preset ?? 'tiny', ...row }) : `T=${String(T).padStart(5)}  batch ${B}  ${String(row.tokens_per_s).padStart(7)} tokens/s  step ${row.step_ms_median} ms  peak RSS ${row.peak_rss_mb} MB`);
  }
  return rows;
}
