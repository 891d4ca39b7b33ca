/**
 * Data-parallel training on every core. A small model's training step is a third JavaScript (op
 * dispatch, allocation, gradient sums) that one native pool cannot share, so two single-thread
 * processes trained ~1.3-1.6x the tokens/s of one two-thread process on the tiny preset
 * (docs/performance.md "Data-parallel training"). In pretrain, SFT, reward, DPO and EXO a step's
 * micro-batch is therefore split into W shards (src/trainers/base/shard-losses.ts): this thread runs
 * shard 0 and W-1 worker threads the others, each on its own replica with its kernels inline, and their gradients are added to this
 * thread's before clipping and the optimizer step, which stay here.
 *
 *   weights: copied into one SharedArrayBuffer per run before every micro-batch; each worker copies
 *            them into its replica (built once per run from the model's config)
 *   grads:   each worker writes its shard's gradients of the trained parameters into its own shared
 *            buffer; this thread adds them, worker 1 first, to its own
 *   sync:    as parallel generation: a job on a MessagePort, a shared flag set when the reply is posted
 *
 * A given W is deterministic (fixed shards, fixed summation order), so resume stays exact; runs with
 * different W agree up to float summation order (src/trainers/base/data-parallel.test.ts). Dense,
 * float32 GLMs (causal LM or reward model) take this path; MoE, vision and bf16 models train on one
 * thread. W is the config's `data_parallel` when set, else the generation thread count (the CLI:
 * one per native thread; a library process: 1).
 */
import { isMainThread, receiveMessageOnPort } from 'node:worker_threads';
import { TrainingError } from '../../errors.js';
import { generationThreads } from '../../generation/parallel-generate.js';
import { GlmForCausalLM, GlmForSequenceClassification } from '../../models/glm/model.js';
import { setNativeCallerInline } from '../../tensor/backend/native.js';
import { bf16ComputeEnabled } from '../../tensor/ops/precision.js';
import { Tensor } from '../../tensor/tensor.js';
import { spawnFlaggedWorker, type FlaggedWorker } from '../../util/module-worker.js';
import type { GlmConfig } from '../../models/glm/config.js';
import { shardLoss, type Shard } from './shard-losses.js';

/** What a training worker is sent per micro-batch. */
export interface TrainJob {
  runId: number;
  model: { kind: 'causal' | 'reward'; config: GlmConfig; numLabels: number };
  /** the model's tensors (stateDict order), float32, back to back */
  weights: SharedArrayBuffer;
  /** indices (stateDict order) of the trained tensors */
  trained: number[];
  /** this worker's gradients of the trained tensors, back to back */
  grads: SharedArrayBuffer;
  shard: Shard;
  /** the caller's bf16 compute setting (src/tensor/ops/precision.ts), so every shard runs as shard 0 */
  bf16Compute: boolean;
}

/** A worker's answer: its shard's shares of the micro-batch's values, or the error it hit. */
export type TrainReply = { lossValue: number; tokens: number; metrics: Record<string, number> } | { error: string };

export interface ParallelResult {
  /** this thread's shard loss (its backward has run) */
  loss: Tensor;
  lossValue: number;
  tokens: number;
  metrics: Record<string, number>;
}

const workers: FlaggedWorker[] = [];
let nextRunId = 1;

/** Threads a run with config value `configured` (0 = the generation thread count) trains on. */
export function dataParallelThreads(configured: number): number {
  return configured > 0 ? configured : generationThreads();
}

type ParallelModel = GlmForCausalLM | GlmForSequenceClassification;

export class DataParallel {
  private readonly runId = nextRunId++;
  private readonly tensors: Tensor[];
  private readonly trained: number[];
  private readonly weights: SharedArrayBuffer;
  private readonly grads: SharedArrayBuffer[];
  private readonly gradSize: number;

  private constructor(private readonly model: ParallelModel, trainedParams: readonly Tensor[], readonly threads: number) {
    this.tensors = [...model.stateDict().values()];
    // each trained tensor once, even if a model listed one tensor under two names
    const set = new Set(trainedParams);
    this.trained = this.tensors.flatMap((t, i) => (set.has(t) && this.tensors.indexOf(t) === i ? [i] : []));
    this.weights = new SharedArrayBuffer(4 * this.tensors.reduce((a, t) => a + t.size, 0));
    this.gradSize = this.trained.reduce((a, i) => a + this.tensors[i].size, 0);
    this.grads = Array.from({ length: threads - 1 }, () => new SharedArrayBuffer(4 * this.gradSize));
  }

  /**
   * A data-parallel runner over `threads` threads for `model`, or null when it trains on one thread:
   * fewer than 2 threads, a worker thread, or a model this path does not replicate (MoE, vision, bf16).
   */
  static create(model: unknown, trainedParams: readonly Tensor[], threads: number): DataParallel | null {
    if (threads < 2 || !isMainThread) return null;
    if (model?.constructor !== GlmForCausalLM && model?.constructor !== GlmForSequenceClassification) return null;
    const m = model as ParallelModel;
    if (m.config.modelType === 'glm4_moe') return null;
    for (const t of m.stateDict().values()) if (!(t.data instanceof Float32Array)) return null;
    return new DataParallel(m, trainedParams, threads);
  }

  /**
   * Runs shard 0 here (forward and backward) and the others on workers, then adds the workers'
   * gradients of the trained parameters to this thread's. At most `threads` shards.
   */
  run(shards: Shard[]): ParallelResult {
    if (shards.length < 1 || shards.length > this.threads) throw new TrainingError(`data-parallel: ${shards.length} shards for ${this.threads} threads`);
    this.copyWeights();
    const pool = ensureWorkers(shards.length - 1);
    const model = { kind: this.model instanceof GlmForCausalLM ? ('causal' as const) : ('reward' as const), config: this.model.config, numLabels: this.model instanceof GlmForSequenceClassification ? this.model.numLabels : 0 };
    for (let w = 1; w < shards.length; w++) {
      const g = pool[w - 1];
      Atomics.store(g.flag, 0, 0);
      const job: TrainJob = { runId: this.runId, model, weights: this.weights, trained: this.trained, grads: this.grads[w - 1], shard: shards[w], bf16Compute: bf16ComputeEnabled() };
      g.port.postMessage(job);
    }
    let mine;
    setNativeCallerInline(true);
    try {
      mine = shardLoss(this.model, shards[0]);
      if (Number.isFinite(mine.lossValue)) mine.loss.backward();
    } finally {
      setNativeCallerInline(false);
      for (let w = 1; w < shards.length; w++) Atomics.wait(pool[w - 1].flag, 0, 0);
    }
    // every answer is taken off its port before any error is thrown, so none is left for the next call
    const replies = pool.slice(0, shards.length - 1).map((g) => receiveMessageOnPort(g.port)?.message as TrainReply | undefined);
    let { lossValue, tokens } = mine;
    const metrics = { ...mine.metrics };
    replies.forEach((reply, i) => {
      if (!reply) throw new TrainingError(`data-parallel worker ${i + 1} signalled without an answer; set --data-parallel 1 to train on one thread`);
      if ('error' in reply) throw new TrainingError(`data-parallel worker ${i + 1}: ${reply.error}; set --data-parallel 1 to train on one thread`);
      lossValue += reply.lossValue;
      tokens += reply.tokens;
      for (const [k, v] of Object.entries(reply.metrics)) metrics[k] = (metrics[k] ?? 0) + v;
    });
    this.addGrads(shards.length - 1);
    return { loss: mine.loss, lossValue, tokens, metrics };
  }

  private copyWeights(): void {
    const f = new Float32Array(this.weights);
    let off = 0;
    for (const t of this.tensors) {
      f.set(t.data as Float32Array, off);
      off += t.size;
    }
  }

  /** grad = this thread's + worker 1's + ... (a new tensor: backward may share one gradient between parameters) */
  private addGrads(n: number): void {
    const views = this.grads.slice(0, n).map((b) => new Float32Array(b));
    let off = 0;
    for (const i of this.trained) {
      const p = this.tensors[i];
      const sum = p.grad ? Float32Array.from(p.grad.data as Float32Array) : new Float32Array(p.size);
      for (const v of views) {
        for (let j = 0; j < p.size; j++) sum[j] += v[off + j];
      }
      p.grad = new Tensor(sum, p.shape);
      off += p.size;
    }
  }
}

/** Starts workers until there are `n`. */
function ensureWorkers(n: number): FlaggedWorker[] {
  while (workers.length < n) workers.push(spawnFlaggedWorker(import.meta.url, 'train-worker', 'training'));
  return workers;
}
