import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask } from '../../data/world/index.js';
import { tempDir } from '../../util/temp-dir.js';
import { loadCausalLM } from '../glm/checkpoint.js';
import { hasReaderHeads, loadReader, saveReader } from './checkpoint.js';
import { accuracyByKind, predictMrc, trainMrc } from './mrc.js';
import { microReader } from './test-fixtures.js';

const items = generateWorldTask('mrc', { n: 4, seed: 9, mrcKinds: ['pronoun', 'two_hop'] });

test('a micro reader overfits a tiny MRC set; saved and reloaded it predicts the same', () => {
  const reader = microReader(items.flatMap((r) => [...r.sentences, r.question, ...r.options]));
  const before = accuracyByKind(items, predictMrc(reader, items)).all;
  const res = trainMrc(reader, items, { steps: 60, batch: 4, lr: 1e-3, seed: 0, evidenceWeight: 0.8, evidence: new Map(items.map((r, i) => [i, r.evidence])) });
  const preds = predictMrc(reader, items);
  assert.equal(accuracyByKind(items, preds).all, 1, `accuracy before ${before}, losses ${res.answerLoss.slice(-3)}`);
  // the mean of the last five steps: single mini-batch losses are noisy
  const tail = res.answerLoss.slice(-5).reduce((a, b) => a + b, 0) / 5;
  assert.ok(tail < 0.2 * res.answerLoss[0], `answer loss ${res.answerLoss[0]} -> ${tail} (mean of the last 5 steps)`);
  assert.ok(res.evidenceLoss.at(-1)! < res.evidenceLoss[0], `evidence loss ${res.evidenceLoss[0]} -> ${res.evidenceLoss.at(-1)}`);
  {
    const dir = tempDir();
    saveReader(dir, reader);
    assert.ok(hasReaderHeads(dir));
    loadCausalLM(dir); // the backbone loads as a plain causal LM
    const again = predictMrc(loadReader(dir), items);
    again.forEach((p, i) => {
      assert.equal(p.predicted, preds[i].predicted);
      p.probs.forEach((x, j) => assert.ok(Math.abs(x - preds[i].probs[j]) < 1e-5));
    });
  }
});
