import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sizeMainEffects, type Size } from './rlhf-model-size.js';

test('sizeMainEffects: each main effect averages its step over both levels of the other size', () => {
  // two prompts; gain(policy, rm): a larger RM adds 0.2 (prompt 0) and a larger policy 0.1, no interaction
  const g: Record<string, number[]> = { 'small,small': [0, 0.5], 'small,large': [0.2, 0.5], 'large,small': [0.1, 0.4], 'large,large': [0.3, 0.4] };
  const e = sizeMainEffects((p: Size, r: Size) => g[`${p},${r}`]);
  assert.deepEqual(e.rm.map((x) => +x.toFixed(9)), [0.2, 0]);
  assert.deepEqual(e.policy.map((x) => +x.toFixed(9)), [0.1, -0.1]);
  // an interaction splits evenly: only the (large, large) cell gains 0.4
  const i = sizeMainEffects((p, r) => [p === 'large' && r === 'large' ? 0.4 : 0]);
  assert.deepEqual(i, { rm: [0.2], policy: [0.2] });
});
