/** What the route handlers share: the engine, the tokenizer, the served model id and the limits. */
import { randomBytes } from 'node:crypto';
import type { Tokenizer } from '../tokenizer/index.js';
import type { EngineClient } from './engine-client.js';
import type { ServerAgents } from './agent-route.js';
import type { VisionServing } from './images.js';
import { OverloadedError } from './engine-client.js';

export interface ServerLimits {
  /** request body bytes at most (413 beyond) */
  bodyLimit: number;
  /** choices per request at most */
  maxN: number;
  maxMessages: number;
  /** prompts per /v1/completions request at most */
  maxPrompts: number;
}

export const DEFAULT_LIMITS: ServerLimits = { bodyLimit: 4 * 1024 * 1024, maxN: 8, maxMessages: 256, maxPrompts: 64 };

/** Writes server-sent events (`data: <json>\n\n`, then `data: [DONE]`). */
export interface SseWriter {
  send(obj: object): void;
  end(): void;
}

export class ServerContext {
  readonly fingerprint = `fp_glmkit_${randomBytes(4).toString('hex')}`;
  private counter = 0;

  constructor(
    readonly engine: EngineClient,
    readonly tokenizer: Tokenizer,
    readonly modelId: string,
    readonly contextLength: number,
    readonly stopTokens: number[],
    readonly limits: ServerLimits,
    /** server-side tool execution (null: off) */
    readonly agents: ServerAgents | null = null,
    /** a vision-language model's image processor and accepted image sources (null: a text-only model) */
    readonly vision: VisionServing | null = null,
  ) {}

  newId(): string {
    return `${Date.now().toString(36)}${(this.counter++).toString(36)}${randomBytes(3).toString('hex')}`;
  }

  /** Throws 429 when `k` more requests would exceed the queue (checked before a stream opens). */
  checkCapacity(k: number): void {
    if (this.engine.inFlight + k > this.engine.maxPending) {
      throw new OverloadedError(`the server is busy: ${this.engine.inFlight} requests in flight (limit ${this.engine.maxPending}); retry later`, 429);
    }
  }
}
