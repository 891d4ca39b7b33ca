/**
 * A step-wise, continuous-batching decode engine (the server's generation core).
 *
 * The engine owns `maxSlots` KV-cache slots. Requests wait in a queue; each `step()`:
 *   1. admits queued requests into free slots and prefills them together (right-padded, one forward);
 *   2. runs one decode forward over every running sequence (each at its own length);
 *   3. samples one token per sequence, reports it, and frees the slots of finished sequences.
 * New requests therefore join a running batch at the next step instead of waiting for it to drain.
 *
 * The slot cache is a KVCache whose sequences have their own lengths: sequence s writes its next key
 * at `slotLen[s]`; keys past a sequence's length are masked, so a decode step attends each sequence
 * over exactly its own keys. At temperature 0 the engine produces the tokens `generate()` produces.
 */
import { ConfigError, ShapeError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';
import { requestStream } from './generate.js';
import type { GlmForCausalLM } from '../models/glm/model.js';
import type { ProcessedImage } from '../data/image-chat.js';
import { KVCache } from './kv-cache.js';
import { checkSampling, sampleToken, sampleableIds, tokenLogprob, type SamplingOptions } from './sampler.js';

/** KV cache with one slot per sequence; a forward runs over a chosen list of slots. */
export class SlotKVCache extends KVCache {
  /** filled length of each slot */
  readonly slotLen: Int32Array;
  /** slots of the current forward batch (batch row i -> slot active[i]) */
  private active: number[] = [];
  /** write position of each batch row in the current step */
  private stepStart: Int32Array = new Int32Array(0);

  constructor(slots: number, capacity: number, numLayers: number, headsKv: number, headDim: number) {
    super(slots, capacity, numLayers, headsKv, headDim);
    this.slotLen = new Int32Array(slots);
  }

  /** Selects the slots the next forward runs over (one batch row per slot). */
  select(slots: readonly number[]): void {
    this.active = [...slots];
  }

  /** Empties a slot: length 0, RoPE position 0, all keys masked. */
  reset(slot: number): void {
    this.slotLen[slot] = 0;
    this.nextPos[slot] = 0;
    this.keyMask.fill(0, slot * this.capacity, (slot + 1) * this.capacity);
  }

  /** Sets a slot's length to n (drops right padding after a prefill); keys from n on are masked. */
  truncate(slot: number, n: number): void {
    this.slotLen[slot] = n;
    this.keyMask.fill(0, slot * this.capacity + n, (slot + 1) * this.capacity);
  }

  override advance(T: number, mask: Int32Array | null): Int32Array {
    const B = this.active.length;
    if (mask && mask.length !== B * T) throw new ShapeError(`SlotKVCache: mask has ${mask.length} entries, expected ${B * T}`);
    const positions = new Int32Array(B * T);
    this.stepStart = new Int32Array(B);
    let length = 0;
    for (let i = 0; i < B; i++) {
      const s = this.active[i];
      const start = this.slotLen[s];
      if (T > 1 && start !== 0) throw new ShapeError('SlotKVCache: a multi-token step must start from empty slots (prefill)');
      if (start + T > this.capacity) {
        throw new ShapeError(`SlotKVCache: slot ${s} holds ${start} tokens and cannot take ${T} more (capacity ${this.capacity})`);
      }
      this.stepStart[i] = start;
      for (let t = 0; t < T; t++) {
        const real = mask ? mask[i * T + t] : 1;
        this.keyMask[s * this.capacity + start + t] = real ? 1 : 0;
        positions[i * T + t] = this.nextPos[s];
        if (real) this.nextPos[s]++;
      }
      this.slotLen[s] = start + T;
      length = Math.max(length, start + T);
    }
    // Attention runs over keys [0, length) of every slot with the query at length - T: for a
    // decode step (T = 1) that attends everything, and keys past a slot's own length are masked.
    this.length = length;
    return positions;
  }

  override write(layer: number, k: Float32Array, v: Float32Array, T: number): void {
    const row = this.headsKv * this.headDim;
    const { k: K, v: V } = this.layers[layer];
    for (let i = 0; i < this.active.length; i++) {
      const dst = (this.active[i] * this.capacity + this.stepStart[i]) * row;
      K.set(k.subarray(i * T * row, (i + 1) * T * row), dst);
      V.set(v.subarray(i * T * row, (i + 1) * T * row), dst);
    }
  }

  /** One call over the slots only when the active slots are 0..B-1 in order (batch row i = slot i). */
  override batchView(layer: number): { k: Float32Array; v: Float32Array; keyMask: Int32Array; capacity: number } | null {
    for (let i = 0; i < this.active.length; i++) if (this.active[i] !== i) return null;
    return super.batchView(layer);
  }

  override view(layer: number, b: number): { k: Float32Array; v: Float32Array; keyMask: Int32Array } {
    const s = this.active[b];
    const row = this.headsKv * this.headDim;
    const start = s * this.capacity * row, end = start + this.length * row;
    const { k, v } = this.layers[layer];
    return { k: k.subarray(start, end), v: v.subarray(start, end), keyMask: this.keyMask.subarray(s * this.capacity, s * this.capacity + this.length) };
  }
}

export interface EngineRequest extends SamplingOptions {
  id: number;
  prompt: readonly number[];
  /** new tokens at most (0 is allowed: only prompt log-probs are computed) */
  maxTokens: number;
  stopTokens?: readonly number[];
  seed?: number;
  /** number of top alternatives to report per generated token (0 = none) */
  topLogprobs?: number;
  /** also score the prompt: log-prob of each prompt token given the ones before (echo + logprobs) */
  promptLogprobs?: boolean;
  /** the log-prob of each generated token (default true); false skips a greedy step's log-sum-exp over the vocabulary and its token events carry NaN */
  logprobs?: boolean;
  /** preprocessed images of a vision-language prompt, in order (VisionEngine only; this engine refuses them) */
  images?: readonly ProcessedImage[];
}

export interface TopLogprob {
  token: number;
  logprob: number;
}

export type EngineEvent =
  | { type: 'prompt'; id: number; logprobs: (number | null)[]; top: TopLogprob[][] }
  | { type: 'token'; id: number; token: number; logprob: number; top: TopLogprob[] }
  | { type: 'done'; id: number; finishReason: 'stop' | 'length' | 'cancelled'; promptTokens: number; completionTokens: number };

export interface EngineOptions {
  /** sequences decoded together at most (KV-cache slots) */
  maxSlots?: number;
  /** tokens per slot (prompt + new tokens); default min(max_position_embeddings, 4096), since every slot's KV cache is allocated up front */
  slotCapacity?: number;
  /** prompt tokens prefilled in one step at most (a single longer prompt still goes alone) */
  maxPrefillTokens?: number;
  /** sample only ids below this (the tokenizer's size: a model's embedding rows past it are padding) */
  vocabLimit?: number;
}

interface Running {
  req: EngineRequest;
  slot: number;
  rng: Rng;
  stops: Set<number>;
  generated: number;
  /** logits row the next token is sampled from */
  logits: Float32Array;
  /** the token fed to the next decode forward */
  next: number;
}

/** The checks every engine makes of a request: sampling options, max_tokens, prompt ids in [0, V), and the context. */
export function checkEngineRequest(req: EngineRequest, vocabSize: number, context: number): void {
  checkSampling(req);
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 0) throw new ConfigError(`max_tokens must be an integer >= 0, got ${req.maxTokens}`);
  if (req.prompt.length === 0) throw new ConfigError('the prompt is empty; generation needs at least one token');
  for (const t of req.prompt) if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new ConfigError(`prompt token id ${t} is outside the vocabulary [0, ${vocabSize})`);
  if (req.prompt.length + req.maxTokens > context) {
    throw new ConfigError(`prompt length ${req.prompt.length} + max_tokens ${req.maxTokens} exceeds the context of ${context} tokens`);
  }
}

export class GenerationEngine {
  readonly maxSlots: number;
  readonly slotCapacity: number;
  private readonly maxPrefillTokens: number;
  private readonly vocabLimit: number;
  private readonly cache: SlotKVCache;
  private readonly queue: EngineRequest[] = [];
  private readonly running = new Map<number, Running>();
  private readonly freeSlots: number[];
  private readonly cancelled = new Set<number>();

  constructor(readonly model: GlmForCausalLM, opts: EngineOptions = {}) {
    const cfg = model.config;
    this.maxSlots = opts.maxSlots ?? 8;
    this.slotCapacity = opts.slotCapacity ?? Math.min(cfg.maxPositionEmbeddings, 4096);
    this.maxPrefillTokens = opts.maxPrefillTokens ?? 2048;
    this.vocabLimit = sampleableIds(cfg.vocabSize, opts.vocabLimit);
    if (!Number.isInteger(this.maxSlots) || this.maxSlots < 1) throw new ConfigError(`maxSlots must be an integer >= 1, got ${this.maxSlots}`);
    if (this.slotCapacity > cfg.maxPositionEmbeddings) throw new ConfigError(`slotCapacity ${this.slotCapacity} exceeds max_position_embeddings ${cfg.maxPositionEmbeddings}`);
    this.cache = new SlotKVCache(this.maxSlots, this.slotCapacity, cfg.numHiddenLayers, cfg.numKeyValueHeads, cfg.headDim);
    this.freeSlots = Array.from({ length: this.maxSlots }, (_, i) => this.maxSlots - 1 - i);
  }

  /** Number of requests waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** Number of sequences being decoded. */
  get active(): number {
    return this.running.size;
  }

  get idle(): boolean {
    return this.queue.length === 0 && this.running.size === 0;
  }

  /** Checks a request and queues it; it starts at a later step. Throws ConfigError on a bad request. */
  submit(req: EngineRequest): void {
    if (req.images && req.images.length > 0) throw new ConfigError(`this is a text-only model; it cannot read the request's ${req.images.length} image(s); serve a GLM-4.1V (glm4v) model folder for images`);
    checkEngineRequest(req, this.model.config.vocabSize, this.slotCapacity);
    if (this.running.has(req.id) || this.queue.some((q) => q.id === req.id)) throw new ConfigError(`request id ${req.id} is already in the engine`);
    this.queue.push(req);
  }

  /** Stops a request (queued or running) at the next step; its slot is freed and a 'done' event with 'cancelled' follows. */
  cancel(id: number): void {
    this.cancelled.add(id);
  }

  /** Runs one engine step and returns what happened in it. */
  step(): EngineEvent[] {
    const events: EngineEvent[] = [];
    this.applyCancels(events);
    noGrad(() => {
      this.admit(events);
      this.decode(events);
    });
    return events;
  }

  private applyCancels(events: EngineEvent[]): void {
    if (this.cancelled.size === 0) return;
    for (const id of this.cancelled) {
      const qi = this.queue.findIndex((q) => q.id === id);
      if (qi >= 0) {
        const [q] = this.queue.splice(qi, 1);
        events.push({ type: 'done', id, finishReason: 'cancelled', promptTokens: q.prompt.length, completionTokens: 0 });
      }
      const r = this.running.get(id);
      if (r) this.finish(r, 'cancelled', events);
    }
    this.cancelled.clear();
  }

  /** Moves queued requests into free slots and prefills them in one right-padded forward. */
  private admit(events: EngineEvent[]): void {
    const batch: EngineRequest[] = [];
    let tokens = 0;
    while (this.queue.length > 0 && this.freeSlots.length > batch.length) {
      const next = this.queue[0];
      if (batch.length > 0 && tokens + next.prompt.length > this.maxPrefillTokens) break;
      batch.push(this.queue.shift()!);
      tokens += next.prompt.length;
    }
    if (batch.length === 0) return;
    const B = batch.length, T = Math.max(...batch.map((r) => r.prompt.length));
    const V = this.model.config.vocabSize, H = this.model.config.hiddenSize;
    const ids = new Int32Array(B * T), mask = new Int32Array(B * T);
    batch.forEach((r, b) => {
      ids.set(r.prompt, b * T);
      mask.fill(1, b * T, b * T + r.prompt.length);
    });
    const slots = batch.map(() => this.freeSlots.pop()!);
    for (const s of slots) this.cache.reset(s);
    this.cache.select(slots);
    const { hidden } = this.model.model.forward(new Tensor(ids, [B, T]), { cache: this.cache, attentionMask: mask });
    const hd = hidden.data as Float32Array; // [B, T, H]
    batch.forEach((req, b) => {
      const P = req.prompt.length;
      this.cache.truncate(slots[b], P);
      const rows = req.promptLogprobs ? P : 1;
      const h = hd.slice((b * T + P - rows) * H, (b * T + P) * H);
      const logits = this.model.logits(new Tensor(h, [rows, H])).data as Float32Array; // [rows, V]
      if (req.promptLogprobs) {
        const lp: (number | null)[] = [null], top: TopLogprob[][] = [[]];
        for (let t = 1; t < P; t++) {
          const row = logits.subarray((t - 1) * V, t * V);
          lp.push(tokenLogprob(row, req.prompt[t], 1));
          top.push(topLogprobs(row, Math.max(1, req.topLogprobs ?? 1)));
        }
        events.push({ type: 'prompt', id: req.id, logprobs: lp, top });
      }
      const running: Running = {
        req, slot: slots[b], rng: requestStream(req.seed ?? (Math.random() * 2 ** 32) >>> 0), stops: new Set(req.stopTokens ?? []),
        generated: 0, logits: logits.slice((rows - 1) * V, rows * V), next: -1,
      };
      this.running.set(req.id, running);
      if (req.maxTokens === 0) this.finish(running, 'length', events);
    });
  }

  /** Samples one token for every running sequence, then runs one decode forward for those that continue. */
  private decode(events: EngineEvent[]): void {
    if (this.running.size === 0) return;
    const cont: Running[] = [];
    for (const r of this.running.values()) {
      const logits = r.logits.subarray(0, this.vocabLimit);
      const { token, logprob } = sampleToken(logits, r.req, r.rng, r.req.logprobs !== false);
      const k = r.req.topLogprobs ?? 0;
      events.push({ type: 'token', id: r.req.id, token, logprob, top: k > 0 ? topLogprobs(logits, k, r.req.temperature) : [] });
      r.generated++;
      if (r.stops.has(token)) this.finish(r, 'stop', events);
      else if (r.generated >= r.req.maxTokens) this.finish(r, 'length', events);
      else {
        cont.push(r);
        r.next = token;
      }
    }
    if (cont.length === 0) return;
    const V = this.model.config.vocabSize;
    const ids = new Int32Array(cont.map((r) => r.next));
    this.cache.select(cont.map((r) => r.slot));
    const { hidden } = this.model.model.forward(new Tensor(ids, [cont.length, 1]), { cache: this.cache });
    const logits = this.model.logits(new Tensor(hidden.data as Float32Array, [cont.length, this.model.config.hiddenSize])).data as Float32Array;
    cont.forEach((r, i) => {
      r.logits = logits.slice(i * V, (i + 1) * V);
    });
  }

  private finish(r: Running, reason: 'stop' | 'length' | 'cancelled', events: EngineEvent[]): void {
    this.running.delete(r.req.id);
    this.cache.reset(r.slot);
    this.freeSlots.push(r.slot);
    events.push({ type: 'done', id: r.req.id, finishReason: reason, promptTokens: r.req.prompt.length, completionTokens: r.generated });
  }
}

/** The k most likely tokens of a logits row with their log-probs under logits/temperature (0 -> 1). */
export function topLogprobs(logits: Float32Array, k: number, temperature = 1): TopLogprob[] {
  const t = temperature && temperature > 0 ? temperature : 1;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp((logits[i] - max) / t);
  const logZ = Math.log(z);
  const best: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (best.length < k) {
      best.push(i);
      best.sort((a, b) => logits[b] - logits[a] || a - b);
    } else if (logits[i] > logits[best[k - 1]]) {
      best[k - 1] = i;
      best.sort((a, b) => logits[b] - logits[a] || a - b);
    }
  }
  return best.map((i) => ({ token: i, logprob: (logits[i] - max) / t - logZ }));
}
