// Glm4vForConditionalGeneration: gradients through the vision tower and M-RoPE decoder (finite
// differences), cached decoding with rope deltas, left-padded batches, and the placeholder-count check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../util/rng.js';
import { noGrad } from '../../tensor/autograd.js';
import { Tensor } from '../../tensor/tensor.js';
import { gradcheck } from '../../tensor/testing.js';
import { ShapeError } from '../../errors.js';
import { glm4vConfigFromHf, type Glm4vConfig } from './config.js';
import { Glm4vForConditionalGeneration } from './model.js';
import type { GridThw } from './vision.js';

/** Small enough for finite differences: 4x4 position table, patch 4, vision width 8, text width 16. */
function miniConfig(): Glm4vConfig {
  return glm4vConfigFromHf(
    {
      model_type: 'glm4v',
      image_start_token_id: 14, image_end_token_id: 15, video_start_token_id: 16, video_end_token_id: 17, image_token_id: 18, video_token_id: 19,
      text_config: {
        vocab_size: 20, hidden_size: 16, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
        partial_rotary_factor: 0.5, rope_scaling: { type: 'default', mrope_section: [0, 1, 1] },
      },
      vision_config: { depth: 1, hidden_size: 8, num_heads: 2, image_size: 16, patch_size: 4, out_hidden_size: 16, intermediate_size: 10 },
    },
    'mini',
  );
}

function randomize(model: Glm4vForConditionalGeneration, seed: number): void {
  const rng = new Rng(seed);
  noGrad(() => {
    for (const [name, t] of model.stateDict()) {
      const norm = /norm|layernorm/.test(name) && name.endsWith('.weight');
      for (let i = 0; i < t.size; i++) t.data[i] = (norm ? 1 : 0) + 0.3 * rng.normal();
    }
  });
}

const rowLen = 3 * 2 * 4 * 4;

function imagePrompt(cfg: Glm4vConfig, tokens: number): number[] {
  return [1, 2, cfg.imageStartTokenId, ...Array(tokens).fill(cfg.imageTokenId), cfg.imageEndTokenId, 3, 4, 5];
}

test('gradients through the whole model (pixels, position table, merger LayerNorm) match finite differences', () => {
  const cfg = miniConfig();
  const model = new Glm4vForConditionalGeneration(cfg, { dtype: 'f64' });
  randomize(model, 1);
  const grid: GridThw = [1, 2, 4];
  const ids = imagePrompt(cfg, 2);
  const pixels = Tensor.randn([8, rowLen], new Rng(2), 1, 'f64');
  const v = model.model.visual;
  const inputs = [pixels, v.embeddings.positionEmbedding.weight, v.merger.postProjectionNorm.weight, v.merger.postProjectionNorm.bias, v.blocks[0].attn.qkv.weight];
  gradcheck(
    (px) => model.forward({ inputIds: Tensor.ids(ids, [1, ids.length]), pixelValues: px, imageGridThw: [grid] }).logits,
    inputs,
    { atol: 1e-6, rtol: 1e-4 },
  );
});

test('every parameter of the vision tower and the text model receives a gradient from the LM loss', () => {
  const cfg = miniConfig();
  const model = new Glm4vForConditionalGeneration(cfg);
  randomize(model, 3);
  const ids = imagePrompt(cfg, 2);
  const targets = Tensor.ids([...ids.slice(1), -100], [1, ids.length]);
  const out = model.forward({ inputIds: Tensor.ids(ids, [1, ids.length]), pixelValues: Tensor.randn([8, rowLen], new Rng(4)), imageGridThw: [[1, 2, 4]], targets });
  out.loss!.backward();
  for (const [name, p] of model.namedParameters()) {
    assert.ok(p.grad, `${name} has no gradient`);
    const norm = Math.sqrt((p.grad.data as Float32Array).reduce((s, x) => s + x * x, 0));
    // embed rows of unused ids get none; the table as a whole must
    assert.ok(norm > 0, `${name}: gradient is zero`);
  }
});

test('cached decoding with rope deltas equals the full forward on the longer sequence', () => {
  const cfg = miniConfig();
  const model = new Glm4vForConditionalGeneration(cfg);
  randomize(model, 5);
  const grid: GridThw = [1, 4, 4];
  const pixels = Tensor.randn([16, rowLen], new Rng(6));
  const prompt = imagePrompt(cfg, 4);
  const next = [7, 8];
  noGrad(() => {
    const full = model.forward({ inputIds: Tensor.ids([...prompt, ...next], [1, prompt.length + 2]), pixelValues: pixels, imageGridThw: [grid] });
    const cache = model.createCache(1, 32);
    const pre = model.forward({ inputIds: Tensor.ids(prompt, [1, prompt.length]), pixelValues: pixels, imageGridThw: [grid], cache });
    const V = cfg.text.vocabSize;
    let maxDiff = 0;
    for (let i = 0; i < prompt.length * V; i++) maxDiff = Math.max(maxDiff, Math.abs(pre.logits.data[i] - full.logits.data[i]));
    for (let s = 0; s < next.length; s++) {
      const step = model.forward({ inputIds: Tensor.ids([next[s]], [1, 1]), cache, ropeDeltas: pre.ropeDeltas });
      assert.equal(step.positionIds[0], full.positionIds[prompt.length + s], `decode position ${s}`);
      for (let j = 0; j < V; j++) maxDiff = Math.max(maxDiff, Math.abs(step.logits.data[j] - full.logits.data[(prompt.length + s) * V + j]));
    }
    assert.ok(maxDiff < 1e-4, `cached logits differ by ${maxDiff}`);
    // T = 11: 3 text (0..2), 4 image tokens on a 2x2 grid spanning positions 3..4, 4 text (5..8): 9 - 11 = -2
    assert.equal(pre.ropeDeltas[0], -2);
  });
});

test('a left-padded batch gives each row the logits it has alone', () => {
  const cfg = miniConfig();
  const model = new Glm4vForConditionalGeneration(cfg);
  randomize(model, 7);
  const a = imagePrompt(cfg, 2), b = [1, 2, 3];
  const pxA = Tensor.randn([8, rowLen], new Rng(8));
  const T = a.length, pad = T - b.length;
  const ids = [...a, ...Array(pad).fill(0), ...b];
  const mask = Int32Array.from([...Array(T).fill(1), ...Array(pad).fill(0), ...Array(b.length).fill(1)]);
  noGrad(() => {
    const batch = model.forward({ inputIds: Tensor.ids(ids, [2, T]), pixelValues: pxA, imageGridThw: [[1, 2, 4]], attentionMask: mask });
    const alone = model.forward({ inputIds: Tensor.ids(b, [1, b.length]) });
    const V = cfg.text.vocabSize;
    for (let t = 0; t < b.length; t++)
      for (let j = 0; j < V; j++) assert.ok(Math.abs(batch.logits.data[(T + pad + t) * V + j] - alone.logits.data[t * V + j]) < 1e-4);
    assert.equal(batch.ropeDeltas[1], -pad);
  });
});

test('the image token count must match the image features', () => {
  const cfg = miniConfig();
  const model = new Glm4vForConditionalGeneration(cfg);
  const ids = imagePrompt(cfg, 3);
  assert.throws(
    () => model.forward({ inputIds: Tensor.ids(ids, [1, ids.length]), pixelValues: Tensor.randn([8, rowLen], new Rng(9)), imageGridThw: [[1, 2, 4]] }),
    (e: unknown) => e instanceof ShapeError && /3 image token\(s\).*2 feature row\(s\)/.test((e as Error).message),
  );
  assert.throws(() => model.forward({ inputIds: Tensor.ids(ids, [1, ids.length]), pixelValues: Tensor.randn([7, rowLen], new Rng(9)), imageGridThw: [[1, 2, 4]] }), /pixel_values must be \[8, 96\]/);
});

test('training with AdamW teaches the model to answer from the image (same text, two images, two answers)', async () => {
  const { AdamW } = await import('../../optim/adamw.js');
  const cfg = miniConfig();
  const model = new Glm4vForConditionalGeneration(cfg, { seed: 11 });
  const ids = [1, cfg.imageStartTokenId, cfg.imageTokenId, cfg.imageTokenId, cfg.imageEndTokenId, 2];
  const T = ids.length;
  const pixels = Tensor.randn([16, rowLen], new Rng(12)); // image A rows 0..7, image B rows 8..15
  const targets = Tensor.ids([...Array(T - 1).fill(-100), 3, ...Array(T - 1).fill(-100), 4], [2, T]);
  const input = { inputIds: Tensor.ids([...ids, ...ids], [2, T]), pixelValues: pixels, imageGridThw: [[1, 2, 4], [1, 2, 4]] as GridThw[], targets };
  const opt = new AdamW(model.parameters(), { lr: 1e-2 });
  let first = 0, last = 0;
  for (let step = 0; step < 80; step++) {
    opt.zeroGrad();
    const { loss } = model.forward(input);
    loss!.backward();
    opt.update();
    if (step === 0) first = loss!.item();
    last = loss!.item();
  }
  const logits = noGrad(() => model.forward({ ...input, targets: null }).logits);
  const V = cfg.text.vocabSize;
  const argmax = (row: number) => {
    const o = (row * T + T - 1) * V;
    let best = 0;
    for (let j = 1; j < V; j++) if (logits.data[o + j] > logits.data[o + best]) best = j;
    return best;
  };
  assert.ok(last < first / 4, `loss ${first} -> ${last}`);
  assert.deepEqual([argmax(0), argmax(1)], [3, 4]);
});
