/**
 * What the GRPO trainer needs of the model it trains, behind one small interface, so one trainer
 * serves the text GLM (`TextPolicy`, here) and GLM-4.1V with image prompts (`VisionPolicy`,
 * vision-policy.ts):
 *
 *   prepare(records)        load whatever the records need before sampling or scoring (images)
 *   rollouts / rolloutsSync G multi-turn samples per record (training / greedy evaluation)
 *   logits(records, batch)  the forward over prompt + completion sequences whose log-probs the loss
 *                           takes (with the records' images for a vision model)
 *   frozenCopy / save       the KL reference, and the model folder of a checkpoint
 */
import { ConfigError } from '../../errors.js';
import type { Glm4vForConditionalGeneration } from '../../models/glm4v/model.js';
import { GlmForCausalLM } from '../../models/glm/model.js';
import { saveModel } from '../../models/glm/checkpoint.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { routedForward } from '../checks/routing-check.js';
import { noGradResult, samplingLogits, targetLogprobs, type SequenceBatch } from '../rl-utils.js';
import { noGrad } from '../../tensor/autograd.js';
import type { RenderIds } from '../checks/sequence-checks.js';
import type { RlPrompt } from './grpo-data.js';
import { rolloutBatch, rolloutBatchSync, type Rollout, type RolloutOptions } from './rollout.js';

/** Per batch row, the routing the rollout recorded (MoE routing replay). */
export interface RowRouting {
  offsets: readonly number[];
  routing: readonly (readonly (readonly number[] | null)[] | undefined)[];
  promptRouting: readonly (readonly (readonly number[])[] | undefined)[];
}

export interface GrpoPolicy {
  /** the trained module (its parameters are optimised) */
  readonly module: GlmForCausalLM | Glm4vForConditionalGeneration;
  /** the text model when the policy is one (MoE routing checks and replay, remote rollouts), else null */
  readonly causal: GlmForCausalLM | null;
  /** what the model is, in words (errors) */
  readonly kind: string;
  /** ids below this are sampled (default: the tokenizer's vocabulary) */
  readonly vocabLimit?: number;
  /** Loads what `records` need before they are sampled or scored (cached per record). */
  prepare(records: readonly RlPrompt[]): Promise<void>;
  /** `opts.samplesPerPrompt` rollouts per record, prompt-major (records must be prepared). */
  rollouts(records: readonly RlPrompt[], opts: RolloutOptions): Promise<Rollout[]>;
  /** The same with synchronous tools only (evaluation inside the training loop). */
  rolloutsSync(records: readonly RlPrompt[], opts: RolloutOptions): Rollout[];
  /**
   * Logits [B, T, V] over `batch` (prompt + completion ids, right-padded), row b being a rollout of
   * `records[b]`; differentiable unless called inside noGrad.
   */
  logits(records: readonly RlPrompt[], batch: SequenceBatch, routing: RowRouting | null): Tensor;
  /**
   * Whether a no-grad `logits` call keeps nothing it makes (no cache filled on the way), so its buffers
   * can be handed back when its log-probs are taken (withScratchBuffers, src/tensor/buffer-pool.ts).
   */
  readonly scratchForward: boolean;
  /**
   * How the chat template renders conversations that extend `record` (the chat-template boundary
   * check), or null for the plain text template; a prepared record's images keep their token counts.
   */
  renderer(record: RlPrompt): RenderIds | null;
  /** A frozen copy of the current weights (the KL reference). */
  frozenCopy(): GrpoPolicy;
  /** Writes the model folder (config, weights; not the tokenizer). */
  save(dir: string): void;
}

/** The text GLM (dense or MoE) as a GRPO policy: rollouts through `rolloutBatch`, routing replay for MoE. */
export class TextPolicy implements GrpoPolicy {
  readonly kind = 'a text GLM';
  readonly scratchForward = true;
  constructor(
    readonly causal: GlmForCausalLM,
    /** null: a policy that only scores (the loss's forward), never samples */
    private readonly tok: Tokenizer | null = null,
  ) {}

  private get tokenizer(): Tokenizer {
    if (!this.tok) throw new ConfigError('TextPolicy: rollouts need the tokenizer; construct the policy with it');
    return this.tok;
  }

  get module(): GlmForCausalLM {
    return this.causal;
  }

  async prepare(): Promise<void> {}

  rollouts(records: readonly RlPrompt[], opts: RolloutOptions): Promise<Rollout[]> {
    return rolloutBatch(this.causal, this.tokenizer, records, opts);
  }

  rolloutsSync(records: readonly RlPrompt[], opts: RolloutOptions): Rollout[] {
    return rolloutBatchSync(this.causal, this.tokenizer, records, opts);
  }

  logits(_records: readonly RlPrompt[], batch: SequenceBatch, routing: RowRouting | null): Tensor {
    if (!routing) return this.causal.forward(batch.ids, { attentionMask: batch.attentionMask }).logits!;
    return routedForward(this.causal, batch, routing.routing, routing.offsets, true, routing.promptRouting).logits!;
  }

  renderer(): null {
    return null;
  }

  frozenCopy(): TextPolicy {
    const ref = new GlmForCausalLM(this.causal.config);
    const src = this.causal.stateDict();
    for (const [name, t] of ref.stateDict()) t.data.set(src.get(name)!.data);
    ref.eval();
    return new TextPolicy(ref, this.tok);
  }

  save(dir: string): void {
    saveModel(dir, this.causal);
  }
}

/** A policy for `model`: a text GLM is wrapped in a TextPolicy; a GrpoPolicy is returned as it is. */
export function asPolicy(model: GlmForCausalLM | GrpoPolicy, tok: Tokenizer | null = null): GrpoPolicy {
  return model instanceof GlmForCausalLM ? new TextPolicy(model, tok) : model;
}

/**
 * Log-probs [B, T] of `batch`'s targets under `policy` at `temperature` over the first `vocabLimit`
 * ids, without a graph (old-policy and reference log-probs); the forward's buffers are handed back
 * afterwards when the policy's forward keeps nothing (`scratchForward`).
 */
export function logprobsNoGrad(policy: GrpoPolicy, records: readonly RlPrompt[], batch: SequenceBatch, routing: RowRouting | null, temperature: number, vocabLimit: number | undefined): Tensor {
  const run = () => targetLogprobs(samplingLogits(policy.logits(records, batch, routing), temperature, vocabLimit), batch);
  return policy.scratchForward ? noGradResult(run) : noGrad(run);
}
