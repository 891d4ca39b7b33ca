/**
 * The HTTP thread's handle on the generation worker: starts it, routes engine events to the
 * request that owns them, bounds the number of requests in flight (the queue limit) and turns a
 * dead worker into clean errors instead of a crash.
 */
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../util/module-worker.js';
import { GlmkitError } from '../errors.js';
import type { EngineEvent, EngineRequest } from '../generation/engine.js';
import type { WeightDtype } from '../models/glm/checkpoint.js';
import type { WorkerInit } from './engine-worker.js';

/** The server is full (HTTP 429) or its engine is gone (HTTP 503). */
export class OverloadedError extends GlmkitError {
  constructor(message: string, readonly status: 429 | 503) {
    super('overloaded', message);
  }
}

/** The engine refused a request it was sent (HTTP 400). */
export class EngineRejectedError extends GlmkitError {
  constructor(message: string) {
    super('rejected', message);
  }
}

export interface EngineClientOptions {
  /** sequences decoded together (KV slots) */
  maxSlots?: number;
  /** requests in flight at most (running + waiting); more are answered 429 */
  maxPending?: number;
  slotCapacity?: number;
  /** the tokenizer's size: ids past it are never sampled */
  vocabLimit?: number;
  /** how the model keeps its matrices in memory (default f32) */
  dtype?: WeightDtype;
}

export type RequestListener = (e: EngineEvent) => void;

interface Pending {
  /** the worker the request runs on (an old one keeps its requests after a weight update) */
  owner: Worker;
  listener: RequestListener;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A submitted request: its completion and a way to stop it. */
export interface RequestHandle {
  done: Promise<void>;
  cancel(): void;
}

/** Starts the worker module, through tsx when running from the TypeScript sources. */
function spawnWorker(init: WorkerInit): Worker {
  return spawnModuleWorker(import.meta.url, 'engine-worker', init);
}

export class EngineClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: string | null = null;
  /** set while a crashed worker is being replaced */
  private restarting: Promise<void> | null = null;
  private closed = false;
  private worker: Worker;
  readonly maxPending: number;
  /** requests finished, by how they ended; worker restarts after a crash */
  readonly stats = { completed: 0, cancelled: 0, failed: 0, worker_restarts: 0 };
  /** KV slots the engine is decoding now (as last reported by the worker) */
  private slotsActive = 0;
  /** 0 for the weights loaded at start, +1 per successful `reload` */
  private version = 0;
  /** workers replaced by a weight update that still finish their requests */
  private readonly draining = new Set<Worker>();
  /** the reload in progress (reloads run one at a time) */
  private reloading: Promise<unknown> = Promise.resolve();

  private constructor(
    worker: Worker,
    private init: WorkerInit,
    readonly slotCapacity: number,
    readonly vocabSize: number,
    maxPending: number,
  ) {
    this.maxPending = maxPending;
    this.worker = worker;
    this.attach(worker);
  }

  private attach(worker: Worker): void {
    worker.on('message', (m) => this.onMessage(m, worker));
    worker.on('error', (e) => this.crashed(worker, `generation worker crashed: ${e.message}`));
    worker.on('exit', (code) => this.crashed(worker, `generation worker exited (code ${code})`));
  }

  /** Starts the worker, loads the model in it and resolves once it is ready. */
  static async start(modelDir: string, opts: EngineClientOptions = {}): Promise<EngineClient> {
    const init: WorkerInit = { modelDir, dtype: opts.dtype ?? 'f32', maxSlots: opts.maxSlots ?? 8, slotCapacity: opts.slotCapacity, vocabLimit: opts.vocabLimit, generation: 0 };
    const { worker, ready } = await startWorker(init);
    return new EngineClient(worker, init, ready.slotCapacity, ready.vocabSize, opts.maxPending ?? 64);
  }

  /** Requests in flight (running or waiting for a slot). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** KV slots in use by running sequences. */
  get activeSlots(): number {
    return this.slotsActive;
  }

  /** 'ok', 'restarting' (a crashed worker is being replaced) or 'down'. */
  get state(): 'ok' | 'restarting' | 'down' {
    return this.dead ? 'down' : this.restarting ? 'restarting' : 'ok';
  }

  /**
   * Sends a request to the engine. Throws OverloadedError when the queue is full or the engine is
   * gone. The listener gets the request's events; `done` settles after its 'done' event.
   */
  submit(req: Omit<EngineRequest, 'id'>, listener: RequestListener): RequestHandle {
    if (this.dead) throw new OverloadedError(this.dead, 503);
    if (this.restarting) throw new OverloadedError('the generation worker is restarting after a crash; retry in a few seconds', 503);
    if (this.pending.size >= this.maxPending) {
      throw new OverloadedError(`the server is busy: ${this.pending.size} requests in flight (limit ${this.maxPending}); retry later`, 429);
    }
    const id = this.nextId++;
    let resolve!: () => void, reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const worker = this.worker;
    this.pending.set(id, { owner: worker, listener, resolve, reject });
    worker.postMessage({ type: 'submit', req: { ...req, id } });
    return { done, cancel: () => this.pending.has(id) && (this.worker === worker || this.draining.has(worker)) && worker.postMessage({ type: 'cancel', id }) };
  }

  /** The policy version of the weights new requests run on (0 at start, +1 per reload). */
  get policyVersion(): number {
    return this.version;
  }

  /** The model folder new requests run on. */
  get modelDir(): string {
    return this.init.modelDir;
  }

  /**
   * Loads the weights of `modelDir` in a fresh worker and, once it is ready, sends new requests to
   * it; requests in flight finish on the old worker, which stops when its last one is done. A folder
   * that cannot be loaded (or whose vocabulary differs) throws EngineRejectedError and the old weights
   * keep serving. Resolves to the new policy version.
   */
  reload(modelDir: string): Promise<number> {
    const run = async (): Promise<number> => {
      if (this.dead) throw new OverloadedError(this.dead, 503);
      await this.settled();
      const init: WorkerInit = { ...this.init, modelDir, generation: this.stats.worker_restarts + 1 };
      const { worker: fresh, ready } = await startWorker(init);
      if (ready.vocabSize !== this.vocabSize || ready.slotCapacity !== this.slotCapacity || this.closed) {
        await fresh.terminate();
        throw new EngineRejectedError(this.closed ? 'the server is shutting down' : `the model in ${modelDir} has vocabulary ${ready.vocabSize} and context ${ready.slotCapacity}; the served one has ${this.vocabSize} and ${this.slotCapacity}`);
      }
      const old = this.worker;
      this.worker = fresh;
      this.init = init;
      this.attach(fresh);
      this.version++;
      this.draining.add(old);
      this.retireIfIdle(old);
      return this.version;
    };
    const p = this.reloading.then(run, run);
    this.reloading = p.catch(() => undefined);
    return p;
  }

  /** Stops a replaced worker once none of its requests is in flight. */
  private retireIfIdle(worker: Worker): void {
    if (!this.draining.has(worker)) return;
    for (const p of this.pending.values()) if (p.owner === worker) return;
    this.draining.delete(worker);
    void worker.terminate();
  }

  private onMessage(m: { type: string; events?: EngineEvent[]; id?: number; message?: string; active?: number }, from: Worker): void {
    if (typeof m.active === 'number' && from === this.worker) this.slotsActive = m.active;
    if (from !== this.worker) queueMicrotask(() => this.retireIfIdle(from));
    if (m.type === 'events') {
      for (const e of m.events!) {
        const p = this.pending.get(e.id);
        if (!p) continue;
        try {
          p.listener(e);
        } catch (err) {
          // A listener failure (e.g. a closed socket) must not take the engine down: stop that request.
          p.owner.postMessage({ type: 'cancel', id: e.id });
          this.pending.delete(e.id);
          this.stats.failed++;
          p.reject(err as Error);
          continue;
        }
        if (e.type === 'done') {
          if (e.finishReason === 'cancelled') this.stats.cancelled++;
          else this.stats.completed++;
          this.pending.delete(e.id);
          p.resolve();
        }
      }
    } else if (m.type === 'rejected') {
      const p = this.pending.get(m.id!);
      this.pending.delete(m.id!);
      p?.reject(new EngineRejectedError(m.message!));
    }
    // 'fatal' is followed by the worker's exit, which crashed() handles.
  }

  /**
   * The worker died: every request in flight gets a 503, and a new worker is started (requests
   * meanwhile get 503 too). If the new worker cannot load the model, the engine stays down.
   */
  private crashed(worker: Worker, reason: string): void {
    if (this.draining.has(worker)) {
      // a replaced worker died with requests left: they fail, the current worker is unaffected
      this.draining.delete(worker);
      for (const [id, p] of this.pending) if (p.owner === worker) {
        this.pending.delete(id);
        this.stats.failed++;
        p.reject(new OverloadedError(`${reason}; the request was lost, retry it`, 503));
      }
      return;
    }
    if (worker !== this.worker || this.closed || this.dead) return;
    this.slotsActive = 0;
    for (const p of this.pending.values()) p.reject(new OverloadedError(`${reason}; the request was lost, retry it`, 503));
    this.stats.failed += this.pending.size;
    this.pending.clear();
    if (this.restarting) return;
    this.restarting = (async () => {
      try {
        const init = { ...this.init, generation: this.stats.worker_restarts + 1 };
        const { worker: fresh } = await startWorker(init);
        if (this.closed) {
          await fresh.terminate();
          return;
        }
        this.worker = fresh;
        this.attach(fresh);
        this.stats.worker_restarts++;
      } catch (e) {
        this.dead = `${reason}, and restarting it failed: ${(e as Error).message}`;
      } finally {
        this.restarting = null;
      }
    })();
  }

  /** Resolves when no worker restart is in progress (for tests and the health check). */
  async settled(): Promise<void> {
    while (this.restarting) await this.restarting;
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    this.closed = true;
    this.dead ??= 'the server is shutting down';
    await this.restarting;
    await this.reloading;
    for (const w of this.draining) await w.terminate();
    this.draining.clear();
    await this.worker.terminate();
  }
}

/** Spawns a worker and waits for its 'ready' (the model loaded); the worker is stopped on failure. */
async function startWorker(init: WorkerInit): Promise<{ worker: Worker; ready: { slotCapacity: number; vocabSize: number } }> {
  const worker = spawnWorker(init);
  let onMsg: ((m: { type: string; message?: string; slotCapacity?: number; vocabSize?: number }) => void) | null = null;
  let onErr: ((e: Error) => void) | null = null, onExit: ((code: number) => void) | null = null;
  try {
    const ready = await new Promise<{ slotCapacity: number; vocabSize: number }>((resolve, reject) => {
      onMsg = (m) => {
        if (m.type === 'ready') resolve({ slotCapacity: m.slotCapacity!, vocabSize: m.vocabSize! });
        else if (m.type === 'fatal') reject(new EngineRejectedError(`cannot load the model from ${init.modelDir}: ${m.message}`));
      };
      onErr = reject;
      onExit = (code) => reject(new EngineRejectedError(`generation worker exited during start (code ${code})`));
      worker.on('message', onMsg);
      worker.on('error', onErr);
      worker.on('exit', onExit);
    });
    return { worker, ready };
  } catch (e) {
    await worker.terminate();
    throw e;
  } finally {
    // Only our own listeners: the Worker keeps internal ones that start its message port.
    if (onMsg) worker.off('message', onMsg);
    if (onErr) worker.off('error', onErr);
    if (onExit) worker.off('exit', onExit);
  }
}
