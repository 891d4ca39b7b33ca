import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { microEncoder } from '../embed/test-fixtures.js';
import { argmax, choiceLogprobs, DEFAULT_SEQA, firstSentence, lmScores, semanticScores, seqaQuestion } from './seqa.js';

test('firstSentence cuts at the first sentence end', () => {
  assert.equal(firstSentence(' the fox runs. then it sleeps.'), 'the fox runs.');
  assert.equal(firstSentence('no end here'), 'no end here');
  assert.equal(firstSentence('line one\nline two.'), 'line one');
  assert.equal(firstSentence('3.5 apples! yes'), '3.5 apples!');
});

test('semantic score = mean over voters of exp(cos / T); voters that say a choice make it win', () => {
  const c = [Float32Array.of(1, 0), Float32Array.of(0, 1)];
  const voters = [Float32Array.of(0, 2), Float32Array.of(0.6, 0.8)];
  const s = semanticScores(c, voters, 0.5);
  assert.ok(Math.abs(s[0] - (Math.exp(0) + Math.exp(0.6 / 0.5)) / 2) < 1e-5);
  assert.ok(Math.abs(s[1] - (Math.exp(1 / 0.5) + Math.exp(0.8 / 0.5)) / 2) < 1e-5);
  assert.equal(argmax(s), 1);
  assert.deepEqual(semanticScores(c, [], 0.1), [0, 0]);
});

test('LM scores: the sum of the choice tokens\' log-probs after the prefix, its mean, and PMI', () => {
  const enc = microEncoder();
  const { lm, tokenizer: tok } = enc;
  const prefix = 'the red fox', choices = ['runs fast', 'sleeps'];
  const got = choiceLogprobs(lm, tok, prefix, choices);
  choices.forEach((c, i) => {
    const p = tok.encode(prefix), ids = [...p, ...tok.encode(' ' + c)];
    const logits = noGrad(() => lm.forward(Tensor.ids(ids, [1, ids.length])).logits!.data as Float32Array);
    const V = lm.config.vocabSize;
    let s = 0;
    for (let t = p.length - 1; t < ids.length - 1; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      s += row[ids[t + 1]] - lse;
    }
    assert.ok(Math.abs(got.sum[i] - s) < 1e-4, `${got.sum[i]} vs ${s}`);
    assert.equal(got.count[i], ids.length - p.length);
  });
  const q = { prefix, choices, answer: 0 };
  const lmS = lmScores(lm, tok, q, 'Answer:');
  const neutral = choiceLogprobs(lm, tok, 'Answer:', choices);
  lmS.lm_pmi.forEach((x, i) => assert.ok(Math.abs(x - (got.sum[i] - neutral.sum[i])) < 1e-9));
  lmS.lm_mean.forEach((x, i) => assert.ok(Math.abs(x - got.sum[i] / got.count[i]) < 1e-9));
});

test('seqaQuestion: every method predicts a choice; voters are single sentences', async () => {
  const enc = microEncoder({ normalize: true });
  const r = await seqaQuestion(enc.lm, enc.tokenizer, enc, { prefix: 'the big dog', choices: ['eats bread', 'sings', 'sleeps'], answer: 0 }, { ...DEFAULT_SEQA, voters: 6, maxVoterTokens: 6 });
  assert.ok(r.voters.length <= 6);
  for (const v of r.voters) assert.equal(v, firstSentence(v));
  for (const p of Object.values(r.predictions)) assert.ok(p >= 0 && p < 3);
  assert.equal(r.scores.seqa.length, 3);
  assert.equal(r.predictions.seqa, argmax(r.scores.seqa));
});
