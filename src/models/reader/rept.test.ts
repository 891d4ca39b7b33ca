import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnnotatedDocument } from '../../data/world/reading-hard.js';
import { REPT_DEFAULTS, buildReptExample, reptPretrain, sentenceImportance, sspTargets, tokenizeRept } from './rept.js';
import { microReader } from './test-fixtures.js';

// A hand-written document with its annotations.
const DOC: AnnotatedDocument = {
  sentences: [
    'Anna lives in Paris.',
    'She works as a baker in Paris for Lee.',
    'The bakery is near the river.',
    'Tom likes the river.',
    'Anna and Tom are friends.',
    'It rained.',
    'The baker sells bread.',
  ],
  annotations: [
    { entities: ['Anna', 'Paris'], nouns: [] },
    { entities: ['Paris', 'Lee'], nouns: ['baker'] },
    { entities: [], nouns: ['bakery', 'river'] },
    { entities: ['Tom'], nouns: ['river'] },
    { entities: ['Anna', 'Tom'], nouns: [] },
    { entities: [], nouns: [] },
    { entities: [], nouns: ['baker', 'bread'] },
  ],
};

const text = (segs: { text: string }[]) => segs.map((s) => s.text).join('');

test('rept data: importance, the top 30% become shuffled queries before the passage, mentions found elsewhere are masked', () => {
  // Anna 2, Paris 2, Lee 1, baker 2 ("bakery" is another word), bakery 1, river 2, Tom 2, bread 1 sentences
  assert.deepEqual(sentenceImportance(DOC), [3, 2 + 1 + 2 - 1 + 1, 2, 3, 3, 0, 2]);
  const ex = buildReptExample(DOC, () => 0.99, { ...REPT_DEFAULTS, entityMask: 1, nounMask: 1 });
  assert.equal(ex.queryCount, 2); // round(0.3 * 7)
  assert.deepEqual(ex.original, [1, 0, 2, 3, 4, 5, 6]); // queries s1 (5) and s0 (3, earliest of the ties), then the passage in order
  ex.sentences.forEach((segs, l) => assert.equal(text(segs), DOC.sentences[ex.original[l]]));
  const chosen = (l: number) => ex.sentences[l].filter((s) => s.action).map((s) => `${s.text}:${s.action}:${s.kind}`);
  // Lee occurs only in its own sentence: never masked; Paris, baker (in s6), Anna (in s4) are
  assert.deepEqual(chosen(0), ['baker:mask:noun', 'Paris:mask:entity']); // in text order
  assert.deepEqual(chosen(1), ['Anna:mask:entity', 'Paris:mask:entity']);
  for (let l = 2; l < 7; l++) assert.deepEqual(chosen(l), []);
  // the other shuffle order (rand 0 swaps the two queries)
  assert.deepEqual(buildReptExample(DOC, () => 0).original, [0, 1, 2, 3, 4, 5, 6]);
  // 0.85: entities fall in the replace band (0.8..0.9), nouns are not masked (0.85 >= 0.3)
  const rep = buildReptExample(DOC, () => 0.85);
  const segs = rep.sentences[0].filter((s) => s.action);
  assert.deepEqual(segs.map((s) => [s.text, s.action]), [['Paris', 'replace']]);
  assert.notEqual(segs[0].replacement, 'Paris');
  // 0.95: kept (still predicted)
  assert.deepEqual(buildReptExample(DOC, () => 0.95).sentences[1].filter((s) => s.action).map((s) => s.action), ['keep', 'keep']);
});

test('SSP targets: original neighbours in layout indices; each pointer masks the query and the other gold sentence', () => {
  const ex = buildReptExample(DOC, () => 0.99);
  // layout [s1, s0, s2, ...]: s1's previous is s0 (layout 1), next s2 (layout 2); s0 has no previous, next s1 (layout 0)
  assert.deepEqual(ex.prev, [1, -1]);
  assert.deepEqual(ex.next, [2, 0]);
  const t = sspTargets(ex);
  assert.deepEqual([...t.prev.targets], [1, -100]);
  assert.deepEqual([...t.next.targets], [2, 0]);
  const masked = (m: Float32Array, q: number) => [...m.subarray(q * 7, q * 7 + 7)].flatMap((v, i) => (v < 0 ? [i] : []));
  assert.deepEqual(masked(t.prev.mask, 0), [0, 2]);
  assert.deepEqual(masked(t.prev.mask, 1), [0, 1]);
  assert.deepEqual(masked(t.next.mask, 0), [0, 1]);
  assert.deepEqual(masked(t.next.mask, 1), [1]);
});

test('rept tokens mask exactly the chosen mentions; pre-training reports each loss and lowers them', () => {
  const reader = microReader(DOC.sentences);
  const maskId = reader.tokenizer.requireId('[MASK]');
  const ex = buildReptExample(DOC, () => 0.99, { ...REPT_DEFAULTS, entityMask: 1, nounMask: 1 });
  const t = tokenizeRept(reader, ex, maskId);
  assert.equal(t.spans.length, 7);
  assert.ok(t.positions.every((p) => t.ids[p] === maskId));
  assert.equal(t.ids.filter((x) => x === maskId).length, t.positions.length);
  assert.equal(reader.tokenizer.decode(t.targets.filter((_, i) => t.queryOf[i] === 0)).replace(/\s+/g, ''), 'bakerParis');
  const log = reptPretrain(reader, [DOC], { steps: 12, batch: 2, lr: 5e-3, seed: 1, objective: 'rept' });
  for (const k of ['prev', 'next', 'mlm'] as const) {
    assert.ok(log.every((r) => Number.isFinite(r[k]) && r[k] > 0), k);
    const first = (log[0][k] + log[1][k]) / 2, last = (log[10][k] + log[11][k]) / 2;
    assert.ok(last < first, `${k}: ${first} -> ${last}`);
  }
});
