/**
 * Generation on inference servers (`glmkit serve`, vLLM, SGLang) through the OpenAI completions API:
 * prompts go as token ids, the chosen tokens come back with their ids (`return_token_ids`) and
 * sampler log-probs (`logprobs`). Requests are spread by least outstanding work (tokens asked for
 * and not yet answered); a server that fails or times out is marked down for a while and the request
 * is retried on another; with none up the run stops with RolloutServersDown. Weight sync calls
 * `POST /update_weights_from_disk {"model_path": DIR}` on every server.
 */
import { GlmkitError } from '../../errors.js';
import { jsonHeaders } from '../../util/endpoint-url.js';
import type { GenerateOptions, GenerateResult } from '../../generation/generate.js';

/** Every rollout server is down: the run cannot go on. */
export class RolloutServersDown extends GlmkitError {
  constructor(message: string) {
    super('rollout_servers_down', message);
  }
}

export interface RolloutClientOptions {
  /** bearer key sent to every server */
  apiKey?: string | null;
  /** a request taking longer fails and is retried elsewhere (default 600 s) */
  timeoutMs?: number;
  /** how long a failed server is left alone (default 30 s) */
  downMs?: number;
  /** tries per request over all servers (default: 2 per server) */
  maxAttempts?: number;
  /** the `model` sent (default: the first id of each server's GET /v1/models) */
  model?: string | null;
  /** re-tokenises `text` when a server returns no token ids */
  encode?: (text: string) => number[];
}

interface Server {
  url: string;
  /** tokens asked for by requests in flight */
  outstanding: number;
  downUntil: number;
  lastError: string | null;
  /** the policy version the server reported after our last weight update (null: none pushed) */
  version: number | null;
  /** the folder of our last successful push (a revived server is brought up to date first) */
  dir: string | null;
  /** the id the server serves (the first of GET /v1/models), asked once */
  model: string | null;
}

export interface RemoteCompletion {
  tokens: number[];
  logprobs: number[];
  finish: 'stop' | 'length';
  version: number | null;
  server: string;
}

export interface CompletionRequest {
  prompt: readonly number[];
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
  stopTokens?: readonly number[];
}

export class RolloutClient {
  private readonly servers: Server[];
  private readonly opts: Required<Omit<RolloutClientOptions, 'encode' | 'apiKey' | 'model'>> & Pick<RolloutClientOptions, 'encode' | 'apiKey'>;
  /** the folder every server should serve (the trainer's latest push) */
  private current: string | null = null;
  readonly stats = { requests: 0, retries: 0, marked_down: 0, stale: 0, retokenised: 0, completion_tokens: 0, weight_updates: 0 };

  constructor(urls: readonly string[], opts: RolloutClientOptions = {}) {
    if (urls.length === 0) throw new RolloutServersDown('no rollout servers given (--rollout-url URL)');
    this.servers = urls.map((u) => ({ url: u.replace(/\/+$/, '').replace(/\/v1$/, ''), outstanding: 0, downUntil: 0, lastError: null, version: null, dir: null, model: opts.model ?? null }));
    this.opts = { timeoutMs: opts.timeoutMs ?? 600_000, downMs: opts.downMs ?? 30_000, maxAttempts: opts.maxAttempts ?? 2 * urls.length, apiKey: opts.apiKey, encode: opts.encode };
  }

  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  private headers(): Record<string, string> {
    return jsonHeaders(this.opts.apiKey);
  }

  private markDown(s: Server, why: string): void {
    if (s.downUntil <= Date.now()) this.stats.marked_down++;
    s.downUntil = Date.now() + this.opts.downMs;
    s.lastError = why;
  }

  private downError(): RolloutServersDown {
    const list = this.servers.map((s) => `${s.url} (${s.lastError ?? 'down'})`).join('; ');
    return new RolloutServersDown(`all ${this.servers.length} rollout servers are down: ${list}; start them again (glmkit serve --enable-weight-updates ...) and resume the run from its last checkpoint`);
  }

  /**
   * The up server with the least outstanding work, with `work` reserved on it before anything is
   * awaited (requests sent together spread); a server back from its down time is synced first.
   */
  private async pick(exclude: Set<Server>, work: number): Promise<Server> {
    for (;;) {
      const now = Date.now();
      const up = this.servers.filter((s) => s.downUntil <= now && !exclude.has(s));
      const pool = up.length > 0 ? up : this.servers.filter((s) => s.downUntil <= now);
      if (pool.length === 0) throw this.downError();
      const best = pool.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
      best.outstanding += work;
      if (this.current === null || best.dir === this.current || (await this.push(best, this.current))) return best;
      best.outstanding -= work;
    }
  }

  private async post(s: Server, path: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${s.url}${path}`, { method: 'POST', headers: this.headers(), body: JSON.stringify(body), signal: AbortSignal.timeout(this.opts.timeoutMs) });
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { message: text.slice(0, 200) };
    }
    return { status: res.status, json };
  }

  /** One completion on some server, retried elsewhere on failure. */
  async complete(req: CompletionRequest): Promise<RemoteCompletion> {
    const tried = new Set<Server>();
    for (let attempt = 0; attempt < this.opts.maxAttempts; attempt++) {
      const s = await this.pick(tried, req.maxTokens + 1);
      tried.add(s);
      // the version this request should run on (weights pushed while it is in flight do not apply to it)
      const expect = s.version;
      if (attempt > 0) this.stats.retries++;
      this.stats.requests++;
      try {
        s.model ??= await this.modelOf(s);
        const { status, json } = await this.post(s, '/v1/completions', {
          model: s.model, prompt: req.prompt, max_tokens: req.maxTokens, temperature: req.temperature, top_p: req.topP ?? 1, n: 1, logprobs: 0,
          ...(req.seed !== undefined ? { seed: req.seed } : {}), ...(req.stopTokens ? { stop_token_ids: req.stopTokens } : {}),
          return_token_ids: true, skip_special_tokens: false,
        });
        if (status === 429) {
          s.lastError = 'busy (429)';
          continue;
        }
        if (status >= 500) {
          this.markDown(s, `HTTP ${status}: ${errorText(json)}`);
          continue;
        }
        if (status !== 200) throw new GlmkitError('rollout_request', `rollout server ${s.url} refused a completion (HTTP ${status}): ${errorText(json)}`);
        const out = this.parse(s, json);
        if (expect !== null && out.version !== null && out.version !== expect) {
          // sampled on weights other than the ones we pushed before sending it: never train on it
          this.stats.stale++;
          s.lastError = `stale policy version ${out.version} (expected ${expect})`;
          // e.g. a restarted server: it gets the current weights again before its next request
          s.dir = null;
          continue;
        }
        this.stats.completion_tokens += out.tokens.length;
        return out;
      } catch (e) {
        if (e instanceof GlmkitError) throw e;
        this.markDown(s, (e as Error).name === 'TimeoutError' ? `timed out after ${this.opts.timeoutMs / 1000} s` : (e as Error).message);
      } finally {
        s.outstanding -= req.maxTokens + 1;
      }
    }
    if (this.servers.every((s) => s.downUntil > Date.now())) throw this.downError();
    throw new RolloutServersDown(`a completion failed on every try (${this.opts.maxAttempts}): ${this.servers.map((s) => `${s.url} (${s.lastError ?? 'ok'})`).join('; ')}`);
  }

  private async modelOf(s: Server): Promise<string> {
    const res = await fetch(`${s.url}/v1/models`, { headers: this.headers(), signal: AbortSignal.timeout(this.opts.timeoutMs) });
    const json = (await res.json()) as { data?: { id?: string }[] };
    const id = json.data?.[0]?.id;
    if (res.status !== 200 || typeof id !== 'string') throw new Error(`GET /v1/models answered HTTP ${res.status} without a model id`);
    return id;
  }

  private parse(s: Server, json: Record<string, unknown>): RemoteCompletion {
    const choice = (json.choices as Record<string, unknown>[] | undefined)?.[0];
    if (!choice) throw new GlmkitError('rollout_response', `rollout server ${s.url} answered without choices: ${JSON.stringify(json).slice(0, 200)}`);
    const lp = choice.logprobs as { token_logprobs?: (number | null)[] } | null;
    let tokens = choice.token_ids as number[] | undefined;
    if (!Array.isArray(tokens)) {
      if (!this.opts.encode) throw new GlmkitError('rollout_response', `rollout server ${s.url} returned no token_ids; use a server that honours return_token_ids (glmkit serve, vLLM >= 0.10)`);
      tokens = this.opts.encode(String(choice.text ?? ''));
      this.stats.retokenised++;
    }
    const logprobs = (lp?.token_logprobs ?? []).map((x) => x ?? 0);
    if (logprobs.length !== tokens.length) throw new GlmkitError('rollout_response', `rollout server ${s.url} returned ${tokens.length} token ids but ${logprobs.length} log-probs`);
    const version = typeof json.policy_version === 'number' ? json.policy_version : null;
    return { tokens, logprobs, finish: choice.finish_reason === 'stop' ? 'stop' : 'length', version, server: s.url };
  }

  /** `generate()`'s contract over the servers: one request per prompt, all in flight together. */
  async generate(prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<GenerateResult> {
    const greedy = (o.temperature ?? 1) === 0;
    // seeds come from the trainer's rng (reproducible runs); greedy decoding draws none, as generate() does
    const seeds = prompts.map(() => (greedy || !o.rng ? undefined : Math.floor(o.rng.random() * 2 ** 31)));
    const outs = await Promise.all(prompts.map((p, i) => this.complete({ prompt: p, maxTokens: o.maxNewTokens, temperature: o.temperature ?? 1, topP: o.topP, seed: seeds[i], stopTokens: o.stopTokens })));
    return { tokens: outs.map((x) => x.tokens), logprobs: outs.map((x) => x.logprobs), finishReason: outs.map((x) => x.finish) };
  }

  private async push(s: Server, dir: string): Promise<boolean> {
    try {
      const { status, json } = await this.post(s, '/update_weights_from_disk', { model_path: dir });
      if (status !== 200 || json.success !== true) {
        this.markDown(s, `update_weights_from_disk failed (HTTP ${status}): ${String(json.message ?? errorText(json))}`);
        return false;
      }
      s.version = typeof json.policy_version === 'number' ? json.policy_version : null;
      s.dir = dir;
      s.lastError = null;
      return true;
    } catch (e) {
      this.markDown(s, `update_weights_from_disk: ${(e as Error).message}`);
      return false;
    }
  }

  /**
   * Makes every server serve the weights in `dir` (a folder each server can read, under its
   * --weights-root). Servers that fail are marked down (and synced when they come back); throws
   * RolloutServersDown when none took the update.
   */
  async updateWeights(dir: string): Promise<void> {
    this.current = dir;
    const now = Date.now();
    const ok = await Promise.all(this.servers.map((s) => (s.downUntil > now ? false : this.push(s, dir))));
    if (!ok.some(Boolean)) throw this.downError();
    this.stats.weight_updates++;
  }
}

function errorText(json: Record<string, unknown>): string {
  const e = json.error as { message?: string } | undefined;
  return e?.message ?? String(json.message ?? JSON.stringify(json).slice(0, 200));
}
