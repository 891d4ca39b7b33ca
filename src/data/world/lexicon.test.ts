import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask } from './index.js';
import { eventKey, eventSimilarity, realise, type LexEvent } from './lexicon.js';
import { splitOf } from './rng.js';

const words = (s: string) => s.toLowerCase().replace(/[.,]/g, '').split(/\s+/).sort().join(' ');

test('pairs: positive is another wording; a swap negative has the anchor\'s very words', () => {
  const pairs = generateWorldTask('pairs', { n: 200, seed: 1, split: 'train' });
  assert.equal(pairs.length, 200);
  let swaps = 0;
  for (const p of pairs) {
    assert.notEqual(p.positive, p.anchor);
    assert.notEqual(p.negative, p.anchor);
    if (p.negative_kind === 'swap') {
      swaps++;
      assert.equal(words(p.negative), words(p.anchor));
    }
  }
  assert.ok(swaps > 40 && swaps < 100, `swaps ${swaps}`);
  const reworded = pairs.filter((p) => p.negative_kind === 'swap-reworded');
  assert.ok(reworded.length > 10, `swap-reworded ${reworded.length}`);
  // "Ann helped Bo" -> "Ann was helped by Bo": the same names in the same order, the other voice
  for (const p of reworded) assert.notEqual(/ was .* by /.test(p.anchor), / was .* by /.test(p.negative), `${p.anchor} | ${p.negative}`);
});

test('wordings of one event; gold similarity counts shared slots', () => {
  const e: LexEvent = { subject: 'Ann', verb: 0, object: 'Bo', place: 0 };
  assert.equal(realise(e, 'active', 0, 0), 'Ann helped Bo at the market.');
  assert.equal(realise(e, 'passive', 1, 2), 'Bo was assisted by Ann at the bazaar.');
  assert.equal(realise(e, 'fronted', 2, 1), 'At the marketplace, Ann aided Bo.');
  assert.equal(eventSimilarity(e, e), 5);
  assert.equal(eventSimilarity(e, { ...e, subject: 'Bo', object: 'Ann' }), 2.5);
  assert.equal(eventSimilarity(e, { ...e, place: 3 }), 3.75);
});

test('sts: graded gold scores over the whole 0..5 range; test split is disjoint from train by event', () => {
  const sts = generateWorldTask('sts', { n: 300, seed: 2, split: 'test' });
  const scores = new Set(sts.map((r) => r.score));
  for (const s of [0, 1.25, 2.5, 3.75, 5]) assert.ok(scores.has(s), `score ${s} present`);
  assert.equal(splitOf(eventKey({ subject: 'Ann', verb: 0, object: 'Bo', place: 0 })), splitOf(eventKey({ subject: 'Ann', verb: 0, object: 'Bo', place: 0 })));
  // same options, same records
  assert.deepEqual(generateWorldTask('sts', { n: 20, seed: 2, split: 'test' }), sts.slice(0, 20));
});

test('every answer a world mcq question offers has a paraphrase for the synonym-swap attack', async () => {
  const { CHOICE_SYNONYMS } = await import('./lexicon.js');
  const recs = generateWorldTask('mcq', { n: 300, seed: 5 });
  for (const r of recs) for (const c of r.choices) {
    assert.ok(CHOICE_SYNONYMS[c] !== undefined, `no paraphrase of "${c}"`);
    assert.notEqual(CHOICE_SYNONYMS[c], c);
  }
});

test('mcq paraphraseChoices: the same questions with every choice, or only the right one, in paraphrase', async () => {
  const { CHOICE_SYNONYMS } = await import('./lexicon.js');
  const { validateWorldRecord } = await import('./schema.js');
  const plain = generateWorldTask('mcq', { n: 60, seed: 3 });
  const all = generateWorldTask('mcq', { n: 60, seed: 3, paraphraseChoices: 'all' });
  const answer = generateWorldTask('mcq', { n: 60, seed: 3, paraphraseChoices: 'answer' });
  assert.deepEqual(generateWorldTask('mcq', { n: 60, seed: 3, paraphraseChoices: 'none' }), plain);
  plain.forEach((p, i) => {
    for (const r of [all[i], answer[i]]) {
      assert.deepEqual({ ...r, choices: p.choices, seen_choices: undefined }, { ...p, seen_choices: undefined });
      assert.deepEqual(r.seen_choices, p.choices);
      validateWorldRecord('mcq', r);
    }
    assert.deepEqual(all[i].choices, p.choices.map((c) => CHOICE_SYNONYMS[c]));
    assert.deepEqual(answer[i].choices, p.choices.map((c, j) => (j === p.answer ? CHOICE_SYNONYMS[c] : c)));
    assert.notEqual(answer[i].choices[p.answer], p.choices[p.answer]);
    assert.equal(new Set(answer[i].choices).size, p.choices.length);
  });
  assert.throws(() => generateWorldTask('mcq', { n: 1, paraphraseChoices: 'some' as never }), /paraphraseChoices none, all, answer/);
  assert.throws(() => validateWorldRecord('mcq', { ...all[0], seen_choices: ['x'] }), /seen_choices/);
});
