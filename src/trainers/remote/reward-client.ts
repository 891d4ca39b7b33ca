/**
 * Rewards from a reward model served elsewhere (`glmkit serve --reward-model DIR`, POST /v1/score,
 * src/server/score-route.ts): the trainer sends each (prompt, response) as one conversation and
 * gets one score back, the same number the local `--reward-model` would give. A failed request is
 * retried once after `retryMs`; then the run stops with the server's answer.
 */
import { ConfigError, GlmkitError } from '../../errors.js';
import type { ChatMessage } from '../../tokenizer/chat-types.js';
import { jsonHeaders } from '../../util/endpoint-url.js';
import { field } from '../base/config.js';

export const remoteRewardSchema = {
  reward_url: field<string | null>('string', null, 'score rollouts with the reward model served at this URL (glmkit serve --reward-model DIR, POST /v1/score) instead of in-process', { nullable: true, placeholder: 'url' }),
  reward_api_key_env: field<string | null>('string', null, 'environment variable holding the bearer key of the --reward-url server', { nullable: true, placeholder: 'var' }),
};

export interface RemoteRewardValues {
  reward_url: string | null;
  reward_api_key_env: string | null;
  reward_aggregation?: string;
}

/** A batch of responses scored remotely (the asynchronous counterpart of ResponseScorer). */
export interface AsyncScorer {
  score(prompts: readonly ChatMessage[][], responses: readonly ChatMessage[]): number[] | Promise<number[]>;
}

export class RemoteRewardScorer implements AsyncScorer {
  private model: string | null = null;
  readonly stats = { score_requests: 0, scored: 0 };

  constructor(readonly url: string, private readonly opts: { apiKey?: string | null; aggregation?: string | null; timeoutMs?: number; retryMs?: number } = {}) {
    this.url = url.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  /** The scorer a config asks for with --reward-url, or null. */
  static fromConfig(c: RemoteRewardValues): RemoteRewardScorer | null {
    if (!c.reward_url) return null;
    let apiKey: string | null = null;
    if (c.reward_api_key_env !== null) {
      apiKey = process.env[c.reward_api_key_env] ?? null;
      if (!apiKey) throw new ConfigError(`--reward-api-key-env ${c.reward_api_key_env}: that environment variable is not set; export it with the reward server's key`);
    }
    return new RemoteRewardScorer(c.reward_url, { apiKey, aggregation: c.reward_aggregation || null });
  }

  private headers(): Record<string, string> {
    return jsonHeaders(this.opts.apiKey);
  }

  private async request(path: string, body?: object): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.url}${path}`, { method: body ? 'POST' : 'GET', headers: this.headers(), ...(body ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 600_000) });
    const text = await res.text();
    try {
      return { status: res.status, json: JSON.parse(text) as Record<string, unknown> };
    } catch {
      return { status: res.status, json: { message: text.slice(0, 200) } };
    }
  }

  private async once(prompts: readonly ChatMessage[][], responses: readonly ChatMessage[]): Promise<number[]> {
    if (this.model === null) {
      const { status, json } = await this.request('/v1/models');
      const models = (json.data as { id?: string; type?: string }[] | undefined) ?? [];
      const rm = models.find((m) => m.type === 'reward') ?? models[0];
      if (status !== 200 || typeof rm?.id !== 'string') throw new GlmkitError('reward_server', `reward server ${this.url}: GET /v1/models answered HTTP ${status} without a model id`);
      this.model = rm.id;
    }
    const { status, json } = await this.request('/v1/score', { model: this.model, messages: prompts.map((p, i) => [...p, responses[i]]), ...(this.opts.aggregation ? { aggregation: this.opts.aggregation } : {}) });
    const data = json.data as { index: number; score: number }[] | undefined;
    if (status !== 200 || !Array.isArray(data)) {
      const e = json.error as { message?: string } | undefined;
      throw new GlmkitError('reward_server', `reward server ${this.url} refused to score (HTTP ${status}): ${e?.message ?? String(json.message ?? JSON.stringify(json).slice(0, 200))}; is it glmkit serve --reward-model DIR?`);
    }
    const out = new Array<number>(responses.length).fill(NaN);
    for (const d of data) out[d.index] = d.score;
    if (out.some((x) => typeof x !== 'number' || Number.isNaN(x))) throw new GlmkitError('reward_server', `reward server ${this.url} returned ${data.length} scores for ${responses.length} responses`);
    return out;
  }

  async score(prompts: readonly ChatMessage[][], responses: readonly ChatMessage[]): Promise<number[]> {
    if (responses.length === 0) return [];
    this.stats.score_requests++;
    let out: number[];
    try {
      out = await this.once(prompts, responses);
    } catch (e) {
      if (e instanceof GlmkitError && /HTTP 4\d\d/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, this.opts.retryMs ?? 1000));
      try {
        out = await this.once(prompts, responses);
      } catch (e2) {
        if (e2 instanceof GlmkitError) throw e2;
        throw new GlmkitError('reward_server', `reward server ${this.url} is unreachable (${(e2 as Error).message}); start it (glmkit serve --reward-model DIR) and resume the run from its last checkpoint`);
      }
    }
    this.stats.scored += out.length;
    return out;
  }
}
