/**
 * The HTTP thread's handle on the generation worker: starts it, routes engine events to the
 * request that owns them, bounds the number of requests in flight (the queue limit) and turns a
 * dead worker into clean errors instead of a crash.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { GlmkitError } from '../errors.js';
import type { EngineEvent, EngineRequest } from '../generation/engine.js';
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
}

export type RequestListener = (e: EngineEvent) => void;

interface Pending {
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
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./engine-worker.ts', import.meta.url).href;
    const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(code, { eval: true, workerData: init });
  }
  return new Worker(new URL('./engine-worker.js', import.meta.url), { workerData: init });
}

export class EngineClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: string | null = null;
  readonly maxPending: number;
  /** requests finished, by how they ended */
  readonly stats = { completed: 0, cancelled: 0 };

  private constructor(
    private readonly worker: Worker,
    readonly slotCapacity: number,
    readonly vocabSize: number,
    maxPending: number,
  ) {
    this.maxPending = maxPending;
    worker.on('message', (m) => this.onMessage(m));
    worker.on('error', (e) => this.fail(`generation worker crashed: ${e.message}`));
    worker.on('exit', (code) => this.fail(`generation worker exited (code ${code})`));
  }

  /** Starts the worker, loads the model in it and resolves once it is ready. */
  static async start(modelDir: string, opts: EngineClientOptions = {}): Promise<EngineClient> {
    const worker = spawnWorker({ modelDir, maxSlots: opts.maxSlots ?? 8, slotCapacity: opts.slotCapacity, vocabLimit: opts.vocabLimit });
    let onMsg: ((m: { type: string; message?: string; slotCapacity?: number; vocabSize?: number }) => void) | null = null;
    let onErr: ((e: Error) => void) | null = null, onExit: ((code: number) => void) | null = null;
    try {
      const ready = await new Promise<{ slotCapacity: number; vocabSize: number }>((resolve, reject) => {
        onMsg = (m) => {
          if (m.type === 'ready') resolve({ slotCapacity: m.slotCapacity!, vocabSize: m.vocabSize! });
          else if (m.type === 'fatal') reject(new EngineRejectedError(`cannot load the model from ${modelDir}: ${m.message}`));
        };
        onErr = reject;
        onExit = (code) => reject(new EngineRejectedError(`generation worker exited during start (code ${code})`));
        worker.on('message', onMsg);
        worker.on('error', onErr);
        worker.on('exit', onExit);
      });
      return new EngineClient(worker, ready.slotCapacity, ready.vocabSize, opts.maxPending ?? 64);
    } finally {
      // Only our own listeners: the Worker keeps internal ones that start its message port.
      if (onMsg) worker.off('message', onMsg);
      if (onErr) worker.off('error', onErr);
      if (onExit) worker.off('exit', onExit);
    }
  }

  /** Requests in flight (running or waiting for a slot). */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends a request to the engine. Throws OverloadedError when the queue is full or the engine is
   * gone. The listener gets the request's events; `done` settles after its 'done' event.
   */
  submit(req: Omit<EngineRequest, 'id'>, listener: RequestListener): RequestHandle {
    if (this.dead) throw new OverloadedError(this.dead, 503);
    if (this.pending.size >= this.maxPending) {
      throw new OverloadedError(`the server is busy: ${this.pending.size} requests in flight (limit ${this.maxPending}); retry later`, 429);
    }
    const id = this.nextId++;
    let resolve!: () => void, reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.pending.set(id, { listener, resolve, reject });
    this.worker.postMessage({ type: 'submit', req: { ...req, id } });
    return { done, cancel: () => this.pending.has(id) && this.worker.postMessage({ type: 'cancel', id }) };
  }

  private onMessage(m: { type: string; events?: EngineEvent[]; id?: number; message?: string }): void {
    if (m.type === 'events') {
      for (const e of m.events!) {
        const p = this.pending.get(e.id);
        if (!p) continue;
        try {
          p.listener(e);
        } catch (err) {
          // A listener failure (e.g. a closed socket) must not take the engine down: stop that request.
          this.worker.postMessage({ type: 'cancel', id: e.id });
          this.pending.delete(e.id);
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
    } else if (m.type === 'fatal') {
      this.fail(m.message!);
    }
  }

  private fail(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    for (const p of this.pending.values()) p.reject(new OverloadedError(reason, 503));
    this.pending.clear();
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    this.dead ??= 'the server is shutting down';
    await this.worker.terminate();
  }
}
