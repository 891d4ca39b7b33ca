/**
 * The server's step-wise engine for the vision-language model, with GenerationEngine's interface
 * (submit / cancel / step / idle / active, the same events), so the worker, the engine client and
 * the HTTP routes serve both kinds of model alike.
 *
 * Batching is static, not continuous: when no batch is running, up to `maxSlots` queued requests
 * are prefilled together with their images (`prefillWithImages`: left padding, M-RoPE, rope
 * deltas); each step then samples one token per running row (its own sampling options and seed,
 * as GenerationEngine samples) and feeds them back through the cached decode step. Finished and
 * cancelled rows are masked out; requests that arrive meanwhile wait until the whole batch is done.
 * A vision prompt's rope deltas and image features belong to its prefill, which is why rows do not
 * join a running batch. At temperature 0 a request gets the tokens `generateWithImages` gives it.
 */
import { ConfigError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import type { Rng } from '../util/rng.js';
import { requestStream } from './generate.js';
import type { Glm4vForConditionalGeneration } from '../models/glm4v/model.js';
import { checkEngineRequest, topLogprobs, type EngineEvent, type EngineRequest } from './engine.js';
import { sampleToken, sampleableIds } from './sampler.js';
import { checkImagePrompts, prefillWithImages, type ImagePrefill } from './vlm-generate.js';

interface Row {
  req: EngineRequest;
  rng: Rng;
  stops: Set<number>;
  generated: number;
  done: boolean;
}

export interface VisionEngineOptions {
  /** requests prefilled and decoded together at most */
  maxSlots?: number;
  /** tokens per request (prompt + new tokens); default min(max_position_embeddings, 4096) */
  slotCapacity?: number;
  /** sample only ids below this (the tokenizer's size) */
  vocabLimit?: number;
  /** id used for left padding (default the config's pad id, else 0) */
  padId?: number;
}

export class VisionEngine {
  readonly maxSlots: number;
  readonly slotCapacity: number;
  private readonly vocabLimit: number;
  private readonly padId: number;
  private readonly queue: EngineRequest[] = [];
  private rows: Row[] = [];
  private batch: ImagePrefill | null = null;
  /** logits [B, V] of the running batch's next sampling */
  private logits: Float32Array | null = null;
  private readonly cancelled = new Set<number>();

  constructor(readonly model: Glm4vForConditionalGeneration, opts: VisionEngineOptions = {}) {
    const t = model.config.text;
    this.maxSlots = opts.maxSlots ?? 8;
    this.slotCapacity = opts.slotCapacity ?? Math.min(t.maxPositionEmbeddings, 4096);
    this.vocabLimit = sampleableIds(t.vocabSize, opts.vocabLimit);
    const pad = t.padTokenId;
    this.padId = opts.padId ?? (typeof pad === 'number' ? pad : 0);
    if (!Number.isInteger(this.maxSlots) || this.maxSlots < 1) throw new ConfigError(`maxSlots must be an integer >= 1, got ${this.maxSlots}`);
    if (this.slotCapacity > t.maxPositionEmbeddings) throw new ConfigError(`slotCapacity ${this.slotCapacity} exceeds max_position_embeddings ${t.maxPositionEmbeddings}`);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Rows of the running batch still decoding. */
  get active(): number {
    return this.rows.filter((r) => !r.done).length;
  }

  get idle(): boolean {
    return this.queue.length === 0 && this.batch === null;
  }

  /** Checks a request (ids, sampling, images against their placeholders) and queues it. Throws ConfigError/ShapeError. */
  submit(req: EngineRequest): void {
    checkEngineRequest(req, this.model.config.text.vocabSize, this.slotCapacity);
    if (req.promptLogprobs) throw new ConfigError('prompt log-probs (echo with logprobs) are not supported for vision-language models');
    if (this.queue.some((q) => q.id === req.id) || this.rows.some((r) => r.req.id === req.id && !r.done)) throw new ConfigError(`request id ${req.id} is already in the engine`);
    checkImagePrompts(this.model, [{ ids: req.prompt, images: req.images }]);
    this.queue.push(req);
  }

  cancel(id: number): void {
    this.cancelled.add(id);
  }

  step(): EngineEvent[] {
    const events: EngineEvent[] = [];
    this.applyCancels(events);
    noGrad(() => {
      if (!this.batch) this.admit(events);
      if (this.batch) this.decode(events);
    });
    return events;
  }

  private applyCancels(events: EngineEvent[]): void {
    for (const id of this.cancelled) {
      const qi = this.queue.findIndex((q) => q.id === id);
      if (qi >= 0) {
        const [q] = this.queue.splice(qi, 1);
        events.push({ type: 'done', id, finishReason: 'cancelled', promptTokens: q.prompt.length, completionTokens: 0 });
      }
      const r = this.rows.find((x) => x.req.id === id && !x.done);
      if (r) this.finish(r, 'cancelled', events);
    }
    this.cancelled.clear();
    this.endBatchIfDone();
  }

  /** Prefills the next batch of queued requests (all rows' images in one vision-tower pass). */
  private admit(events: EngineEvent[]): void {
    // FIFO while the padded batch fits a slot's capacity: longest prompt + most new tokens (the
    // first request always fits: submit checked it)
    let T = 0, news = 0, k = 0;
    while (k < this.queue.length && k < this.maxSlots) {
      const q = this.queue[k];
      const t = Math.max(T, q.prompt.length), n = Math.max(news, q.maxTokens);
      if (k > 0 && t + n > this.slotCapacity) break;
      T = t;
      news = n;
      k++;
    }
    const reqs = this.queue.splice(0, k);
    if (reqs.length === 0) return;
    this.rows = reqs.map((req) => ({ req, rng: requestStream(req.seed ?? (Math.random() * 2 ** 32) >>> 0), stops: new Set(req.stopTokens ?? []), generated: 0, done: false }));
    this.batch = prefillWithImages(this.model, reqs.map((r) => ({ ids: r.prompt, images: r.images })), this.padId, T + news);
    this.logits = this.batch.logits.data as Float32Array;
    for (const r of this.rows) if (r.req.maxTokens === 0) this.finish(r, 'length', events);
    this.endBatchIfDone();
  }

  private decode(events: EngineEvent[]): void {
    const B = this.rows.length, V = this.model.config.text.vocabSize;
    const next = new Int32Array(B).fill(this.padId), stepMask = new Int32Array(B);
    this.rows.forEach((r, b) => {
      if (r.done) return;
      const logits = this.logits!.subarray(b * V, b * V + this.vocabLimit);
      const { token, logprob } = sampleToken(logits, r.req, r.rng, r.req.logprobs !== false);
      const k = r.req.topLogprobs ?? 0;
      events.push({ type: 'token', id: r.req.id, token, logprob, top: k > 0 ? topLogprobs(logits, k, r.req.temperature) : [] });
      r.generated++;
      if (r.stops.has(token)) this.finish(r, 'stop', events);
      else if (r.generated >= r.req.maxTokens) this.finish(r, 'length', events);
      else {
        next[b] = token;
        stepMask[b] = 1;
      }
    });
    if (this.endBatchIfDone()) return;
    this.logits = this.batch!.step(next, stepMask).data as Float32Array;
  }

  private finish(r: Row, reason: 'stop' | 'length' | 'cancelled', events: EngineEvent[]): void {
    r.done = true;
    events.push({ type: 'done', id: r.req.id, finishReason: reason, promptTokens: r.req.prompt.length, completionTokens: r.generated });
  }

  /** Drops the batch (and its KV cache) once every row has finished. */
  private endBatchIfDone(): boolean {
    if (this.batch && this.rows.every((r) => r.done)) {
      this.batch = null;
      this.logits = null;
      this.rows = [];
      return true;
    }
    return false;
  }
}
