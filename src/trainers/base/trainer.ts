/**
 * The one training loop every method shares (docs/architecture.md "Training"):
 *   for each step: LR -> (eval / checkpoint when due) -> micro-batches with gradient accumulation
 *   -> clip -> optimizer step -> MoE bias update -> log.
 * Methods subclass Trainer and implement `microBatchLoss` (and optionally `evaluate`); everything
 * else — checkpoints, resume, metrics, schedules — lives here once.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { setNativeThreads } from '../../tensor/backend/native.js';
import { getBackend } from '../../tensor/backend/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Rng } from '../../util/rng.js';
import type { Module } from '../../nn/module.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import { loadModel, saveModel, type GlmModelKind } from '../../models/glm/checkpoint.js';
import { saveTokenizer } from '../../tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { listCheckpoints, loadCheckpoint, pruneCheckpoints, saveCheckpoint } from './checkpoint.js';
import { DataCursor } from './cursor.js';
import { MetricsLog, Progress, type Metrics } from './metrics.js';
import { buildOptimizer, clipGradNorm, learningRateAt, type TrainOptimizer } from './optimizer.js';
import type { Values } from './config.js';
import type { BaseSchema } from './schema.js';

export type BaseConfig = Values<BaseSchema>;

export interface MicroBatchResult {
  /** scalar loss of this micro-batch, already scaled for accumulation (the loop only calls backward) */
  loss: Tensor;
  /** unscaled loss value to log */
  lossValue: number;
  /** tokens processed (for throughput) */
  tokens: number;
  /** extra metrics of this micro-batch, averaged over the step */
  metrics?: Record<string, number>;
}

export interface TrainResult {
  steps: number;
  tokens: number;
  finalLoss: number;
  out: string;
  metrics: Metrics[];
}

export abstract class Trainer<C extends BaseConfig = BaseConfig> {
  abstract readonly method: string;
  readonly rng: Rng;
  readonly cursor: DataCursor;
  optimizer!: TrainOptimizer;
  step = 0;
  tokensSeen = 0;
  protected lastMetrics: Metrics = {};

  constructor(
    readonly config: C,
    readonly model: GlmModelKind,
    readonly tokenizer: Tokenizer | null,
    datasetSize: number,
  ) {
    if (!config.out) throw new ConfigError('--out is required: the folder for checkpoints, metrics and the final model');
    this.rng = new Rng(config.seed);
    this.cursor = new DataCursor(datasetSize, config.seed);
  }

  /** Draws the next micro-batch from `this.cursor` and returns its loss. */
  protected abstract microBatchLoss(accumulation: number): MicroBatchResult;

  /** Held-out metrics (e.g. eval_loss); called every eval_steps and at the end. */
  protected evaluate(): Record<string, number> {
    return {};
  }

  /** Called before each optimizer step's micro-batches (async work such as RL rollouts with tools). */
  protected async prepareStep(): Promise<void> {}

  /** Extra trainer-state to save and restore (e.g. a reference model's position). */
  protected extraState(): Record<string, unknown> {
    return {};
  }

  /** The trainable parameters (default: all of the model's). */
  protected trainableModule(): Module {
    return this.model;
  }

  private writeModelFolder(dir: string): void {
    saveModel(dir, this.model);
    if (this.tokenizer) saveTokenizer(this.tokenizer, dir);
  }

  private checkpoint(): void {
    saveCheckpoint(this.config.out, {
      state: { step: this.step, rng: this.rng.getState(), data: this.cursor.getState(), tokens_seen: this.tokensSeen, metrics: { ...this.lastMetrics, ...this.extraState() } },
      config: { method: this.method, ...this.config },
      optimizer: this.optimizer.exportState(),
      writeModel: (dir) => this.writeModelFolder(dir),
    });
    pruneCheckpoints(this.config.out, this.config.save_total_limit);
  }

  /** Restores model, optimizer, RNG and data position from the newest complete checkpoint. */
  private resume(log: MetricsLog): boolean {
    const all = listCheckpoints(this.config.out);
    if (all.length === 0) return false;
    const ck = loadCheckpoint(all[all.length - 1].dir);
    const saved = loadModel(ck.dir);
    const dst = this.model.stateDict();
    for (const [name, t] of saved.stateDict()) dst.get(name)?.data.set(t.data);
    this.optimizer.importState(ck.optimizer);
    this.step = ck.state.step;
    this.tokensSeen = ck.state.tokens_seen;
    this.rng.setState(ck.state.rng);
    this.cursor.setState(ck.state.data as { epoch: number; index: number });
    log.truncateAfter(this.step);
    return true;
  }

  async train(): Promise<TrainResult> {
    const cfg = this.config;
    if (cfg.threads > 0) setNativeThreads(cfg.threads);
    mkdirSync(cfg.out, { recursive: true });
    this.optimizer = buildOptimizer(this.trainableModule(), cfg);
    const log = new MetricsLog(join(cfg.out, 'metrics.jsonl'));
    if (!cfg.resume && listCheckpoints(cfg.out).length > 0) {
      throw new ConfigError(`${cfg.out} already holds checkpoints of an earlier run; pass --resume to continue it, or choose another --out (nothing was overwritten)`);
    }
    const resumed = cfg.resume && this.resume(log);
    if (!resumed && existsSync(join(cfg.out, 'metrics.jsonl'))) log.truncateAfter(-1);
    writeFileSync(join(cfg.out, 'training_config.json'), JSON.stringify({ method: this.method, backend: getBackend().describe(), ...cfg }, null, 2) + '\n');
    const progress = new Progress(cfg.max_steps, this.method, cfg.quiet);
    const history: Metrics[] = [];
    let lastLoss = NaN;
    this.model.train();
    while (this.step < cfg.max_steps) {
      const t0 = performance.now();
      const lr = learningRateAt(cfg, this.step);
      this.optimizer.lr = lr;
      await this.prepareStep();
      let lossSum = 0, tokens = 0;
      const extra: Record<string, number> = {};
      for (let micro = 0; micro < cfg.gradient_accumulation_steps; micro++) {
        const r = this.microBatchLoss(cfg.gradient_accumulation_steps);
        r.loss.backward();
        lossSum += r.lossValue;
        tokens += r.tokens;
        for (const [k, v] of Object.entries(r.metrics ?? {})) extra[k] = (extra[k] ?? 0) + v / cfg.gradient_accumulation_steps;
      }
      const gradNorm = clipGradNorm(this.trainableModule().parameters(), cfg.max_grad_norm);
      this.optimizer.update();
      this.optimizer.zeroGrad();
      const moe = this.moeStats();
      this.step++;
      this.tokensSeen += tokens;
      lastLoss = lossSum / cfg.gradient_accumulation_steps;
      const dt = (performance.now() - t0) / 1000;
      this.lastMetrics = { step: this.step, loss: lastLoss, learning_rate: lr, grad_norm: gradNorm, tokens_per_s: tokens / dt, epoch: this.cursor.progress(), num_tokens: this.tokensSeen, ...extra, ...moe };
      const evalDue = cfg.eval_steps > 0 && this.step % cfg.eval_steps === 0 && this.step < cfg.max_steps;
      if (evalDue) Object.assign(this.lastMetrics, this.runEvaluate());
      if (this.step % cfg.logging_steps === 0 || this.step === cfg.max_steps) {
        log.write(this.lastMetrics);
        history.push(this.lastMetrics);
        progress.update(this.step, this.lastMetrics);
      }
      if (cfg.save_steps > 0 && this.step % cfg.save_steps === 0 && this.step < cfg.max_steps) this.checkpoint();
    }
    progress.done();
    const final = this.runEvaluate();
    if (Object.keys(final).length > 0) {
      const m = { step: this.step, ...final };
      log.write(m);
      history.push(m);
    }
    this.checkpoint();
    this.writeModelFolder(join(cfg.out, 'final'));
    return { steps: this.step, tokens: this.tokensSeen, finalLoss: lastLoss, out: cfg.out, metrics: history };
  }

  private runEvaluate(): Record<string, number> {
    this.model.eval();
    try {
      return this.evaluate();
    } finally {
      this.model.train();
    }
  }

  /** MoE: apply the aux-loss-free bias update and report the load balance of this step. */
  private moeStats(): Record<string, number> {
    const causal = this.model as GlmForCausalLM;
    if (typeof causal.moeLayers !== 'function') return {};
    const layers = causal.moeLayers();
    if (layers.length === 0) return {};
    let maxVio = 0;
    for (const m of layers) {
      const load = m.takeLoad();
      const total = load.reduce((a, b) => a + b, 0);
      const mean = total / load.length;
      if (mean > 0) maxVio = Math.max(maxVio, Math.max(...load) / mean - 1);
      if (this.config.moe_bias_update_rate > 0) m.updateBias(load, this.config.moe_bias_update_rate);
    }
    return { 'moe/max_load_violation': maxVio };
  }
}
