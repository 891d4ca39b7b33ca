import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../tensor/ops/index.js';
import { Tensor } from '../../tensor/tensor.js';
import { generateWorldTask } from '../../data/world/index.js';
import { tempDir } from '../../util/temp-dir.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adaptiveEvidence, evidenceLoss } from './evidence.js';
import type { MrcItem, MrcPrediction } from './mrc.js';
import { STM_DEFAULTS, overlapEvidence, runStm, selectPseudoEvidence } from './stm.js';
import { microReader } from './test-fixtures.js';

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('evidence loss: greedy sequential log-probabilities over the remaining sentences, divided by |E|', () => {
  const logits = new Tensor(Float32Array.from([0.5, 0.3, 0.2].map(Math.log)), [3]);
  logits.requiresGrad = true;
  const logp = F.logSoftmax(logits, -1);
  // gold {1, 2}: take s1 (0.3 > 0.2) -> log 0.3; then s2 among {s0, s2}: log(0.2 / 0.7)
  const loss = evidenceLoss(logp, [2, 1]);
  close(loss.item(), -(Math.log(0.3) + Math.log(0.2 / 0.7)) / 2);
  loss.backward();
  // d/dlogit: step 1: p - onehot(1) = [0.5, -0.7, 0.2]; step 2 over {0, 2}: [5/7, 0, -5/7]; times -(-1/2)... sign: loss = -(sum)/2
  const g = [(0.5 + 5 / 7) / 2, -0.7 / 2, (0.2 - 5 / 7) / 2];
  g.forEach((v, i) => close((logits.grad!.data as Float32Array)[i], v));
  close(evidenceLoss(logp, [0]).item(), -Math.log(0.5));
  close(evidenceLoss(logp, [0, 1, 2]).item(), -(Math.log(0.5) + Math.log(0.3 / 0.5) + Math.log(1)) / 3);
});

test('adaptive k: the k <= 3 maximising the mean sequential log-prob; value = exp(mean)', () => {
  const a = adaptiveEvidence([0.6, 0.3, 0.05, 0.05]);
  // means: k=1 log .6 = -.511; k=2 (log .6 + log .75)/2 = -.399; k=3 (+ log .5)/3 = -.497
  assert.deepEqual(a.sentences, [0, 1]);
  close(a.value, Math.sqrt(0.6 * 0.75));
  const u = adaptiveEvidence([0.2, 0.2, 0.2, 0.2, 0.2]);
  assert.deepEqual(u.sentences.length, 3);
  close(u.value, Math.cbrt(0.2 * 0.25 * (1 / 3)));
  const one = adaptiveEvidence([0.05, 0.9, 0.05]);
  assert.deepEqual(one.sentences, [1]);
  close(one.value, 0.9);
  assert.deepEqual(adaptiveEvidence([0.1, 0.3, 0.2, 0.4], 1).sentences, [3]);
});

test('pseudo-evidence: correct and p > 0.9, exp(mean) > 0.5, ranked by p x value, top K, pool kept', () => {
  const item = (answer: number): MrcItem => ({ sentences: ['a.', 'b.', 'c.', 'd.'], question: 'q', options: ['x', 'y'], answer });
  const items = [item(0), item(0), item(0), item(0), item(1), item(0)];
  const pred = (predicted: number, p: number, evidence: number[]): MrcPrediction => ({ predicted, probs: predicted === 0 ? [p, 1 - p] : [1 - p, p], evidence });
  const preds = [
    pred(0, 0.95, [0.1, 0.8, 0.05, 0.05]), // kept: value 0.8, score 0.76
    pred(0, 0.9, [0.0, 1.0, 0.0, 0.0]), // p not above 0.9
    pred(1, 0.99, [1, 0, 0, 0]), // wrong answer
    pred(0, 0.99, [0.25, 0.25, 0.25, 0.25]), // evidence too flat: value (0.25*1/3*0.5)^(1/3) = 0.347
    pred(1, 0.92, [0.02, 0.01, 0.02, 0.95]), // kept: value 0.95, score 0.874
    pred(0, 0.999, [0.55, 0.4, 0.03, 0.02]), // kept: k=2 (k=3 adds log(.03/.05)) -> value sqrt(.55*.889) = 0.699, score 0.699
  ];
  const all = selectPseudoEvidence(items, preds, { ...STM_DEFAULTS, topK: 10 });
  assert.deepEqual(all.map((c) => c.index), [4, 0, 5]);
  assert.deepEqual(all.map((c) => c.sentences), [[3], [1], [0, 1]]);
  close(all[2].value, Math.sqrt(0.55 * (0.4 / 0.45)));
  assert.deepEqual(selectPseudoEvidence(items, preds, { ...STM_DEFAULTS, topK: 1 }).map((c) => c.index), [4]);
  assert.deepEqual(selectPseudoEvidence(items, preds, { ...STM_DEFAULTS, topK: 10 }, new Map([[4, [3]]])).map((c) => c.index), [0, 5]);
});

test('rule-based evidence ranks sentences by word overlap with question + option', () => {
  const it: MrcItem = { sentences: ['Anna lives in Paris.', 'Tom likes soup.', 'Anna owns a red kite.'], question: 'What does Anna own?', options: ['a red kite', 'Tom and soup'], answer: 0 };
  assert.deepEqual(overlapEvidence(it, 0, 2), [2, 0]);
  assert.deepEqual(overlapEvidence(it, 1, 1), [1]);
});

test('the STM loop saves every iteration\'s metrics and pseudo-labels', () => {
  const items = generateWorldTask('mrc', { n: 6, seed: 4, mrcKinds: ['pronoun'] });
  const texts = items.flatMap((r) => [...r.sentences, r.question, ...r.options]);
  const out = tempDir();
  const run = runStm((it) => microReader(texts, 10 + it), items, items, { ...STM_DEFAULTS, iterations: 2, steps: 25, batch: 4, lr: 5e-3, confidence: 0.5, minValue: 0.3, topK: 3 }, out);
  assert.equal(run.iterations.length, 3);
  assert.equal(run.iterations[0].added, 0);
  for (let i = 0; i <= 2; i++) {
    const m = JSON.parse(readFileSync(join(out, `iter-${i}`, 'metrics.json'), 'utf8'));
    assert.equal(m.iteration, i);
    assert.equal(m.per_item.correct.length, items.length);
    const labels = readFileSync(join(out, `iter-${i}`, 'pseudo_labels.jsonl'), 'utf8').split('\n').filter(Boolean);
    assert.equal(labels.length, run.iterations[i].added);
  }
  assert.ok(run.iterations[2].pool >= run.iterations[1].pool);
  assert.ok(existsSync(join(out, 'reader', 'config.json')));
  assert.ok(run.overlap.evidence_pk >= 0 && run.overlap.evidence_pk <= 1);
});
