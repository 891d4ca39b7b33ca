// Attention at long context keeps O(T) memory: no tensor buffer of a training step (forward and
// backward) or of a generation prefill grows like T x T. The largest buffer is measured through the
// allocation probe at T and 4T; a T x T score buffer (heads * T^2 floats) would grow 16-fold, the
// linear ones (logits T x vocab, activations T x hidden) grow 4-fold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPreset } from '../../models/glm/config.js';
import { GlmForCausalLM } from '../../models/glm/model.js';
import { noGrad } from '../autograd.js';
import { setAllocProbe } from '../dtype.js';
import { Tensor } from '../tensor.js';

function largestBuffer(run: () => void): number {
  let max = 0;
  setAllocProbe((n) => {
    if (n > max) max = n;
  });
  try {
    run();
  } finally {
    setAllocProbe(null);
  }
  return max;
}

const cfg = { ...loadPreset('tiny'), maxPositionEmbeddings: 4096 };
const model = new GlmForCausalLM(cfg, { seed: 1 });
const ids = (T: number) => Tensor.ids(Array.from({ length: T }, (_, i) => (i * 7) % cfg.vocabSize), [1, T]);

test('training step: the largest buffer grows linearly with T', () => {
  const step = (T: number) => () => {
    const out = model.forward(ids(T), { targets: ids(T) });
    out.loss!.backward();
    model.zeroGrad();
  };
  const small = largestBuffer(step(256)), large = largestBuffer(step(1024));
  assert.ok(large <= 4 * small, `largest buffer ${small} elements at T=256, ${large} at T=1024 (more than 4x: something grows like T^2)`);
  assert.ok(large < cfg.numAttentionHeads * 1024 * 1024, `a buffer of ${large} elements at T=1024 is as large as a heads x T x T score tensor`);
});

test('prefill without gradients: the largest buffer grows linearly with T', () => {
  const fwd = (T: number) => () => noGrad(() => model.forward(ids(T)));
  const small = largestBuffer(fwd(256)), large = largestBuffer(fwd(1024));
  assert.ok(large <= 4 * small, `largest buffer ${small} elements at T=256, ${large} at T=1024`);
});
