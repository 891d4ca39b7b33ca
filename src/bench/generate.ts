/**
 * `glmkit bench generate`: decode tokens/s of glmkit's generate() at batch 1 and batch 8 for the
 * tiny and small presets, side by side with llama.cpp (node-llama-cpp, CPU) on glmkit's GGUF export
 * of the same weights, in the same run and with the same thread count. Decode speed excludes the
 * prompt: rate = (tokens after the first) / (time after the first token). With `--dtypes f32,bf16`
 * each preset is also timed with its matrices held in bf16 (glmkit --dtype bf16) against llama.cpp
 * on a BF16 GGUF of the same weights; `bf16-dot` is the same bf16 model with the opt-in AVX512_BF16
 * dot products (GLMKIT_BF16_DOT=1, bf16-rounded activations) against the same BF16 GGUF. With `voters`, each preset also gets a SEQA-style row
 * (src/bench/voters.ts): N voters after one shared prefix, in voters/s, beside the model's plain
 * forward tokens/s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorldTask } from '../data/world/index.js';
import { field } from '../trainers/base/config.js';
import { loadPreset } from '../models/glm/config.js';
import { castWeights, saveModel, type WeightDtype } from '../models/glm/checkpoint.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { generate } from '../generation/generate.js';
import { nativeInfo } from '../tensor/backend/native.js';
import { useThreads } from '../generation/parallel-generate.js';
import { setBf16Dot } from '../tensor/ops/bf16.js';
import { trainBpeFromTexts } from '../tokenizer/bpe-train.js';
import { saveTokenizer } from '../tokenizer/tokenizer-json.js';
import { Rng } from '../util/rng.js';
import { exportGguf } from '../cli/export.js';
import { UsageError } from '../errors.js';
import { benchVoters } from './voters.js';
import { median } from './timing.js';
import { benchMtp } from './generate-mtp.js';

export interface BenchGenerateOptions {
  presets?: string[];
  /** new tokens per sequence (default 128; 32 with quick) */
  tokens?: number;
  threads?: number;
  json?: boolean;
  quick?: boolean;
  /** skip llama.cpp (when node-llama-cpp is not installed) */
  noLlama?: boolean;
  /** weight dtypes to time (default f32 only); bf16-dot: bf16 weights with the opt-in bf16 dot products */
  dtypes?: BenchDtype[];
  /** SEQA-style sampling: this many voters after one prefix (absent or 0: not timed) */
  voters?: number;
  /** tokens per voter (default 24) */
  voterTokens?: number;
  /** interleaved glmkit / llama.cpp repetitions per row (default 3; 2 with quick) */
  reps?: number;
  /** a trained model folder with an MTP layer: adds a plain-vs-speculative row (src/bench/generate-mtp.ts) */
  mtpModel?: string;
}

export type BenchDtype = WeightDtype | 'bf16-dot';

interface Rate {
  tokensPerS: number;
  tokens: number;
}

function glmkitRate(model: GlmForCausalLM, prompts: number[][], n: number): Rate {
  const time = (k: number) => {
    const t = performance.now();
    generate(model, prompts, { maxNewTokens: k, temperature: 0, logprobs: false }); // llama.cpp computes none either
    return (performance.now() - t) / 1000;
  };
  time(2); // warm-up
  const t1 = Math.min(time(1), time(1), time(1));
  const tn = time(n);
  return { tokensPerS: (prompts.length * (n - 1)) / Math.max(tn - t1, 1e-9), tokens: prompts.length * n };
}

type LlamaModule = typeof import('node-llama-cpp');

async function llamaRate(mod: LlamaModule, llama: Awaited<ReturnType<LlamaModule['getLlama']>>, gguf: string, prompts: number[][], n: number, threads: number): Promise<Rate> {
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: 64 + prompts[0].length + n, sequences: prompts.length, threads, batchSize: 512, flashAttention: false });
  try {
    const seqs = prompts.map(() => ctx.getSequence());
    const run = async () => {
      const firsts: number[] = [], counts: number[] = [];
      await Promise.all(seqs.map(async (seq, i) => {
        await seq.clearHistory();
        let c = 0;
        for await (const _ of seq.evaluate(prompts[i] as unknown as import('node-llama-cpp').Token[], { temperature: 0 })) {
          if (c === 0) firsts[i] = performance.now();
          if (++c >= n) break;
        }
        counts[i] = c;
      }));
      const end = performance.now();
      const first = Math.max(...firsts);
      return { tokensPerS: (counts.reduce((a, b) => a + b, 0) - prompts.length) / Math.max((end - first) / 1000, 1e-9), tokens: counts.reduce((a, b) => a + b, 0) };
    };
    await run(); // warm-up
    const r = await run();
    return { tokensPerS: r.tokensPerS, tokens: r.tokens };
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
  void mod;
}

export async function benchGenerate(opts: BenchGenerateOptions, print: (line: string) => void): Promise<Record<string, unknown>[]> {
  const threads = opts.threads ?? 1;
  useThreads(threads);
  // with only --mtp-model, only its row
  const presets = opts.presets ?? (opts.mtpModel ? [] : ['tiny', 'small']);
  const n = opts.tokens ?? (opts.quick ? 32 : 128);
  let mod: LlamaModule | null = null;
  let llama: Awaited<ReturnType<LlamaModule['getLlama']>> | null = null;
  let llamaError: string | null = null;
  if (!opts.noLlama && presets.length > 0) {
    try {
      mod = await import('node-llama-cpp');
      llama = await mod.getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, logLevel: mod.LlamaLogLevel.error, progressLogs: false });
    } catch (e) {
      llamaError = `llama.cpp unavailable: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  // the presets' tokenizer corpus (none needed for an --mtp-model row alone)
  const texts = presets.length === 0 ? [] : (generateWorldTask('pretrain', { n: opts.quick ? 300 : 1500, seed: 1 }) as { text: string }[]).map((d) => d.text);
  const work = mkdtempSync(join(tmpdir(), 'glmkit-bench-gen-'));
  const results: Record<string, unknown>[] = [];
  try {
    for (const preset of presets) {
      const base = loadPreset(preset);
      const tok = trainBpeFromTexts(texts, { vocabSize: base.vocabSize });
      // The model's vocabulary is the tokenizer's (the world corpus may not fill the preset's).
      const cfg = { ...base, vocabSize: tok.vocabSize, padTokenId: null, eosTokenId: null, bosTokenId: null };
      for (const dtype of opts.dtypes ?? ['f32']) {
        const weights: WeightDtype = dtype === 'bf16-dot' ? 'bf16' : dtype;
        setBf16Dot(dtype === 'bf16-dot');
        const model = new GlmForCausalLM(cfg, { seed: 0 }).eval();
        if (weights === 'bf16') castWeights(model, 'bf16');
        const dir = join(work, `${preset}-${dtype}`);
        saveModel(dir, model);
        saveTokenizer(tok, dir);
        const gguf = join(work, `${preset}-${dtype}.gguf`);
        exportGguf(dir, gguf, { fileType: weights });
        const rng = new Rng(1);
        const prompt = () => Array.from({ length: 16 }, () => rng.int(tok.vocabSize - 64));
        for (const batch of [1, 8]) {
          const prompts = Array.from({ length: batch }, prompt);
          // Interleaved repetitions, medians reported: the machine may be shared and noisy.
          const reps = opts.reps ?? (opts.quick ? 2 : 3);
          const gs: number[] = [], ls: number[] = [];
          let llamaTokens = 0;
          for (let r = 0; r < reps; r++) {
            gs.push(glmkitRate(model, prompts, n).tokensPerS);
            if (llama && mod) {
              const l = await llamaRate(mod, llama, gguf, prompts, n, threads);
              ls.push(l.tokensPerS);
              llamaTokens = l.tokens;
            }
          }
          const g = median(gs);
          const row: Record<string, unknown> = {
            bench: 'generate', preset, dtype, ...(dtype === 'bf16-dot' ? { bf16_dot: nativeInfo()?.bf16Dot ?? 'no native backend' } : {}), weight_mb: +(model.parameterBytes() / 2 ** 20).toFixed(1), params: model.numParameters(), vocab: cfg.vocabSize, batch, new_tokens: n, threads: nativeInfo()?.threads ?? threads, reps,
            glmkit_tokens_per_s: Math.round(g),
          };
          if (ls.length > 0) {
            const l = median(ls);
            row.llamacpp_tokens_per_s = Math.round(l);
            row.llamacpp_tokens = llamaTokens;
            row.ratio = +(g / l).toFixed(3);
            // the median of the per-repetition ratios: each pair ran back to back, so it is the figure
            // least moved by a load that changes between repetitions
            row.pair_ratio = +median(gs.map((x, i) => x / ls[i])).toFixed(3);
            // and the best repetition of each (the one the load touched least)
            row.glmkit_best_tokens_per_s = Math.round(Math.max(...gs));
            row.llamacpp_best_tokens_per_s = Math.round(Math.max(...ls));
            row.best_ratio = +(Math.max(...gs) / Math.max(...ls)).toFixed(3);
          } else {
            row.llamacpp = llamaError ?? 'skipped (--no-llama)';
          }
          results.push(row);
          print(opts.json ? JSON.stringify(row) : `${preset} ${dtype} batch ${batch}: glmkit ${row.glmkit_tokens_per_s} tok/s` + (row.llamacpp_tokens_per_s !== undefined ? `, llama.cpp ${row.llamacpp_tokens_per_s} tok/s, ratio ${row.ratio}` : ` (${row.llamacpp})`));
        }
        if (opts.voters) {
          const r = benchVoters(model, { voters: opts.voters, voterTokens: opts.voterTokens ?? 24, prefixTokens: 24, reps: opts.quick ? 2 : 3, vocabLimit: tok.vocabSize });
          const row = { bench: 'generate-voters', preset, dtype, params: model.numParameters(), threads: nativeInfo()?.threads ?? threads, ...r };
          results.push(row);
          print(opts.json ? JSON.stringify(row) : `${preset} ${dtype} SEQA voters: ${r.voters_per_s} voters/s (${r.voters} voters x ${r.voter_tokens} tokens after one ${r.prefix_tokens}-token prefix, ${r.voter_tokens_per_s} tok/s; prefix per row: ${r.voters_per_s_unshared} voters/s; plain forward ${r.forward_tokens_per_s} tok/s)`);
        }
      }
    }
    if (opts.mtpModel) {
      const row = benchMtp(opts.mtpModel, { tokens: n, prompts: opts.quick ? 2 : 8, reps: opts.reps ?? (opts.quick ? 1 : 3) });
      results.push(row);
      print(opts.json ? JSON.stringify(row) : `MTP speculative decoding (${opts.mtpModel}, batch 1, greedy): plain ${row.plain_tokens_per_s} tok/s, speculative ${row.speculative_tokens_per_s} tok/s, speed-up ${row.speedup}, accept rate ${row.accept_rate} (MTP cost share ${row.mtp_cost_share}), output identical: ${row.identical}`);
    }
  } finally {
    setBf16Dot(null);
    await llama?.dispose();
    rmSync(work, { recursive: true, force: true });
  }
  return results;
}

const spec = {
  name: 'bench generate',
  usage: 'glmkit bench generate [--presets tiny,small] [--dtypes f32,bf16,bf16-dot] [--tokens N] [--threads N] [--reps N] [--voters N] [--mtp-model DIR] [--json] [--quick] [--no-llama]',
  description:
    "Decode tokens/s of glmkit (batch 1 and 8) and of llama.cpp (node-llama-cpp, CPU) on glmkit's GGUF\nexport of the same random weights; ratio = glmkit / llama.cpp. Both use --threads.\nWith --voters N (default 32; 0 = off): SEQA-style sampling, N voters of --voter-tokens after one shared\nprefix, in voters/s, beside the prefix-per-row path and the model's plain forward tokens/s.\nWith --mtp-model DIR (a trained glm4_moe folder with an MTP layer, e.g. an mtp experiment arm's train/final):\ngreedy batch-1 decoding plain against MTP-speculative on held-out world text (only that row unless --presets is given).",
  schema: {
    presets: field<string | null>('string', null, 'comma-separated presets (default tiny,small)', { nullable: true, placeholder: 'list' }),
    dtypes: field('string', 'f32', 'weight dtypes to time, comma separated: f32, bf16, bf16-dot (bf16: glmkit --dtype bf16 vs llama.cpp on a BF16 GGUF; bf16-dot: the same with GLMKIT_BF16_DOT=1)'),
    tokens: field<number | null>('int', null, 'tokens decoded per measurement', { nullable: true, min: 2 }),
    threads: field('int', 1, 'native threads of both', { min: 1 }),
    reps: field<number | null>('int', null, 'interleaved glmkit / llama.cpp repetitions per row (default 3, 2 with --quick); pair_ratio is the median of their ratios', { nullable: true, min: 1 }),
    json: field('boolean', false, 'one JSON object per line'),
    quick: field('boolean', false, 'fewer repetitions (a smoke run)'),
    llama: field('boolean', true, 'also time llama.cpp (--no-llama skips it)'),
    voters: field('int', 32, 'SEQA-style rows: voters sampled after one prefix (0 = none)', { min: 0 }),
    voter_tokens: field('int', 24, 'tokens per voter', { min: 1 }),
    mtp_model: field<string | null>('path', null, 'a trained model folder with an MTP layer: plain vs speculative decoding row', { nullable: true, placeholder: 'dir' }),
  },
};

export async function benchGenerateCommand(argv: string[]): Promise<number> {
  const { parseCommand } = await import('../cli/args.js');
  const parsed = parseCommand(spec, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  await benchGenerate({
    presets: v.presets?.split(',').filter(Boolean), tokens: v.tokens ?? undefined,
    threads: v.threads, reps: v.reps ?? undefined, json: v.json, quick: v.quick, noLlama: !v.llama, dtypes: parseDtypes(v.dtypes), voters: v.voters, voterTokens: v.voter_tokens, mtpModel: v.mtp_model ?? undefined,
  }, (l) => console.log(l));
  return 0;
}

function parseDtypes(list: string): BenchDtype[] {
  const out = list.split(',').map((d) => d.trim()).filter(Boolean);
  for (const d of out) if (d !== 'f32' && d !== 'bf16' && d !== 'bf16-dot') throw new UsageError(`bench generate: --dtypes takes f32, bf16 and/or bf16-dot (comma separated), got '${d}'`);
  if (out.length === 0) throw new UsageError('bench generate: --dtypes is empty; give f32, bf16, bf16-dot or a comma-separated list of them');
  return out as BenchDtype[];
}
