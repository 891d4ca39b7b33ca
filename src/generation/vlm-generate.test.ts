// generateWithImages: the left-padded, cached batch gives each prompt the tokens of a plain
// recompute-everything greedy loop on it alone (images of different sizes, a text-only row), the
// log-probs of those logits, stop tokens per row, and clear errors for mismatched placeholders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import type { Glm4vForConditionalGeneration } from '../models/glm4v/model.js';
import { tokenLogprob } from './sampler.js';
import { generateWithImages, type ImagePrompt } from './vlm-generate.js';
import { image, imagePrompt, LIMIT, model, prompts, ROW } from './vlm-test-fixtures.js';

/** Greedy decoding by recomputing the whole sequence at every step (no cache, no padding, batch 1). */
function referenceGreedy(m: Glm4vForConditionalGeneration, p: ImagePrompt, n: number): { tokens: number[]; logprobs: number[] } {
  const ids = [...p.ids];
  const tokens: number[] = [], logprobs: number[] = [];
  const imgs = p.images ?? [];
  noGrad(() => {
    for (let s = 0; s < n; s++) {
      const rows = imgs.reduce((a, im) => a + im.pixelValues.length / ROW, 0);
      const px = imgs.length ? new Tensor(Float32Array.from(imgs.flatMap((im) => [...im.pixelValues])), [rows, ROW]) : null;
      const { logits } = m.forward({ inputIds: Tensor.ids(ids, [1, ids.length]), pixelValues: px, imageGridThw: imgs.map((im) => im.gridThw) });
      const V = logits.shape[2];
      const last = (logits.data as Float32Array).subarray((ids.length - 1) * V, (ids.length - 1) * V + LIMIT);
      let best = 0;
      for (let j = 1; j < LIMIT; j++) if (last[j] > last[best]) best = j;
      tokens.push(best);
      logprobs.push(tokenLogprob(last, best));
      ids.push(best);
    }
  });
  return { tokens, logprobs };
}

test('batched cached greedy equals a recompute-everything greedy loop per prompt (left padding, two image sizes, a text-only row)', () => {
  const m = model(3);
  const cfg = m.config;
  const ps = prompts(cfg);
  const n = 8;
  const res = generateWithImages(m, ps, { maxNewTokens: n, temperature: 0, padId: 0, vocabLimit: LIMIT });
  assert.deepEqual(res.finishReason, ['length', 'length', 'length']);
  ps.forEach((p, i) => {
    const ref = referenceGreedy(m, p, n);
    assert.deepEqual(res.tokens[i], ref.tokens, `prompt ${i}`);
    for (let s = 0; s < n; s++) assert.ok(Math.abs(res.logprobs[i][s] - ref.logprobs[s]) < 1e-4, `prompt ${i} step ${s}: logprob ${res.logprobs[i][s]} vs ${ref.logprobs[s]}`);
  });
  // the rows are not all the same continuation (the images and prompts matter)
  assert.notDeepEqual(res.tokens[0], res.tokens[1]);
});

test('a text-only prompt alone through the vision path equals its reference; stop tokens end one row only', () => {
  const m = model(3);
  const ps = prompts(m.config);
  const alone = generateWithImages(m, [ps[2]], { maxNewTokens: 5, temperature: 0, vocabLimit: LIMIT });
  assert.deepEqual(alone.tokens[0], referenceGreedy(m, ps[2], 5).tokens);
  const full = generateWithImages(m, ps, { maxNewTokens: 6, temperature: 0, vocabLimit: LIMIT });
  const stop = full.tokens[0][2];
  const firstStop = (row: number[]) => row.indexOf(stop);
  const stopped = generateWithImages(m, ps, { maxNewTokens: 6, temperature: 0, vocabLimit: LIMIT, stopTokens: [stop] });
  ps.forEach((_, i) => {
    const k = firstStop(full.tokens[i]);
    if (k < 0) {
      assert.deepEqual(stopped.tokens[i], full.tokens[i]);
      assert.equal(stopped.finishReason[i], 'length');
    } else {
      assert.deepEqual(stopped.tokens[i], full.tokens[i].slice(0, k + 1));
      assert.equal(stopped.finishReason[i], 'stop');
    }
  });
  assert.equal(stopped.finishReason[0], 'stop');
});

test('seeded sampling is reproducible and its log-probs are those of the tempered distribution', () => {
  const m = model(4);
  const ps = prompts(m.config);
  const a = generateWithImages(m, ps, { maxNewTokens: 6, temperature: 0.8, topP: 0.9, seed: 7 });
  const b = generateWithImages(m, ps, { maxNewTokens: 6, temperature: 0.8, topP: 0.9, seed: 7 });
  assert.deepEqual(a.tokens, b.tokens);
  assert.deepEqual(a.logprobs, b.logprobs);
  for (const row of a.logprobs) for (const lp of row) assert.ok(lp <= 0 && Number.isFinite(lp));
});

test('placeholder counts that do not match the images are refused with the counts', () => {
  const m = model(3);
  const cfg = m.config;
  const bad: ImagePrompt = { ids: imagePrompt(cfg, [1], 3, [2]), images: [image([1, 2, 4], 1)] };
  assert.throws(() => generateWithImages(m, [bad], { maxNewTokens: 2, temperature: 0 }), (e: unknown) => e instanceof ShapeError && /prompt 0 holds 3 <\|image\|> token\(s\).*give 2/.test((e as Error).message));
  const noImage: ImagePrompt = { ids: imagePrompt(cfg, [1], 2, [2]) };
  assert.throws(() => generateWithImages(m, [noImage], { maxNewTokens: 2, temperature: 0 }), /holds 2 <\|image\|> token\(s\) .* its 0 image\(s\) give 0/);
  const wrongRows: ImagePrompt = { ids: imagePrompt(cfg, [1], 2, [2]), images: [{ pixelValues: new Float32Array(5), gridThw: [1, 2, 4] }] };
  assert.throws(() => generateWithImages(m, [wrongRows], { maxNewTokens: 2, temperature: 0 }), /5 pixel values for grid \[1, 2, 4\], expected 8 rows of 96/);
});

test('a sampled <|image|> id is fed back as an ordinary token (as HF decodes after the prefill)', () => {
  const m = model(3);
  const res = generateWithImages(m, prompts(m.config), { maxNewTokens: 8, temperature: 0 });
  assert.ok(res.tokens.flat().includes(m.config.imageTokenId), 'this seed samples the image id; the test needs one that does');
  assert.equal(res.tokens.flat().length, 24);
});
