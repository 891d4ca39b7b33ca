import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../util/temp-dir.js';
import { loadImageSftExamples } from '../../data/image-chat.js';
import { writeVisionTask } from '../../data/vision/index.js';
import { loadGlm4vModel } from '../../models/glm4v/checkpoint.js';
import { initGlm4vForTokenizer } from '../../models/glm4v/init-model.js';
import { defaultImageProcessorConfig, readImageProcessorConfig } from '../../models/glm4v/preprocess-config.js';
import { trainBpeFromTexts } from '../../tokenizer/bpe-train.js';
import { EOS_TOKEN, GLM_SPECIAL_TOKENS } from '../../tokenizer/special-tokens.js';
import { testCorpus } from '../../tokenizer/test-fixtures.js';
import { resolveConfig } from '../base/config.js';
import { imageProcessor } from '../../models/glm4v/preprocess.js';
import { vlmBatch } from './vlm-data.js';
import { PrealignTrainer, VlmSftTrainer, frozenParameters, prealignSchema, vlmSftSchema } from './vlm-trainer.js';

const tok = trainBpeFromTexts(testCorpus(150), { vocabSize: 256 + 100 + GLM_SPECIAL_TOKENS.length });
// tiny-vl's processor limits: a 56-pixel world image stays 56 x 56, a 4 x 4 patch grid, 4 image tokens
const pre = { ...defaultImageProcessorConfig(), minPixels: 6272, maxPixels: 25088 };
const proc = imageProcessor(pre);

async function examples(task: 'sft' | 'caption', n: number) {
  const file = join(tempDir('vlm-'), `${task}.jsonl`);
  writeVisionTask(task, { n, seed: 4, size: 56, difficulty: [1], families: ['count', 'digits'] }, file);
  return (await loadImageSftExamples(file, tok, 512, proc)).examples;
}

const config = <S extends typeof vlmSftSchema | typeof prealignSchema>(schema: S, extra: Record<string, unknown>) =>
  resolveConfig(schema, { object: { model: 'x', data: 'x', out: tempDir('vlm-run-'), per_device_train_batch_size: 4, warmup_steps: 1, optimizer: 'adamw', quiet: true, ...extra }, objectSource: 'test' });

test('an image chat batch: targets are the next assistant tokens only; image tokens and the prompt are never targets', async () => {
  const [a, b] = await examples('sft', 2);
  const model = initGlm4vForTokenizer('tiny-vl', tok, 0);
  const pad = tok.requireId(EOS_TOKEN);
  const batch = vlmBatch([a, b], pad);
  const [B, T] = batch.ids.shape;
  assert.equal(B, 2);
  assert.equal(T, Math.max(a.ids.length, b.ids.length) - 1);
  assert.deepEqual(batch.grids, [[1, 4, 4], [1, 4, 4]]);
  assert.deepEqual(batch.pixelValues!.shape, [32, 1176]);
  [a, b].forEach((e, row) => {
    const targets = Array.from(batch.targets.data.subarray(row * T, (row + 1) * T));
    for (let t = 0; t < T; t++) {
      const want = t < e.ids.length - 1 && e.mask[t + 1] ? e.ids[t + 1] : -100;
      assert.equal(targets[t], want, `row ${row} position ${t}`);
    }
    const trained = targets.filter((x) => x !== -100);
    assert.ok(!trained.includes(model.config.imageTokenId));
    const text = tok.decode(trained);
    assert.match(text, /<think>[\s\S]*<\/think>[\s\S]*<answer><\|begin_of_box\|>\d+<\|end_of_box\|><\/answer><\|endoftext\|>$/);
    assert.doesNotMatch(text, /How many|What number/, 'the question is prompt, not target');
    // the image placeholders are in the inputs: 4 per image
    assert.equal(Array.from(batch.ids.data.subarray(row * T, (row + 1) * T)).filter((x) => x === model.config.imageTokenId).length, 4);
  });
});

test('image SFT overfits a handful of image chats (loss falls) and writes a glm4v folder with the processor settings', async () => {
  const ex = await examples('sft', 4);
  const model = initGlm4vForTokenizer('tiny-vl', tok, 1);
  const cfg = config(vlmSftSchema, { max_steps: 30, learning_rate: 3e-3 });
  const r = await new VlmSftTrainer(cfg, model, tok, pre, ex, ex.slice(0, 2)).train();
  const losses = r.metrics.filter((m) => m.loss !== undefined).map((m) => Number(m.loss));
  assert.ok(losses.at(-1)! < 0.5 * losses[0], `loss ${losses[0]} -> ${losses.at(-1)}`);
  assert.ok(Number.isFinite(Number(r.metrics.at(-1)!.eval_loss)));
  const saved = loadGlm4vModel(join(cfg.out, 'final'));
  assert.equal(saved.numParameters(), model.numParameters());
  const p = readImageProcessorConfig(join(cfg.out, 'final'));
  assert.deepEqual([p.minPixels, p.maxPixels], [6272, 25088]);
  assert.match(readFileSync(join(cfg.out, 'final', 'tokenizer.json'), 'utf8'), /<\|image\|>/);
});

test('merger pre-alignment trains the vision tower and merger only: the language model gets no gradient and does not change', async () => {
  const ex = await examples('caption', 4);
  const model = initGlm4vForTokenizer('tiny-vl', tok, 2);
  const lmBefore = frozenParameters(model).map((p) => Float32Array.from(p.data));
  const visBefore = model.model.visual.parameters().map((p) => Float32Array.from(p.data));
  const cfg = config(prealignSchema, { max_steps: 3, learning_rate: 1e-2 });
  const r = await new PrealignTrainer(cfg, model, tok, pre, ex, null).train();
  assert.equal(r.steps, 3);
  const frozen = frozenParameters(model);
  assert.ok(frozen.length > 0);
  frozen.forEach((p, i) => {
    assert.equal(p.grad, null);
    assert.equal(p.requiresGrad, false);
    assert.deepEqual(p.data, lmBefore[i]);
  });
  const changed = model.model.visual.parameters().filter((p, i) => p.data.some((v, j) => v !== visBefore[i][j])).length;
  assert.ok(changed >= model.model.visual.parameters().length - 2, `${changed} of ${visBefore.length} vision tensors changed`);
  // the saved folder's language model is the initial one, bit for bit
  const saved = loadGlm4vModel(join(cfg.out, 'final'));
  frozenParameters(saved).forEach((p, i) => assert.deepEqual(p.data, lmBefore[i]));
});
