/**
 * The language model of a GLM-4.1V model as a plain GLM-4 causal LM and back. On text without images
 * every M-RoPE row holds the same position, so the glm4v model computes exactly what a GLM-4 model
 * with its `text_config` computes: the text side can be pre-trained with the text trainers and put
 * back (`model.language_model.X` <-> `model.X`, `lm_head` unchanged).
 */
import { CheckpointError } from '../../errors.js';
import { noGrad } from '../../tensor/autograd.js';
import { GlmForCausalLM } from '../glm/model.js';
import type { Glm4vForConditionalGeneration } from './model.js';

const VL_PREFIX = 'model.language_model.';

function textName(vlName: string): string | null {
  if (vlName.startsWith(VL_PREFIX)) return `model.${vlName.slice(VL_PREFIX.length)}`;
  return vlName.startsWith('lm_head.') ? vlName : null;
}

/** A GLM-4 causal LM holding a copy of `vlm`'s language-model weights. */
export function textModelOf(vlm: Glm4vForConditionalGeneration): GlmForCausalLM {
  const lm = new GlmForCausalLM(vlm.config.text);
  copyText(vlm, lm, 'to-text');
  return lm;
}

/** Overwrites `vlm`'s language-model weights with `lm`'s (same text config); the vision tower is left as it is. */
export function setTextWeights(vlm: Glm4vForConditionalGeneration, lm: GlmForCausalLM): void {
  copyText(vlm, lm, 'to-vl');
}

function copyText(vlm: Glm4vForConditionalGeneration, lm: GlmForCausalLM, dir: 'to-text' | 'to-vl'): void {
  const text = lm.stateDict();
  noGrad(() => {
    let n = 0;
    for (const [name, t] of vlm.stateDict()) {
      const tn = textName(name);
      if (tn === null) continue;
      const other = text.get(tn);
      if (!other || other.data.length !== t.data.length) throw new CheckpointError(`text model: tensor "${tn}" ${other ? `has ${other.data.length} values, expected ${t.data.length}` : 'is missing'}; the causal LM does not match the glm4v text_config`);
      if (dir === 'to-text') other.data.set(t.data);
      else t.data.set(other.data);
      n++;
    }
    if (n !== text.size) throw new CheckpointError(`text model: the causal LM has ${text.size} tensors, the glm4v language model ${n}; their configs differ`);
  });
}
