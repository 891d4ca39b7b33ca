/**
 * Robust judge calls (docs/longreward.md): every call first at temperature 0, then, while the output
 * cannot be parsed, again at rising temperatures (RETRY_TEMPERATURES; at most `maxAttempts` tries in
 * all). Every request and its raw answer go to a content-addressed on-disk cache (the SHA-256 of the
 * judge id, messages, temperature, token budget and seed names the file), so a rerun asks the judge
 * nothing it already answered and an interrupted run resumes where it stopped. A call that stays
 * unparsable, or that the judge refuses (a prompt too long for its context), is a recorded failure
 * with its raw outputs: never a default score.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { stableStringify } from '../../util/config-hash.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import type { Judge, JudgeReply, JudgeRequest } from './judge.js';
import type { CallKind } from './prompts.js';

/** Temperatures of the first try and the retries. */
export const RETRY_TEMPERATURES: readonly number[] = [0, 0.3, 0.5, 0.7, 1.0];

export interface CallSpec<T> {
  kind: CallKind;
  messages: ChatMessage[];
  maxTokens: number;
  parse: (text: string) => T | null;
}

export type CallOutcome<T> =
  | { ok: true; value: T; raw: string; attempts: number }
  | { ok: false; error: string; raws: string[]; attempts: number };

export interface CallerOptions {
  /** folder of the call cache (none: no cache) */
  cacheDir?: string | null;
  /** tries per call, 1..5 (default 5) */
  maxAttempts?: number;
  /** base seed of sampled retries (default 0) */
  seed?: number;
}

export interface CallerStats {
  /** requests sent to the judge */
  requests: number;
  /** requests answered from the cache */
  cacheHits: number;
  /** calls that ended as failures */
  failures: number;
  /** calls that needed a retry */
  retried: number;
}

export class JudgeCaller {
  readonly stats: CallerStats = { requests: 0, cacheHits: 0, failures: 0, retried: 0 };
  readonly maxAttempts: number;

  constructor(readonly judge: Judge, readonly opts: CallerOptions = {}) {
    this.maxAttempts = opts.maxAttempts ?? RETRY_TEMPERATURES.length;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1 || this.maxAttempts > RETRY_TEMPERATURES.length) {
      throw new ConfigError(`judge attempts: expected an integer in 1..${RETRY_TEMPERATURES.length}, got ${this.maxAttempts}`);
    }
    if (opts.cacheDir) mkdirSync(opts.cacheDir, { recursive: true });
  }

  /** The cache key of a request. */
  key(req: JudgeRequest): string {
    return createHash('sha256').update(stableStringify({ judge: this.judge.id, ...req })).digest('hex');
  }

  private cachePath(key: string): string | null {
    return this.opts.cacheDir ? join(this.opts.cacheDir, key.slice(0, 2), `${key}.json`) : null;
  }

  private readCache(key: string): JudgeReply | null {
    const p = this.cachePath(key);
    if (!p || !existsSync(p)) return null;
    try {
      const entry = JSON.parse(readFileSync(p, 'utf8')) as { reply?: JudgeReply };
      return entry.reply && typeof entry.reply.ok === 'boolean' ? entry.reply : null;
    } catch {
      return null; // a torn write: ask again
    }
  }

  private writeCache(key: string, req: JudgeRequest, reply: JudgeReply): void {
    const p = this.cachePath(key);
    if (!p) return;
    mkdirSync(join(p, '..'), { recursive: true });
    const tmp = `${p}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ judge: this.judge.id, request: req, reply }) + '\n');
    renameSync(tmp, p);
  }

  /** Runs the calls (all tries of all calls batched per round); one outcome per call, in order. */
  async callAll<T>(specs: readonly CallSpec<T>[]): Promise<CallOutcome<T>[]> {
    const out = new Array<CallOutcome<T> | undefined>(specs.length);
    const raws: string[][] = specs.map(() => []);
    let pending = specs.map((_, i) => i);
    for (let a = 0; a < this.maxAttempts && pending.length > 0; a++) {
      const reqs = pending.map((i): JudgeRequest => ({ messages: specs[i].messages, temperature: RETRY_TEMPERATURES[a], maxTokens: specs[i].maxTokens, seed: (this.opts.seed ?? 0) + a }));
      const keys = reqs.map((r) => this.key(r));
      const replies = new Array<JudgeReply | null>(reqs.length).fill(null);
      const ask: number[] = [];
      keys.forEach((k, j) => {
        replies[j] = this.readCache(k);
        if (replies[j]) this.stats.cacheHits++;
        else ask.push(j);
      });
      if (ask.length > 0) {
        this.stats.requests += ask.length;
        const got = await this.judge.complete(ask.map((j) => reqs[j]), (n, reply) => {
          const j = ask[n];
          replies[j] = reply;
          this.writeCache(keys[j], reqs[j], reply);
        });
        ask.forEach((j, n) => {
          if (replies[j] === null) {
            replies[j] = got[n];
            this.writeCache(keys[j], reqs[j], got[n]);
          }
        });
      }
      const next: number[] = [];
      pending.forEach((i, j) => {
        const reply = replies[j]!;
        if (!reply.ok) {
          out[i] = { ok: false, error: `${specs[i].kind}: the judge failed the request: ${reply.error}`, raws: raws[i], attempts: a + 1 };
          return;
        }
        raws[i].push(reply.text);
        const value = specs[i].parse(reply.text);
        if (value !== null) out[i] = { ok: true, value, raw: reply.text, attempts: a + 1 };
        else next.push(i);
      });
      if (a === 0) this.stats.retried += next.length;
      pending = next;
    }
    for (const i of pending) out[i] = { ok: false, error: `${specs[i].kind}: unparsable judge output after ${this.maxAttempts} tries (last: ${JSON.stringify(raws[i].at(-1)?.slice(0, 120) ?? '')})`, raws: raws[i], attempts: this.maxAttempts };
    this.stats.failures += out.filter((o) => o && !o.ok).length;
    return out as CallOutcome<T>[];
  }
}
