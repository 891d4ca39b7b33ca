/**
 * The trainer's side of remote rollouts: the `--rollout-url` options, and the policy pushed to the
 * servers as an HF folder (written under --rollout-weights-dir, loaded by the servers through
 * /update_weights_from_disk) before each rollout batch that follows an update.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { GenerateOptions, GenerateResult } from '../../generation/generate.js';
import { saveModel } from '../../models/glm/checkpoint.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { field } from '../base/config.js';
import { RolloutClient } from './rollout-client.js';

export const remoteRolloutSchema = {
  rollout_url: field<string | string[] | null>('string', null, 'generate rollouts on this inference server (glmkit serve --enable-weight-updates, vLLM, SGLang) instead of in-process', { nullable: true, multiple: true, placeholder: 'url' }),
  rollout_api_key_env: field<string | null>('string', null, 'environment variable holding the bearer key of the rollout servers', { nullable: true, placeholder: 'var' }),
  rollout_weights_dir: field<string | null>('path', null, 'where the policy is written for the rollout servers to load (under their --weights-root; default: <out>/rollout-weights)', { nullable: true, placeholder: 'dir' }),
  rollout_timeout: field('number', 600, 'seconds a rollout request may take before it is retried on another server', { min: 0.001 }),
  rollout_down_seconds: field('number', 30, 'seconds a failed rollout server is left alone', { min: 0 }),
};

/** Asynchronous rollouts (grpo and ppo): generation of the next batches overlaps the update. */
export const rolloutAheadSchema = {
  rollout_ahead: field('int', 0, 'K: with --rollout-url, the servers generate the next K rollout batches while this one trains (asynchronous RL); samples then come from older weights, recorded as rollout/lag_* and importance-weighted (docs/scaling.md). Needs --rollout-url', { min: 0 }),
  rollout_is_cap: field('number', 2, 'with --rollout-ahead: cap C of the per-token importance weight min(pi_old / pi_behaviour, C) (truncated importance sampling)', { min: 1 }),
};

export interface RemoteRolloutValues {
  rollout_url: string | string[] | null;
  rollout_api_key_env: string | null;
  rollout_weights_dir: string | null;
  rollout_timeout: number;
  rollout_down_seconds: number;
  out: string;
}

export class RemoteRollouts {
  /** the trainer step whose weights the servers serve (-1: none pushed yet) */
  private pushedStep = -1;
  private lastDir: string | null = null;

  constructor(readonly client: RolloutClient, private readonly weightsDir: string) {}

  /** The remote rollouts a config asks for, or null (in-process generation). */
  static fromConfig(c: RemoteRolloutValues, tok: Tokenizer): RemoteRollouts | null {
    const urls = c.rollout_url === null ? [] : Array.isArray(c.rollout_url) ? c.rollout_url : [c.rollout_url];
    if (urls.length === 0) return null;
    let apiKey: string | null = null;
    if (c.rollout_api_key_env !== null) {
      apiKey = process.env[c.rollout_api_key_env] ?? null;
      if (!apiKey) throw new ConfigError(`--rollout-api-key-env ${c.rollout_api_key_env}: that environment variable is not set; export it with the servers' key`);
    }
    const client = new RolloutClient(urls, { apiKey, timeoutMs: c.rollout_timeout * 1000, downMs: c.rollout_down_seconds * 1000, encode: (t) => tok.encode(t, { allowSpecial: true }) });
    return new RemoteRollouts(client, resolve(c.rollout_weights_dir ?? join(c.out, 'rollout-weights')));
  }

  /** Pushes the policy to the servers unless they already serve the weights of `step`. */
  async sync(model: GlmForCausalLM, step: number): Promise<void> {
    if (step === this.pushedStep) return;
    const dir = join(this.weightsDir, `step-${step}`);
    saveModel(dir, model);
    await this.client.updateWeights(dir);
    if (this.lastDir && this.lastDir !== dir) rmSync(this.lastDir, { recursive: true, force: true });
    this.lastDir = dir;
    this.pushedStep = step;
  }

  readonly generate = (prompts: number[][], o: GenerateOptions): Promise<GenerateResult> => this.client.generate(prompts, o);

  /** Counters for the step metrics (`rollout/...`). */
  metrics(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.client.stats).map(([k, v]) => [`rollout/${k}`, v]));
  }
}
