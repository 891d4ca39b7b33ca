/**
 * PPO's value model: a reward model's backbone with its `score` head applied to the hidden state of
 * every position (not only the last real token), giving V(s_t) for each prefix: [B, T]. Initialised
 * from the reward model (ChatGLM-RLHF), so V starts as the RM's estimate of each prefix. Its state
 * dict has the reward model's names (model.*, score.weight), so it saves as a sequence-classification
 * folder.
 */
import * as F from '../../tensor/ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import type { GlmModel, GlmForSequenceClassification, GlmForCausalLM } from '../../models/glm/model.js';
import type { Linear } from '../../nn/layers.js';
import type { SequenceBatch } from '../rl-utils.js';

export class ValueModel extends Module {
  readonly model: GlmModel;
  readonly score: Linear;

  /** Takes over the modules of `rm` (pass a copy the reward scorer does not use). */
  constructor(rm: GlmForSequenceClassification) {
    super();
    if (rm.numLabels !== 1) throw new Error(`ValueModel: expected a one-label reward model, got ${rm.numLabels} labels`);
    this.model = this.child('model', rm.model);
    this.score = this.child('score', rm.score);
  }

  /** ids [B, T] -> values [B, T] (value of the prefix ending at each position). */
  forward(batch: SequenceBatch): Tensor {
    const [B, T] = batch.ids.shape;
    const { hidden } = this.model.forward(batch.ids, { attentionMask: batch.attentionMask });
    return F.reshape(this.score.forward(hidden), [B, T]);
  }
}

/** The trainable pair of PPO: the policy and the value model (one optimizer over both). */
export class PolicyAndValue extends Module {
  readonly policy: GlmForCausalLM;
  readonly value: ValueModel;
  constructor(policy: GlmForCausalLM, value: ValueModel) {
    super();
    this.policy = this.child('policy', policy);
    this.value = this.child('value', value);
  }
}
