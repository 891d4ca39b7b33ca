import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { tempDir } from '../util/temp-dir.js';
import type { SentenceEncoder } from './encoder.js';
import { MICRO_TEXTS, microEncoder } from './test-fixtures.js';
import { loadEncoder, readEncoderConfig, saveEncoder } from './st-layout.js';

const TEXTS = MICRO_TEXTS;

/** Final hidden states [T, H] of one unpadded row. */
function hiddenOf(enc: SentenceEncoder, ids: number[], prefix = false): Float32Array {
  return noGrad(() => enc.lm.model.forward(Tensor.ids(ids, [1, ids.length]), { prefixLen: prefix ? Int32Array.of(ids.length) : null }).hidden.data as Float32Array);
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `entry ${i}: ${a[i]} vs ${b[i]}`);
}

test('mean pooling is the mean of the text\'s hidden states; padding in a batch changes nothing', () => {
  const enc = microEncoder();
  const H = enc.dimension;
  const vecs = enc.embed(TEXTS);
  TEXTS.forEach((t, i) => {
    const ids = enc.tokenize(t);
    const h = hiddenOf(enc, ids);
    const mean = new Float32Array(H);
    for (let p = 0; p < ids.length; p++) for (let d = 0; d < H; d++) mean[d] += h[p * H + d] / ids.length;
    close(vecs[i], mean);
    close(enc.embed([t])[0], vecs[i]);
  });
});

test('last-token pooling is the last token\'s state; normalisation gives unit vectors', () => {
  const enc = microEncoder({ pooling: 'lasttoken', normalize: true });
  const H = enc.dimension;
  const ids = enc.tokenize(TEXTS[2]);
  const h = hiddenOf(enc, ids).subarray((ids.length - 1) * H, ids.length * H);
  const n = Math.hypot(...h);
  const v = enc.embed(TEXTS)[2];
  close(v, Array.from(h, (x) => x / n));
  assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
});

test('bidirectional: the first token sees later ones (it does not when causal)', () => {
  const causal = microEncoder({ pooling: 'mean' });
  const bi = microEncoder({ pooling: 'mean', bidirectional: true });
  const a = causal.tokenize('the red fox runs fast'), b = causal.tokenize('the red fox sleeps');
  const H = causal.dimension;
  close(hiddenOf(causal, a).subarray(0, H), hiddenOf(causal, b).subarray(0, H));
  const d = hiddenOf(bi, a, true).subarray(0, H).reduce((s, x, i) => s + Math.abs(x - hiddenOf(bi, b, true)[i]), 0);
  assert.ok(d > 1e-3, `first-token states differ by ${d}`);
  // the encoder's bidirectional vector is the mean of the prefix-bidirectional states
  const h = hiddenOf(bi, a, true);
  const mean = new Float32Array(H);
  for (let p = 0; p < a.length; p++) for (let i = 0; i < H; i++) mean[i] += h[p * H + i] / a.length;
  close(bi.embed(['the red fox runs fast', 'birds'])[0], mean);
});

test('saved folder is in sentence-transformers\' layout and loads back with the same vectors', () => {
  const dir = tempDir('glmkit-enc-');
  try {
    const enc = microEncoder({ pooling: 'mean', normalize: true, bidirectional: true, maxSeqLength: 48 });
    saveEncoder(dir, enc);
    // read as sentence-transformers does: modules.json, then each module's folder by its path
    const modules = JSON.parse(readFileSync(join(dir, 'modules.json'), 'utf8')) as { idx: number; name: string; path: string; type: string }[];
    assert.deepEqual(modules.map((m) => [m.idx, m.path, m.type]), [
      [0, '', 'sentence_transformers.models.Transformer'],
      [1, '1_Pooling', 'sentence_transformers.models.Pooling'],
      [2, '2_Normalize', 'sentence_transformers.models.Normalize'],
    ]);
    const st = JSON.parse(readFileSync(join(dir, modules[0].path, 'sentence_bert_config.json'), 'utf8'));
    assert.deepEqual(st, { max_seq_length: 48, do_lower_case: false });
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(existsSync(join(dir, f)), f);
    const pool = JSON.parse(readFileSync(join(dir, modules[1].path, 'config.json'), 'utf8'));
    assert.equal(pool.word_embedding_dimension, 16);
    assert.equal(pool.pooling_mode_mean_tokens, true);
    assert.equal(pool.pooling_mode_lasttoken, false);
    assert.equal(pool.pooling_mode_cls_token, false);
    assert.ok(statSync(join(dir, modules[2].path)).isDirectory());
    assert.deepEqual(readEncoderConfig(dir), { pooling: 'mean', normalize: true, bidirectional: true, maxSeqLength: 48 });
    const back = loadEncoder(dir);
    enc.embed(TEXTS).forEach((v, i) => close(back.embed(TEXTS)[i], v, 1e-6));
    // without the pooling config it is no encoder
    rmSync(join(dir, 'modules.json'));
    assert.throws(() => loadEncoder(dir), /no modules\.json, so no pooling config/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an un-normalised encoder has no Normalize module; last-token mode is written as such', () => {
  const dir = tempDir('glmkit-enc-');
  try {
    saveEncoder(dir, microEncoder({ pooling: 'lasttoken', normalize: false }));
    const modules = JSON.parse(readFileSync(join(dir, 'modules.json'), 'utf8')) as { type: string }[];
    assert.equal(modules.length, 2);
    assert.ok(!existsSync(join(dir, '2_Normalize')));
    const pool = JSON.parse(readFileSync(join(dir, '1_Pooling', 'config.json'), 'utf8'));
    assert.equal(pool.pooling_mode_lasttoken, true);
    assert.equal(pool.pooling_mode_mean_tokens, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
