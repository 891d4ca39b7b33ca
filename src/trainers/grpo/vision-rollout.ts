/**
 * GRPO rollouts of image prompts: the multi-turn rollout core of rollout.ts (tools, force-answer,
 * masks) with GLM-4.1V's sampler: each prompt rendered with its prepared images' token counts, and
 * every generation call made by `generateWithImages` (src/generation/vlm-generate.ts) with each row's
 * prompt images.
 */
import { generateWithImages } from '../../generation/vlm-generate.js';
import { renderChat } from '../../tokenizer/chat.js';
import type { RlPrompt } from './grpo-data.js';
import { rolloutBatchSyncWith, rolloutBatchWith, type Rollout, type RolloutOptions, type RolloutSampler } from './rollout.js';
import type { VisionPolicy } from './vision-policy.js';

/** The sampler of a vision policy over `records` (all prepared). */
export function visionSampler(policy: VisionPolicy, records: readonly RlPrompt[]): RolloutSampler {
  const images = records.map((r) => policy.images(r));
  const counts = records.map((r) => policy.tokenCounts(r));
  return {
    maxPositions: policy.module.config.text.maxPositionEmbeddings,
    vocabLimit: policy.vocabLimit,
    render: (p, i, o) => renderChat(policy.tok, { messages: p.prompt, tools: p.tools, enable_thinking: o.enableThinking, add_generation_prompt: true }, { imageTokenCounts: counts[i] }).ids,
    generate: (rows, promptIndex, o) => generateWithImages(policy.module, rows.map((ids, j) => ({ ids, images: images[promptIndex[j]] })), o),
  };
}

export function visionRollouts(policy: VisionPolicy, records: readonly RlPrompt[], opts: RolloutOptions): Promise<Rollout[]> {
  return rolloutBatchWith(visionSampler(policy, records), policy.tok, records, opts);
}

export function visionRolloutsSync(policy: VisionPolicy, records: readonly RlPrompt[], opts: RolloutOptions): Rollout[] {
  return rolloutBatchSyncWith(visionSampler(policy, records), policy.tok, records, opts);
}
