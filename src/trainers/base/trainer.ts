/**
 * The one training loop every method shares (docs/architecture.md "Training"):
 *   for each step: LR -> (eval / checkpoint when due) -> micro-batches with gradient accumulation
 *   -> clip -> optimizer step -> MoE bias update -> log.
 * Methods subclass Trainer and implement `microBatchLoss` (and optionally `evaluate`); everything
 * else — checkpoints, resume, metrics, schedules, non-finite steps — lives here once.
 *
 * Resume is exact: a checkpoint holds everything that decides the next step (model, optimizer, RNG,
 * data position, the method's own state from `exportState`, and modules beyond the model from
 * `extraModules`), so a run killed after checkpoint k and resumed writes the same metrics as one that
 * never stopped. A step whose loss or gradient norm is not finite is skipped (no update, gradients
 * dropped) and logged with `skipped_nonfinite: 1`; `max_nonfinite_skips` in a row stop the run with a
 * TrainingError, leaving the last good checkpoint and writing no final model.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CheckpointError, ConfigError, TrainingError } from '../../errors.js';
import { readSafetensors, writeSafetensors } from '../../io/safetensors.js';
import { useThreads } from '../../generation/parallel-generate.js';
import { getBackend } from '../../tensor/backend/index.js';
import { withBf16Compute } from '../../tensor/ops/precision.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Rng } from '../../util/rng.js';
import type { Module } from '../../nn/module.js';
import type { GlmForCausalLM, GlmForSequenceClassification } from '../../models/glm/model.js';
import { loadModel, saveModel, type GlmModelKind } from '../../models/glm/checkpoint.js';
import { Glm4vForConditionalGeneration } from '../../models/glm4v/model.js';
import { loadGlm4vModel, saveGlm4vModel } from '../../models/glm4v/checkpoint.js';
import { saveTokenizer } from '../../tokenizer/tokenizer-json.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { listCheckpoints, loadCheckpoint, pruneCheckpoints, saveCheckpoint } from './checkpoint.js';
import { DataCursor } from './cursor.js';
import { MetricsLog, Progress, readMetrics, type Metrics } from './metrics.js';
import { buildOptimizer, clipGradNorm, learningRateAt, type TrainOptimizer } from './optimizer.js';
import type { Values } from './config.js';
import { resumeMode, type BaseSchema } from './schema.js';
import { DataParallel, dataParallelThreads } from './data-parallel.js';
import { shardLoss, type Shard } from './shard-losses.js';
import { clearBufferPool, withBufferPool } from '../../tensor/buffer-pool.js';

export type BaseConfig = Values<BaseSchema>;

/** What a trainer trains: a GLM (causal LM or sequence classifier) or a GLM-4.1V vision-language model. */
export type TrainableModel = GlmModelKind | Glm4vForConditionalGeneration;

export interface MicroBatchResult {
  /** scalar loss of this micro-batch, already scaled for accumulation (the loop only calls backward) */
  loss: Tensor;
  /** unscaled loss value to log */
  lossValue: number;
  /** tokens processed (for throughput) */
  tokens: number;
  /** extra metrics of this micro-batch, averaged over the step */
  metrics?: Record<string, number>;
  /** the gradients are already accumulated (a data-parallel micro-batch): the loop does not call backward */
  backwardDone?: boolean;
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
  /** steps skipped for a non-finite loss or gradient norm: in a row, and in all */
  nonfinite = { consecutive: 0, total: 0 };
  protected lastMetrics: Metrics = {};
  /** the data-parallel runner of this run (set by train() where the method and model allow it), else null */
  protected parallel: DataParallel | null = null;

  constructor(
    readonly config: C,
    readonly model: TrainableModel,
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

  /**
   * The method's own state that decides later steps (curricula, rollout queues, counters), JSON-
   * serialisable; saved in each checkpoint's method_state.json and given back to `importState` on resume.
   */
  protected exportState(): Record<string, unknown> {
    return {};
  }

  /** Restores what `exportState` saved. */
  protected importState(_state: Record<string, unknown>): void {}

  /**
   * Called once per optimizer step with its metrics (grad_norm included; skipped steps too) before
   * they are logged: a method may add fields (taken as they are, not averaged over micro-batches) or
   * throw to stop the run, which keeps the checkpoints written so far and writes no final model.
   */
  protected afterStep(_metrics: Metrics): void {}

  /** Whether `microBatchLoss` splits its micro-batch over `this.parallel` when there is one (default: no). */
  protected supportsDataParallel(): boolean {
    return false;
  }

  /** Shards a micro-batch is split into: the data-parallel thread count, or 1 on one thread. */
  protected get shardCount(): number {
    return this.parallel?.threads ?? 1;
  }

  /**
   * A micro-batch given as `shardCount` shards (src/trainers/base/shard-losses.ts): run data-parallel
   * (shard 0 here; the result has its gradients accumulated), or its one shard's loss on this thread.
   */
  protected runShards(shards: Shard[]): MicroBatchResult {
    if (this.parallel) return { ...this.parallel.run(shards), backwardDone: true };
    return shardLoss(this.model as GlmForCausalLM | GlmForSequenceClassification, shards[0]);
  }

  /** Trained modules beyond the model (e.g. PPO's value model), saved as <name>.safetensors in each checkpoint. */
  protected extraModules(): Record<string, Module> {
    return {};
  }

  /** The trainable parameters (default: all of the model's). */
  protected trainableModule(): Module {
    return this.model;
  }

  /** Writes the model (and tokenizer) folder of a checkpoint or of final/; a method may add files. */
  protected writeModelFolder(dir: string): void {
    if (this.model instanceof Glm4vForConditionalGeneration) saveGlm4vModel(dir, this.model);
    else saveModel(dir, this.model);
    if (this.tokenizer) saveTokenizer(this.tokenizer, dir);
  }

  private checkpoint(): void {
    const method = this.exportState();
    saveCheckpoint(this.config.out, {
      state: { step: this.step, rng: this.rng.getState(), data: this.cursor.getState(), tokens_seen: this.tokensSeen, nonfinite: { ...this.nonfinite }, metrics: { ...this.lastMetrics } },
      config: { method: this.method, ...this.config },
      optimizer: this.optimizer.exportState(),
      writeModel: (dir) => {
        this.writeModelFolder(dir);
        for (const [name, m] of Object.entries(this.extraModules())) {
          writeSafetensors(join(dir, `${name}.safetensors`), [...m.stateDict()].map(([k, t]) => ({ name: k, shape: [...t.shape], data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) })));
        }
        if (Object.keys(method).length > 0) writeFileSync(join(dir, 'method_state.json'), JSON.stringify(method) + '\n');
      },
    });
    pruneCheckpoints(this.config.out, this.config.save_total_limit);
  }

  /** Restores model, optimizer, RNG, data position and the method's state from the newest complete checkpoint. */
  private resume(log: MetricsLog): boolean {
    const cfg = this.config;
    const all = listCheckpoints(cfg.out);
    if (all.length === 0) return false;
    const ck = loadCheckpoint(all[all.length - 1].dir);
    // `--resume auto` on a run that already reached max_steps (e.g. killed while writing final/) finishes it
    if (cfg.max_steps < ck.state.step || (cfg.max_steps === ck.state.step && resumeMode(cfg.resume) === 'on')) {
      throw new ConfigError(`--resume: ${ck.dir} is at step ${ck.state.step}, and --max-steps ${cfg.max_steps} leaves nothing to run; pass --max-steps above ${ck.state.step} to continue the run`);
    }
    this.checkSameInputs(ck.dir);
    const saved = this.model instanceof Glm4vForConditionalGeneration ? loadGlm4vModel(ck.dir) : loadModel(ck.dir);
    const dst = this.model.stateDict();
    for (const [name, t] of saved.stateDict()) dst.get(name)?.data.set(t.data);
    for (const [name, m] of Object.entries(this.extraModules())) {
      const file = join(ck.dir, `${name}.safetensors`);
      if (!existsSync(file)) throw new CheckpointError(`${file}: missing; this checkpoint cannot resume ${this.method} (its ${name} model was not saved)`);
      const tensors = readSafetensors(file);
      for (const [k, t] of m.stateDict()) {
        const src = tensors.get(k);
        if (!src || src.data.length !== t.data.length) throw new CheckpointError(`${file}: tensor "${k}" ${src ? `has ${src.data.length} values, expected ${t.data.length}` : 'is missing'}`);
        t.data.set(src.data);
      }
    }
    this.optimizer.importState(ck.optimizer);
    this.step = ck.state.step;
    this.tokensSeen = ck.state.tokens_seen;
    this.lastMetrics = ck.state.metrics as Metrics;
    this.nonfinite = { consecutive: 0, total: 0, ...(ck.state.nonfinite ?? {}) };
    this.rng.setState(ck.state.rng);
    this.cursor.setState(ck.state.data as { epoch: number; index: number });
    const methodFile = join(ck.dir, 'method_state.json');
    if (existsSync(methodFile)) this.importState(JSON.parse(readFileSync(methodFile, 'utf8')) as Record<string, unknown>);
    log.truncateAfter(this.step);
    return true;
  }

  /** The model folders a run starts from (and takes its reference from) must be the ones it was started with. */
  private checkSameInputs(dir: string): void {
    let saved: Record<string, unknown>;
    try {
      saved = JSON.parse(readFileSync(join(dir, 'training_config.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      return;
    }
    const cfg = this.config as unknown as Record<string, unknown>;
    for (const key of ['model', 'ref_model', 'reward_model']) {
      const [a, b] = [saved[key], cfg[key]];
      if (typeof a !== 'string' || typeof b !== 'string' || a === '' || b === '' || resolve(a) === resolve(b)) continue;
      throw new ConfigError(`--resume: ${dir} was trained with --${key.replace(/_/g, '-')} ${a}, this run gives ${b}; resume with the same folder or start a new --out`);
    }
  }

  async train(): Promise<TrainResult> {
    const cfg = this.config;
    if (cfg.threads > 0) useThreads(cfg.threads);
    const mode = resumeMode(cfg.resume);
    const found = listCheckpoints(cfg.out).length;
    if (mode === 'off' && found > 0) {
      throw new ConfigError(`${cfg.out} already holds checkpoints of an earlier run; pass --resume to continue it, or choose another --out (nothing was overwritten)`);
    }
    if (mode === 'on' && found === 0) {
      throw new ConfigError(`--resume: ${cfg.out} holds no checkpoint-<step>/ folder, so there is nothing to resume; pass --resume auto to start fresh when there is none, or drop --resume`);
    }
    mkdirSync(cfg.out, { recursive: true });
    this.optimizer = buildOptimizer(this.trainableModule(), cfg);
    this.parallel = this.supportsDataParallel() ? DataParallel.create(this.model, this.trainableModule().parameters(), dataParallelThreads(cfg.data_parallel)) : null;
    const log = new MetricsLog(join(cfg.out, 'metrics.jsonl'));
    const resumed = mode !== 'off' && this.resume(log);
    if (!resumed && existsSync(join(cfg.out, 'metrics.jsonl'))) log.truncateAfter(-1);
    writeFileSync(join(cfg.out, 'training_config.json'), JSON.stringify({ method: this.method, backend: getBackend().describe(), data_parallel_threads: this.parallel?.threads ?? 1, ...cfg }, null, 2) + '\n');
    if (resumed && this.step >= cfg.max_steps) {
      this.writeModelFolder(join(cfg.out, 'final'));
      return { steps: this.step, tokens: this.tokensSeen, finalLoss: Number(this.lastMetrics.loss ?? NaN), out: cfg.out, metrics: readMetrics(log.file) };
    }
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
        // bf16 compute covers the forward; each recorded op keeps it for its backward
        // tensor buffers come from the pool and backward hands the graph's back (src/tensor/buffer-pool.ts)
        const r = withBufferPool(() => {
          const r = withBf16Compute(cfg.mixed_precision === 'bf16', () => this.microBatchLoss(cfg.gradient_accumulation_steps));
          // a non-finite loss poisons the step: the remaining micro-batches are still drawn (the data
          // position stays that of an applied step) but nothing is back-propagated
          if (!r.backwardDone && Number.isFinite(r.lossValue) && Number.isFinite(lossSum)) r.loss.backward();
          return r;
        });
        lossSum += r.lossValue;
        tokens += r.tokens;
        for (const [k, v] of Object.entries(r.metrics ?? {})) extra[k] = (extra[k] ?? 0) + v / cfg.gradient_accumulation_steps;
      }
      const gradNorm = Number.isFinite(lossSum) ? clipGradNorm(this.trainableModule().parameters(), cfg.max_grad_norm) : NaN;
      const skip = !Number.isFinite(lossSum) || !Number.isFinite(gradNorm);
      if (!skip) withBf16Compute(cfg.mixed_precision === 'bf16', () => this.optimizer.update()); // Muon's Newton-Schulz products
      this.optimizer.zeroGrad();
      const moe = this.moeStats(!skip);
      this.step++;
      this.tokensSeen += tokens;
      lastLoss = lossSum / cfg.gradient_accumulation_steps;
      const dt = (performance.now() - t0) / 1000;
      this.lastMetrics = { step: this.step, loss: lastLoss, learning_rate: lr, grad_norm: gradNorm, tokens_per_s: tokens / dt, epoch: this.cursor.progress(), num_tokens: this.tokensSeen, ...extra, ...moe };
      this.afterStep(this.lastMetrics);
      if (skip) {
        this.nonfinite.consecutive++;
        this.nonfinite.total++;
        Object.assign(this.lastMetrics, { skipped_nonfinite: 1, skipped_nonfinite_total: this.nonfinite.total });
        log.write(this.lastMetrics);
        history.push(this.lastMetrics);
        const what = Number.isFinite(lossSum) ? `gradient norm ${gradNorm}` : `loss ${lastLoss}`;
        if (!cfg.quiet) process.stderr.write(`${this.method}: step ${this.step}: non-finite ${what}; the update was skipped (${this.nonfinite.consecutive} in a row, at most ${cfg.max_nonfinite_skips})\n`);
        if (this.nonfinite.consecutive >= cfg.max_nonfinite_skips) {
          const last = listCheckpoints(cfg.out).at(-1);
          throw new TrainingError(`${this.method}: ${this.nonfinite.consecutive} steps in a row (up to step ${this.step}) had a non-finite loss or gradient norm (max_nonfinite_skips ${cfg.max_nonfinite_skips}); stopped without writing a model. ${last ? `The last good checkpoint is ${last.dir}` : 'No checkpoint was written yet'}; lower --learning-rate or check the data, then rerun${last ? ' with --resume' : ''}`);
        }
        continue;
      }
      this.nonfinite.consecutive = 0;
      if (this.nonfinite.total > 0) this.lastMetrics.skipped_nonfinite_total = this.nonfinite.total;
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
    clearBufferPool(); // the next stage's batches have other sizes
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

  /** MoE: apply the aux-loss-free bias update (unless the step was skipped) and report the load balance of this step. */
  private moeStats(apply: boolean): Record<string, number> {
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
      if (apply && this.config.moe_bias_update_rate > 0) m.updateBias(load, this.config.moe_bias_update_rate);
    }
    return { 'moe/max_load_violation': maxVio };
  }
}
