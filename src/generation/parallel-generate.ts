/**
 * Generation on every core. Decoding a small model is bound by per-token work on the JS thread
 * (sampling, the autograd-free forward's bookkeeping) and by kernels too small to split across
 * native threads, so a second native thread buys nothing there (docs/performance.md "Generation
 * on every core"). Instead the rows of one `generate()` call are shared out to W JS threads: this
 * one and W-1 worker threads, each decoding its share with its kernels run inline on itself.
 *
 *   row b -> thread b % W        (interleaved, so long and short answers spread evenly)
 *   weights: this thread copies the model's tensors into one SharedArrayBuffer per model per call;
 *            a worker copies them into its own replica (built once per model from its config)
 *   sync:    each worker gets its job on a MessagePort, answers on it, then sets and notifies a
 *            shared flag; this thread blocks on the flag (Atomics.wait) and reads the answer with
 *            receiveMessageOnPort, so `generate()` stays synchronous
 *
 * Every sequence samples from its own random stream (`sequenceStreams`), so its tokens do not depend
 * on W beyond float rounding: a row's logits can move in the last bits with the shape of the batch
 * it is decoded in (as when finished rows leave a batch), which can turn a near-tie. A given W is
 * deterministic. `src/generation/parallel-generate.test.ts` checks W = 2 and 3 against W = 1.
 *
 * W is GLMKIT_GEN_THREADS when set (0 = all cores), else 1 in a library or test process; the CLI
 * starts with W = the native thread count and `useThreads(n)` (a command's --threads) sets both. Only dense, float32, text GLMs without a
 * routing record take this path; everything else decodes on the calling thread.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, receiveMessageOnPort } from 'node:worker_threads';
import { ConfigError, GlmkitError } from '../errors.js';
import { GlmForCausalLM } from '../models/glm/model.js';
import { nativeThreads, setNativeCallerInline, setNativeThreads } from '../tensor/backend/native.js';
import { spawnFlaggedWorker, type FlaggedWorker } from '../util/module-worker.js';
import { emptyResult, generateSequences, type GenerateOptions, type GenerateResult } from './generate.js';

/** What a generation worker is sent per call. */
export interface GenerationJob {
  modelId: number;
  config: GlmForCausalLM['config'];
  /** the model's tensors (stateDict order), float32, back to back */
  weights: SharedArrayBuffer;
  prompts: number[][];
  opts: GenerateOptions;
  base: number;
  indices: number[];
}

/** A worker's answer: the result of its rows, or the error it hit. */
export type GenerationReply = { result: GenerateResult } | { error: string };

/** null until first read: GLMKIT_GEN_THREADS is parsed then, so a bad value is a ConfigError of the call, not of the import */
let threads: number | null = null;
const workers: FlaggedWorker[] = [];
const shared = new WeakMap<GlmForCausalLM, { id: number; weights: SharedArrayBuffer }>();
let nextModelId = 1;

function parseThreads(v: string | undefined): number {
  if (v === undefined || v === '') return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`GLMKIT_GEN_THREADS must be an integer >= 0 (0 = all cores), got "${v}"`);
  return n === 0 ? availableParallelism() : n;
}

/** JS threads a `generate()` call shares its rows between (1 = this thread only; 0 = all cores). */
export function setGenerationThreads(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`generation threads must be an integer >= 0 (0 = all cores), got ${n}`);
  threads = n === 0 ? availableParallelism() : n;
}

/**
 * A command's thread count: the native pool's, and generation's unless GLMKIT_GEN_THREADS fixes it.
 * 0 leaves both as they are.
 */
export function useThreads(n: number): void {
  if (n <= 0) return;
  setNativeThreads(n);
  if (!process.env.GLMKIT_GEN_THREADS) setGenerationThreads(n);
}

/** At CLI start: generation on as many threads as the native pool has, unless GLMKIT_GEN_THREADS says. */
export function useCliThreads(): void {
  if (!process.env.GLMKIT_GEN_THREADS) setGenerationThreads(nativeThreads());
  else generationThreads();
}

export function generationThreads(): number {
  return (threads ??= parseThreads(process.env.GLMKIT_GEN_THREADS));
}

/**
 * Rows each thread gets at least: a small batch's time is its longest answer's steps times a per-step
 * cost every thread pays again, so splitting 8 rows gained nothing (docs/performance.md).
 */
export const MIN_ROWS_PER_THREAD = 8;

/** How many threads a call of `rows` rows on `model` uses, or null when it decodes on this thread alone. */
export function parallelShares(model: GlmForCausalLM, rows: number, opts: GenerateOptions): number | null {
  const W = Math.min(generationThreads(), Math.floor(rows / MIN_ROWS_PER_THREAD));
  if (W < 2 || !isMainThread) return null;
  if (model.constructor !== GlmForCausalLM || opts.recordRouting || model.moeLayers().length > 0) return null;
  for (const t of model.stateDict().values()) if (!(t.data instanceof Float32Array)) return null;
  return W;
}

/** `generate()` with its rows shared out to `W` threads (this one and W-1 workers). */
export function generateParallel(model: GlmForCausalLM, prompts: readonly (readonly number[])[], opts: GenerateOptions, base: number, W: number): GenerateResult {
  const { id, weights } = sharedWeights(model);
  const pool = ensureWorkers(W - 1);
  const shares = Array.from({ length: W }, (_, w) => prompts.map((_, b) => b).filter((b) => b % W === w));
  const sent = { maxNewTokens: opts.maxNewTokens, temperature: opts.temperature, topP: opts.topP, topK: opts.topK, stopTokens: opts.stopTokens ? [...opts.stopTokens] : undefined, padId: opts.padId, vocabLimit: opts.vocabLimit };
  for (let w = 1; w < W; w++) {
    const g = pool[w - 1];
    Atomics.store(g.flag, 0, 0);
    const job: GenerationJob = { modelId: id, config: model.config, weights, prompts: shares[w].map((b) => [...prompts[b]]), opts: sent, base, indices: shares[w] };
    g.port.postMessage(job);
  }
  let mine: GenerateResult;
  setNativeCallerInline(true);
  try {
    mine = generateSequences(model, shares[0].map((b) => prompts[b]), opts, base, shares[0]);
  } finally {
    setNativeCallerInline(false);
    for (let w = 1; w < W; w++) Atomics.wait(pool[w - 1].flag, 0, 0);
  }
  const out = emptyResult(prompts.length);
  const place = (r: GenerateResult, rows: number[]) => rows.forEach((b, k) => {
    out.tokens[b] = r.tokens[k];
    out.logprobs[b] = r.logprobs[k];
    out.finishReason[b] = r.finishReason[k];
  });
  place(mine, shares[0]);
  // every answer is taken off its port before any error is thrown, so none is left for the next call
  const replies = pool.slice(0, W - 1).map((g) => receiveMessageOnPort(g.port)?.message as GenerationReply | undefined);
  replies.forEach((reply, i) => {
    if (!reply) throw new GlmkitError('generation', `generation worker ${i + 1} signalled without an answer; set GLMKIT_GEN_THREADS=1 to generate on one thread`);
    if ('error' in reply) throw new GlmkitError('generation', `generation worker ${i + 1}: ${reply.error}; set GLMKIT_GEN_THREADS=1 to generate on one thread`);
    place(reply.result, shares[i + 1]);
  });
  return out;
}

/** The model's tensors copied into its shared buffer (allocated at the model's first parallel call). */
function sharedWeights(model: GlmForCausalLM): { id: number; weights: SharedArrayBuffer } {
  const tensors = [...model.stateDict().values()];
  let s = shared.get(model);
  if (!s) {
    const n = tensors.reduce((a, t) => a + t.size, 0);
    s = { id: nextModelId++, weights: new SharedArrayBuffer(n * 4) };
    shared.set(model, s);
  }
  const f = new Float32Array(s.weights);
  let off = 0;
  for (const t of tensors) {
    f.set(t.data as Float32Array, off);
    off += t.size;
  }
  return s;
}

/** Starts workers until there are `n`. */
function ensureWorkers(n: number): FlaggedWorker[] {
  while (workers.length < n) workers.push(spawnFlaggedWorker(import.meta.url, 'generate-worker', 'generation'));
  return workers;
}
