/**
 * GRPO with verifiable rewards (`glmkit grpo`, docs/methods.md §6), one subclass of the base Trainer:
 *
 *   prepareStep (every num_iterations steps): curriculum draws prompts -> G multi-turn rollouts
 *     each -> verifier rewards -> curriculum update -> keep informative / most balanced groups ->
 *     advantages A_i = (r_i - mean) / (std + eps) -> split into micro-batches
 *   microBatchLoss: clipped surrogate  -min(rho A, clip(rho, 1 - eps_low, 1 + eps_high) A)  per
 *     generated token (+ beta * KL_k3 when beta > 0), token-mean or per-sample-mean.
 *
 * The clipped minimum is written as a mask: a token whose ratio is outside the clip range on the
 * side its advantage pushes towards contributes the constant clip value (no gradient); every other
 * token contributes -rho A. This is exactly -min(rho A, clip(rho) A) in value and gradient.
 *
 * The model is reached through a GrpoPolicy (policy.ts): a text GLM (given directly, wrapped in a
 * TextPolicy) or GLM-4.1V with image prompts (VisionPolicy, vision-policy.ts). Rollouts, the
 * log-prob forward, the KL reference and the saved folder come from it; everything else is shared.
 */
import * as F from '../../tensor/ops/index.js';
import { ConfigError } from '../../errors.js';
import type { GlmForCausalLM } from '../../models/glm/model.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { Rng } from '../../util/rng.js';
import { EOS_TOKEN } from '../../tokenizer/special-tokens.js';
import { saveTokenizer } from '../../tokenizer/tokenizer-json.js';
import { recordReward } from '../../rewards/index.js';
import { Curriculum, rewardSpread, TIERS, type CurriculumState, type Group } from '../../curriculum/rlcs.js';
import { DynamicTemperature, type DynamicTemperatureState } from '../../curriculum/temperature.js';
import { Trainer, type MicroBatchResult } from '../base/trainer.js';
import type { Metrics } from '../base/metrics.js';
import { RlChecks, RolloutDump, type DumpRecord } from '../checks/rl-checks.js';
import { boundaryError, grpoDumpRecords, rolloutAlarmFields, rolloutBoundaryProblems } from './grpo-checks.js';
import { groupAdvantages, sequenceBatch } from '../rl-utils.js';
import { grpoLoss, type GrpoLossDetail } from './grpo-loss.js';
import type { GrpoConfig } from './grpo-config.js';
import type { RlPrompt } from './grpo-data.js';
import { RemoteRollouts } from '../remote/remote-rollouts.js';
import type { Rollout, RolloutOptions } from './rollout.js';
import { asPolicy, logprobsNoGrad, type GrpoPolicy } from './policy.js';
import { DEFAULT_TOOLS, type ToolRunner } from './tools.js';
import { loadRewardScorer } from '../reward/reward-scorer.js';
import { RemoteRewardScorer, type AsyncScorer } from '../remote/reward-client.js';

/** One training sample: a rollout with its advantage (and old log-probs when reused). */
export interface Sample {
  r: Rollout;
  advantage: number;
  /** per completion token, log-probs of the policy that sampled it (num_iterations > 1) */
  old: number[] | null;
  /** index of the sample's record in the trainer's prompts (its images, for a vision policy) */
  record?: number;
  /** the rollout's reward, and its group (index in the step) for dumps */
  reward?: number;
  group?: number;
  /** policy lag: optimizer steps between the weights that sampled it and the step that trains on it */
  lag?: number;
}

/** A rollout batch launched (possibly ahead of its step, --rollout-ahead) and not yet consumed. */
interface LaunchedBatch {
  /** the trainer step whose weights sample it */
  version: number;
  drawn: number[];
  G: number;
  nPrompts: number;
  temperature: number;
  rolls: Promise<Rollout[]>;
}

export class GrpoTrainer extends Trainer<GrpoConfig> {
  readonly method = 'grpo';
  readonly curriculum: Curriculum;
  /** completions sampled for training so far (the pre-pass is counted in `prepassRollouts`) */
  rollouts = 0;
  prepassRollouts = 0;
  private chunks: Sample[][] = [];
  private micro = 0;
  private totals = { tokens: 0, samples: 0 };
  private stepMetrics: Record<string, number> = {};
  private readonly padId: number;
  private readonly tok: Tokenizer;
  private readonly ref: GrpoPolicy | null;
  /** the model trained, behind the interface GRPO needs of it (text GLM or GLM-4.1V) */
  readonly policy: GrpoPolicy;
  /** held-out prompts prepared for greedy evaluation (their images loaded) */
  private evalPrepared = false;
  private readonly dynTemp: DynamicTemperature | null;
  private prepassDone = false;
  readonly checks: RlChecks;
  private readonly dump: RolloutDump;
  /** prompts whose chat-template boundary was checked */
  private readonly boundaryChecked = new Set<number>();
  /** dump records of the current step's dropped groups */
  private dropped: DumpRecord[] = [];
  private drawnPrompts: number[] = [];
  /** the reward model that replaces the verifier as the training reward (--reward-model or --reward-url), or null */
  private readonly rewardModel: AsyncScorer | null;
  /** generation on inference servers (--rollout-url), or null (in-process) */
  readonly remote: RemoteRollouts | null;
  /** batches in flight for later steps (--rollout-ahead) */
  private ahead: LaunchedBatch[] = [];

  constructor(
    config: GrpoConfig,
    model: GlmForCausalLM | GrpoPolicy,
    tokenizer: Tokenizer,
    readonly prompts: RlPrompt[],
    readonly evalPrompts: RlPrompt[] | null,
    private readonly tools: ReadonlyMap<string, ToolRunner> = DEFAULT_TOOLS,
  ) {
    const policy = asPolicy(model, tokenizer);
    super(config, policy.module, tokenizer, prompts.length);
    this.policy = policy;
    this.tok = tokenizer;
    this.padId = tokenizer.requireId(EOS_TOKEN);
    const perStep = config.per_device_train_batch_size * config.gradient_accumulation_steps;
    if (perStep < config.num_generations) throw new ConfigError(`grpo: per_device_train_batch_size * gradient_accumulation_steps = ${perStep} completions per step is less than one group of num_generations = ${config.num_generations}; raise the batch or lower num_generations`);
    this.curriculum = new Curriculum(prompts.length, {
      kind: config.curriculum, samplesPerPrompt: config.num_generations, emaDecay: config.rlcs_ema_decay, tierFloor: config.rlcs_tier_floor,
      maxExpansion: config.rlcs_max_expansion, stageSwitch: config.stage_switch, stage2Samples: config.stage2_num_generations, poolStrength: config.rlcs_pool_strength,
    }, prompts.map((p) => (p.difficulty === undefined ? null : `${p.task ?? 'task'}:${p.difficulty}`)));
    prompts.forEach((p, i) => {
      if (p.offline_trials !== undefined && p.offline_successes !== undefined) this.curriculum.setOffline(i, p.offline_trials, p.offline_successes);
    });
    this.curriculum.poolOffline();
    this.ref = config.beta > 0 ? policy.frozenCopy() : null;
    if (config.reward_model && config.reward_url) throw new ConfigError('grpo: give --reward-model DIR (scored in-process) or --reward-url URL (scored by a server), not both');
    this.rewardModel = config.reward_model ? loadRewardScorer(config.reward_model, tokenizer, config.reward_aggregation || null) : RemoteRewardScorer.fromConfig(config);
    this.checks = new RlChecks(config, 'grpo');
    this.remote = RemoteRollouts.fromConfig(config, tokenizer);
    if (this.remote && !policy.causal) throw new ConfigError(`grpo: --rollout-url generates on inference servers, which serve text GLMs only; the policy is ${policy.kind}: drop --rollout-url to generate in-process`);
    if (config.rollout_ahead > 0 && !this.remote) throw new ConfigError(`grpo: --rollout-ahead ${config.rollout_ahead} overlaps generation on inference servers with the update; it needs --rollout-url (in-process generation runs on the trainer's own thread)`);
    this.dump = new RolloutDump(config.out, config.dump_rollouts);
    this.dynTemp = config.dynamic_temperature
      ? new DynamicTemperature(config.temperature, { candidates: config.temperature_candidates.split(',').map(Number), patience: config.temperature_patience })
      : null;
  }

  /** Rollout settings of training (or greedy evaluation with G = 1). */
  rolloutOptions(samplesPerPrompt: number, temperature: number): RolloutOptions {
    const c = this.config;
    return {
      samplesPerPrompt, temperature, topP: c.top_p, maxNewTokens: c.max_completion_length, forceAnswer: c.force_answer,
      answerTokens: c.force_answer_tokens, maxTurns: c.max_tool_turns, enableThinking: c.enable_thinking, tools: this.tools, rng: this.rng,
      recordRouting: (this.policy.causal?.moeLayers().length ?? 0) > 0, remoteGenerate: this.remote?.generate,
    };
  }

  /** Reward of a rollout: 0 for a malformed tool call, else the record's verifier. */
  static reward(record: RlPrompt, r: Rollout): number {
    return r.finish === 'malformed_tool' ? 0 : recordReward(record, r.parsed);
  }

  /** Offline pass@k pre-pass: k samples of every training prompt with the starting policy. */
  async prepass(): Promise<void> {
    const k = this.config.prepass_k;
    const bs = Math.max(1, Math.floor(64 / k));
    await this.remote?.sync(this.policy.causal!, this.step);
    for (let i = 0; i < this.prompts.length; i += bs) {
      const batch = this.prompts.slice(i, i + bs);
      await this.policy.prepare(batch);
      const rolls = await this.policy.rollouts(batch, this.rolloutOptions(k, this.config.temperature));
      batch.forEach((rec, j) => {
        const wins = rolls.slice(j * k, (j + 1) * k).filter((r) => GrpoTrainer.reward(rec, r) >= 0.5).length;
        this.curriculum.setOffline(i + j, k, wins);
      });
      this.prepassRollouts += rolls.length;
    }
    this.curriculum.poolOffline();
  }

  protected override async prepareStep(): Promise<void> {
    const c = this.config;
    this.micro = 0;
    if (this.evalPrompts && !this.evalPrepared) {
      await this.policy.prepare(this.evalPrompts.slice(0, c.eval_max_examples));
      this.evalPrepared = true;
    }
    // the records of reused (or resumed) rollout batches, for a forward that needs their images
    await this.policy.prepare([...new Set(this.chunks.flat().map((s) => s.record ?? -1))].filter((i) => i >= 0).map((i) => this.prompts[i]));
    if (this.step % c.num_iterations !== 0 && this.chunks.length > 0) return;
    this.policy.module.eval();
    try {
      if (!this.prepassDone && c.prepass_k > 0 && c.curriculum !== 'uniform') await this.prepass();
      this.prepassDone = true;
      await this.collect();
    } finally {
      this.policy.module.train();
    }
  }

  /**
   * Starts the rollout batch of step `target` on the current weights: draws its prompts and sends
   * its requests; the returned batch's rollouts arrive later (awaited by `collect`).
   */
  private async launch(target: number): Promise<LaunchedBatch> {
    const c = this.config;
    this.curriculum.progress = target / c.max_steps;
    const G = this.curriculum.samplesPerPrompt();
    const nPrompts = Math.max(1, Math.floor((c.per_device_train_batch_size * c.gradient_accumulation_steps) / G));
    const drawn = this.curriculum.draw(nPrompts, this.rng);
    const temperature = this.dynTemp?.temperature ?? c.temperature;
    await this.remote?.sync(this.policy.causal!, this.step);
    const records = drawn.map((i) => this.prompts[i]);
    await this.policy.prepare(records);
    const rolls = this.policy.rollouts(records, this.rolloutOptions(G, temperature));
    // awaited later; a failure is reported there, not as an unhandled rejection meanwhile
    rolls.catch(() => undefined);
    return { version: this.step, drawn, G, nPrompts, temperature, rolls };
  }

  /**
   * The rollout batch of this step (launched now, or earlier with --rollout-ahead K), then the
   * batches of the next K collecting steps are launched on the current weights so the servers
   * generate them while this step's update runs.
   */
  private async nextBatch(): Promise<{ batch: LaunchedBatch; rolls: Rollout[] }> {
    const c = this.config;
    const batch = this.ahead.shift() ?? (await this.launch(this.step));
    const rolls = await batch.rolls;
    for (let k = this.ahead.length + 1; k <= c.rollout_ahead; k++) {
      const target = this.step + k * c.num_iterations;
      if (target >= c.max_steps) break;
      this.ahead.push(await this.launch(target));
    }
    // give the event loop a few turns so the launched requests leave before the update blocks it
    if (this.ahead.length > 0) for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 1));
    return { batch, rolls };
  }

  /** One rollout batch: (launch,) roll out, reward, select, compute advantages, split. */
  private async collect(): Promise<void> {
    const c = this.config;
    const { batch, rolls } = await this.nextBatch();
    const { drawn, G, nPrompts, temperature } = batch;
    const lag = this.step - batch.version;
    this.rollouts += rolls.length;
    const verified = rolls.map((r) => GrpoTrainer.reward(this.prompts[drawn[r.prompt]], r));
    // with --reward-model the advantages come from its scores; the curriculum still tracks verified pass rates
    const rewards = this.rewardModel
      ? await this.rewardModel.score(rolls.map((r) => this.prompts[drawn[r.prompt]].prompt), rolls.map((r) => ({ role: 'assistant' as const, content: r.parsed.content, reasoning_content: r.parsed.reasoning_content ?? '' })))
      : verified;
    const groups: (Group & { k: number })[] = drawn.map((p, k) => ({ prompt: p, k, rewards: rewards.slice(k * G, (k + 1) * G) }));
    this.curriculum.observe(this.rewardModel ? groups.map((g) => ({ ...g, rewards: verified.slice(g.k * G, (g.k + 1) * G) })) : groups);
    const kept = this.curriculum.select(groups, nPrompts, c.dynamic_sampling) as (Group & { k: number })[];
    this.checkBoundaries(drawn, rolls, G);
    const samples: Sample[] = [];
    for (const g of kept) {
      const adv = groupAdvantages(g.rewards, G, { scaleByStd: c.scale_rewards });
      for (let i = 0; i < G; i++) samples.push({ r: rolls[g.k * G + i], advantage: adv[i], old: null, record: drawn[g.k], reward: g.rewards[i], group: g.k, ...(lag > 0 ? { lag } : {}) });
    }
    this.drawnPrompts = drawn;
    this.dropped = [];
    if (this.dump.due(this.step + 1)) {
      const keptK = new Set(kept.map((g) => g.k));
      const rest = rolls.map((r, i) => ({ r, advantage: 0, reward: rewards[i], group: r.prompt })).filter((s) => !keptK.has(s.group));
      this.dropped = grpoDumpRecords(this.tok, this.step + 1, rest, null, samples.length, (s) => (s as Sample).group ?? 0, (s) => drawn[(s as Sample).group ?? 0]);
    }
    if (c.num_iterations > 1) this.recordOldLogprobs(samples, temperature);
    // split into micro-batches; the loss normalisers are over the whole step
    const accum = c.gradient_accumulation_steps;
    const per = Math.ceil(samples.length / accum);
    this.chunks = Array.from({ length: accum }, (_, m) => samples.slice(m * per, (m + 1) * per));
    this.totals = { tokens: samples.reduce((a, s) => a + s.r.generated, 0), samples: samples.length };
    const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
    const stds = groups.map((g) => rewardSpread(g.rewards));
    const cur = this.curriculum.summary();
    this.stepMetrics = {
      reward: mean,
      ...(this.rewardModel ? { verified_reward: verified.reduce((a, b) => a + b, 0) / verified.length } : {}),
      reward_std: stds.reduce((a, b) => a + b, 0) / stds.length,
      frac_reward_zero_std: stds.filter((s) => s <= 1e-6).length / stds.length,
      'completions/mean_length': rolls.reduce((a, r) => a + r.generated, 0) / rolls.length,
      'completions/clipped_ratio': rolls.filter((r) => r.finish === 'length' || r.finish === 'forced').length / rolls.length,
      'completions/forced_ratio': rolls.filter((r) => r.finish === 'forced').length / rolls.length,
      'tools/calls_mean': rolls.reduce((a, r) => a + r.toolCalls, 0) / rolls.length,
      'tools/malformed_ratio': rolls.filter((r) => r.finish === 'malformed_tool').length / rolls.length,
      groups_kept: kept.length,
      rollouts: this.rollouts,
      ...this.remote?.metrics(),
      ...(c.rollout_ahead > 0 ? { 'rollout/lag_mean': lag, 'rollout/lag_max': lag } : {}),
      temperature,
      'curriculum/expansion': cur.expansion,
      'curriculum/invalid_rate': cur.invalid_rate,
      ...Object.fromEntries(TIERS.filter((t) => cur.tiers[t]).map((t) => [`curriculum/weight_${t}`, cur.tiers[t].weight])),
      ...rolloutAlarmFields(rolls, rewards, stds.filter((s) => s <= 1e-6).length / stds.length),
    };
    if (this.dynTemp && this.dynTemp.observe(mean) && this.evalPrompts) await this.retuneTemperature();
  }

  /** Dynamic temperature: sampled held-out reward at each candidate, then the highest within 1%. */
  private async retuneTemperature(): Promise<void> {
    const items = this.evalPrompts!.slice(0, this.config.eval_max_examples);
    const scores = new Map<number, number>();
    for (const t of this.dynTemp!.opts.candidates) {
      const rolls = await this.policy.rollouts(items, this.rolloutOptions(2, t));
      scores.set(t, rolls.reduce((a, r) => a + GrpoTrainer.reward(items[Math.floor(r.prompt)], r), 0) / rolls.length);
    }
    this.dynTemp!.choose(scores);
  }

  private recordOldLogprobs(samples: Sample[], temperature: number): void {
    const bs = this.config.per_device_train_batch_size;
    for (let i = 0; i < samples.length; i += bs) {
      const part = samples.slice(i, i + bs);
      const batch = sequenceBatch(part.map((s) => s.r.promptIds), part.map((s) => s.r.completion), this.padId, part.map((s) => s.r.mask));
      const replay = this.config.routing_replay ? { offsets: part.map((s) => s.r.promptIds.length - 1), routing: part.map((s) => s.r.routing), promptRouting: part.map((s) => s.r.promptRouting) } : null;
      const lp = logprobsNoGrad(this.policy, this.recordsOf(part), batch, replay, temperature, this.vocabLimit);
      const T = lp.shape[1];
      part.forEach((s, b) => (s.old = s.r.completion.map((_, t) => lp.data[b * T + s.r.promptIds.length + t - 1] as number)));
    }
  }

  protected microBatchLoss(accumulation: number): MicroBatchResult {
    const c = this.config;
    const chunk = this.chunks[this.micro++] ?? [];
    if (chunk.length === 0 || this.totals.tokens === 0) {
      // no informative group this step: a zero loss that still has a graph
      const p = this.policy.module.parameters()[0];
      return { loss: F.mul(F.sum(p), 0), lossValue: 0, tokens: 0, metrics: { ...this.stepMetrics } };
    }
    const temperature = this.stepMetrics.temperature ?? c.temperature;
    // the first step on a rollout batch runs on the policy that sampled it: compare with the sampler
    // (a sample generated ahead came from older weights: its log-probs differ by design)
    const fresh = this.step % c.num_iterations === 0 && chunk.every((s) => !s.lag);
    const r = grpoLoss(this.policy, this.ref, chunk, { ...c, temperature, padId: this.padId, totals: this.totals, vocabLimit: this.vocabLimit, records: this.recordsOf(chunk), compareSampler: fresh, routingReplay: c.routing_replay, behaviourCap: c.rollout_ahead > 0 ? c.rollout_is_cap : null });
    this.observeChecks(chunk, r.detail);
    return { loss: r.loss, lossValue: r.value * accumulation, tokens: r.tokens, metrics: { ...this.stepMetrics, ...r.metrics } };
  }

  /** Ids the policy samples from (log-probs renormalise over them). */
  private get vocabLimit(): number {
    return this.policy.vocabLimit ?? this.tok.vocabSize;
  }

  /** The record of each sample (its images, for a vision policy). */
  private recordsOf(samples: readonly Sample[]): RlPrompt[] {
    return samples.map((s) => this.prompts[s.record ?? this.drawnPrompts[s.r.prompt]]);
  }

  /** Writes the policy's model folder (text GLM or GLM-4.1V) and the tokenizer. */
  protected override writeModelFolder(dir: string): void {
    this.policy.save(dir);
    saveTokenizer(this.tok, dir);
  }

  /** Chat-template boundary of each prompt drawn for the first time (one rollout per prompt). */
  private checkBoundaries(drawn: readonly number[], rolls: readonly Rollout[], G: number): void {
    let bad = 0;
    drawn.forEach((p, k) => {
      if (this.boundaryChecked.has(p)) return;
      this.boundaryChecked.add(p);
      const problems = rolloutBoundaryProblems(this.tok, this.prompts[p], rolls[k * G], this.config.enable_thinking, this.policy.renderer(this.prompts[p]) ?? undefined);
      if (problems.length === 0) return;
      bad++;
      this.checks.violation('template', boundaryError(this.prompts[p], p, problems).message, () => boundaryError(this.prompts[p], p, problems));
    });
    this.checks.set({ 'check/template_violations': bad });
  }

  /** Sampler checks and dump records of one micro-batch. */
  private observeChecks(chunk: readonly Sample[], d: GrpoLossDetail): void {
    const describe = (row: number) => `prompt ${this.drawnPrompts[chunk[row].r.prompt] ?? chunk[row].r.prompt}`;
    if (d.deviation) this.checks.logprobs(d.deviation, this.step === 0, describe);
    if (d.routing) this.checks.routingAgreement(d.routing);
    if (d.eosDropped.length > 0) this.checks.violation('eos', `the stop token of ${d.eosDropped.length} completion(s) (${describe(d.eosDropped[0])}) is not in the loss: the policy cannot learn to end its turn (pad == EOS masking?)`);
    if (this.dump.due(this.step + 1)) {
      const first = (this.micro - 1) * Math.ceil(this.totals.samples / this.config.gradient_accumulation_steps);
      for (const rec of grpoDumpRecords(this.tok, this.step + 1, chunk, d, first, (s) => (s as Sample).group ?? 0, (s) => this.drawnPrompts[(s as Sample).group ?? 0] ?? -1)) this.dump.add(rec);
    }
  }

  protected override afterStep(m: Metrics): void {
    for (const [from, to] of [['clip_ratio/low_mean', 'alarm/clip_low'], ['clip_ratio/high_mean', 'alarm/clip_high'], ['clip_ratio', 'alarm/clip_share'], ['entropy', 'alarm/entropy'], ['kl', 'alarm/kl']] as const) if (typeof m[from] === 'number') m[to] = m[from];
    if (this.dump.due(Number(m.step))) {
      for (const rec of this.dropped) this.dump.add(rec);
      this.dropped = [];
      this.dump.flush(Number(m.step));
    }
    this.checks.afterStep(m);
  }

  /** Greedy accuracy on the held-out prompts (eval_accuracy). */
  protected override evaluate(): Record<string, number> {
    if (!this.evalPrompts) return {};
    const prompts = this.evalPrompts.slice(0, this.config.eval_max_examples);
    const { accuracy, byLevel } = scoreSummary(prompts, greedyScores(this.policy, this.tok, prompts, this.rolloutOptions(1, 0)));
    const levels = Object.entries(byLevel).map(([k, v]) => [`eval_accuracy_${k}`, v]);
    return { eval_accuracy: accuracy, ...(levels.length > 1 ? Object.fromEntries(levels) : {}), rollouts: this.rollouts };
  }

  /**
   * Everything of GRPO that decides later steps: the curriculum, the dynamic temperature, the pre-pass
   * (done, and its results inside the curriculum), rollout counts, and the current rollout batch (used
   * again by the next num_iterations - 1 steps).
   */
  protected override exportState(): Record<string, unknown> {
    return {
      rollouts: this.rollouts, prepass_rollouts: this.prepassRollouts, prepass_done: this.prepassDone,
      curriculum: this.curriculum.exportState(), dynamic_temperature: this.dynTemp?.exportState() ?? null,
      chunks: this.chunks, totals: this.totals, step_metrics: this.stepMetrics, alarms: this.checks.alarms.exportState(),
    };
  }

  protected override importState(s: Record<string, unknown>): void {
    this.rollouts = s.rollouts as number;
    this.prepassRollouts = s.prepass_rollouts as number;
    this.prepassDone = s.prepass_done as boolean;
    this.curriculum.importState(s.curriculum as CurriculumState);
    if (this.dynTemp && s.dynamic_temperature) this.dynTemp.importState(s.dynamic_temperature as DynamicTemperatureState);
    this.chunks = s.chunks as Sample[][];
    this.totals = s.totals as { tokens: number; samples: number };
    this.stepMetrics = s.step_metrics as Record<string, number>;
    this.checks.alarms.importState(s.alarms as Record<string, unknown> | undefined);
  }
}

/** Share of prompts answered correctly by a greedy rollout each (batched, synchronous tools). */
export function greedyAccuracy(model: GlmForCausalLM | GrpoPolicy, tok: Tokenizer, prompts: readonly RlPrompt[], opts: RolloutOptions, batchSize = 32): number {
  return scoreSummary(prompts, greedyScores(model, tok, prompts, opts, batchSize)).accuracy;
}

/**
 * The reward of each prompt's greedy completion (1 right, 0 wrong), in prompt order. A vision
 * policy's prompts must have been prepared (`policy.prepare`, or `greedyScoresAsync`).
 */
export function greedyScores(model: GlmForCausalLM | GrpoPolicy, tok: Tokenizer, prompts: readonly RlPrompt[], opts: RolloutOptions, batchSize = 32): number[] {
  // A stream of its own: greedy decoding samples nothing, but every generate() call draws its
  // per-call stream base from opts.rng, so evaluating with the trainer's rng would advance it by one
  // draw per batch and make training depend on how many prompts were evaluated, and when.
  return meanScores(asPolicy(model, tok), prompts, { ...opts, samplesPerPrompt: 1, temperature: 0, rng: new Rng(0) }, batchSize);
}

/**
 * Each prompt's mean reward over `samples` completions drawn at `opts.temperature` (avg@k), in
 * prompt order, from a stream of its own seeded by `seed` (never the trainer's): two models measured
 * with the same seed draw the same random numbers, which narrows the interval of their difference.
 * A vision policy's prompts must have been prepared.
 */
export function sampledScores(model: GlmForCausalLM | GrpoPolicy, tok: Tokenizer, prompts: readonly RlPrompt[], opts: RolloutOptions, samples: number, seed = 0, batchSize = 16): number[] {
  if (!Number.isInteger(samples) || samples < 1) throw new ConfigError(`sampledScores: expected samples per prompt >= 1, got ${samples}`);
  if (!(opts.temperature > 0)) throw new ConfigError(`sampledScores: expected a sampling temperature > 0, got ${opts.temperature}; greedyScores measures greedy answers`);
  return meanScores(asPolicy(model, tok), prompts, { ...opts, samplesPerPrompt: samples, rng: new Rng(seed) }, batchSize);
}

/** Mean reward per prompt of `opts.samplesPerPrompt` rollouts each, `batchSize` prompts per batch. */
function meanScores(policy: GrpoPolicy, prompts: readonly RlPrompt[], opts: RolloutOptions, batchSize: number): number[] {
  const scores = new Array<number>(prompts.length).fill(0);
  const k = opts.samplesPerPrompt;
  for (let i = 0; i < prompts.length; i += batchSize) {
    const part = prompts.slice(i, i + batchSize);
    const rolls = policy.rolloutsSync(part, opts);
    rolls.forEach((r) => (scores[i + r.prompt] += GrpoTrainer.reward(part[r.prompt], r) / k));
  }
  return scores;
}

/** greedyScores after preparing the prompts (loading their images for a vision policy). */
export async function greedyScoresAsync(model: GlmForCausalLM | GrpoPolicy, tok: Tokenizer, prompts: readonly RlPrompt[], opts: RolloutOptions, batchSize = 32): Promise<number[]> {
  const policy = asPolicy(model, tok);
  await policy.prepare(prompts);
  return greedyScores(policy, tok, prompts, opts, batchSize);
}

/** Mean score (NaN for no prompts) and the accuracy per difficulty level of prompts that carry one. */
export function scoreSummary(prompts: readonly RlPrompt[], scores: readonly number[]): { accuracy: number; byLevel: Record<string, number> } {
  return { accuracy: prompts.length === 0 ? NaN : scores.reduce((a, b) => a + b, 0) / prompts.length, byLevel: accuracyByLevel(prompts, scores) };
}

/** Accuracy per difficulty level ("level_3": ...) of prompts that carry one. */
export function accuracyByLevel(prompts: readonly RlPrompt[], scores: readonly number[]): Record<string, number> {
  const acc = new Map<number, [number, number]>();
  prompts.forEach((p, i) => {
    if (p.difficulty === undefined) return;
    const a = acc.get(p.difficulty) ?? [0, 0];
    a[0] += scores[i];
    a[1]++;
    acc.set(p.difficulty, a);
  });
  return Object.fromEntries([...acc].sort((a, b) => a[0] - b[0]).map(([l, [c, n]]) => [`level_${l}`, c / n]));
}

