// GRPO loss normalisation by loss_type against hand computations, on a step whose completions are
// truncated at the length limit, stopped early, or carry tool output (not trained), split over two
// micro-batches: the normalisers are those of the whole step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../../models/glm/config.js';
import { GlmForCausalLM } from '../../models/glm/model.js';
import { grpoLoss } from './grpo-loss.js';
import type { Sample } from './grpo-trainer.js';
import type { Rollout } from './rollout.js';

const model = new GlmForCausalLM({ ...loadPreset('tiny'), vocabSize: 64, numHiddenLayers: 1, padTokenId: null, eosTokenId: null }, { seed: 1 });
const MAX = 6, EOS = 0;

function sample(completion: number[], mask: number[], advantage: number, finish: Rollout['finish']): Sample {
  const r = { prompt: 0, promptIds: [5, 6, 7], completion, mask, logprobs: completion.map(() => 0), parsed: { reasoning_content: null, content: '', tool_calls: [], malformed: [] }, finish, toolCalls: 0, generated: mask.reduce((a, b) => a + b, 0) } as unknown as Rollout;
  return { r, advantage, old: null };
}

test('loss_type token_mean, sample_mean and dr_grpo equal their hand computations (truncated and tool completions)', () => {
  const truncated = sample([9, 10, 11, 12, 13, 14], [1, 1, 1, 1, 1, 1], 1, 'length'); // 6 trained tokens, no EOS
  const short = sample([20, EOS], [1, 1], -0.5, 'stop'); // 2
  const tool = sample([30, 31, 32, 33, 34, EOS], [1, 1, 0, 0, 1, 1], 0.25, 'stop'); // 4 trained, 2 of tool output
  const step = [truncated, short, tool];
  const totals = { tokens: 6 + 2 + 4, samples: 3 };
  const adv = step.map((s) => s.advantage), n = step.map((s) => s.r.generated);
  // on-policy the ratio is 1: each trained token contributes -A
  const want = {
    token_mean: -(adv[0] * n[0] + adv[1] * n[1] + adv[2] * n[2]) / totals.tokens,
    sample_mean: -(adv[0] + adv[1] + adv[2]) / totals.samples,
    dr_grpo: -(adv[0] * n[0] + adv[1] * n[1] + adv[2] * n[2]) / (totals.samples * MAX),
  };
  assert.deepEqual(n, [6, 2, 4]);
  for (const loss_type of ['token_mean', 'sample_mean', 'dr_grpo'] as const) {
    const opts = { temperature: 1, epsilon: 0.2, epsilon_high: 0.28, beta: 0, loss_type, padId: EOS, totals, max_completion_length: MAX };
    const parts = [grpoLoss(model, null, step.slice(0, 2), opts), grpoLoss(model, null, step.slice(2), opts)];
    const value = parts[0].value + parts[1].value;
    assert.ok(Math.abs(value - want[loss_type]) < 1e-6, `${loss_type}: ${value} vs ${want[loss_type]}`);
    assert.equal(parts[0].tokens + parts[1].tokens, 12, 'tool output is not trained');
    // the EOS that ends a completion counts (pad == EOS here)
    assert.deepEqual(parts[1].detail.eosDropped, []);
  }
  // the three differ on this step: a short completion's tokens weigh more under sample_mean
  assert.ok(want.sample_mean !== want.token_mean && want.token_mean !== want.dr_grpo);
  assert.throws(() => grpoLoss(model, null, step, { temperature: 1, epsilon: 0.2, epsilon_high: 0.28, beta: 0, loss_type: 'dr_grpo', padId: EOS, totals }), /dr_grpo needs max_completion_length/);
});
