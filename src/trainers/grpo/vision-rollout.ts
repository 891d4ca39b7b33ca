/** Rollouts of image prompts (placeholder until the image generation helper lands). */
import { ConfigError } from '../../errors.js';
import type { RlPrompt } from './grpo-data.js';
import type { Rollout, RolloutOptions } from './rollout.js';
import type { VisionPolicy } from './vision-policy.js';

export async function visionRollouts(policy: VisionPolicy, records: readonly RlPrompt[], opts: RolloutOptions): Promise<Rollout[]> {
  return visionRolloutsSync(policy, records, opts);
}

export function visionRolloutsSync(_policy: VisionPolicy, _records: readonly RlPrompt[], _opts: RolloutOptions): Rollout[] {
  throw new ConfigError('image rollouts are not available yet');
}
