import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { microEncoder } from '../embed/test-fixtures.js';
import { argmax, choiceLogprobs, DEFAULT_SEQA, embedTexts, firstClause, firstSentence, lmScores, sampleVoters, semanticScores, seqaQuestion } from './seqa.js';
import { generateFromSharedPrefix } from '../generation/generate.js';
import { EOS_TOKEN } from '../tokenizer/special-tokens.js';

test('firstSentence cuts at the first sentence end', () => {
  assert.equal(firstSentence(' the fox runs. then it sleeps.'), 'the fox runs.');
  assert.equal(firstSentence('no end here'), 'no end here');
  assert.equal(firstSentence('line one\nline two.'), 'line one');
  assert.equal(firstSentence('3.5 apples! yes'), '3.5 apples!');
});

test('firstClause cuts at the first clause or sentence end, without the mark', () => {
  assert.equal(firstClause(' workshop, uses a saw and builds tables.'), 'workshop');
  assert.equal(firstClause('ride a camel.'), 'ride a camel');
  assert.equal(firstClause('3,5 apples; then more'), '3,5 apples');
  assert.equal(firstClause('the port: busy. Later, fish.'), 'the port');
  assert.equal(firstClause('no end here'), 'no end here');
});

test('embedTexts: alone, or as statements after the prefix', () => {
  assert.deepEqual(embedTexts('Ann goes to the', ['market', ' park '], 'bare'), ['market', ' park ']);
  assert.deepEqual(embedTexts('Ann goes to the', ['market', ' park '], 'prefixed'), ['Ann goes to the market', 'Ann goes to the park']);
});

test('voters end at the first special token and at the chosen cut', () => {
  const enc = microEncoder();
  const { lm, tokenizer: tok } = enc;
  const opts = { voters: 6, maxVoterTokens: 8, topP: 0.9, seed: 4 };
  // the raw samples of the same seed, with every special token a stop (as sampleVoters samples)
  const specials = Array.from({ length: tok.vocabSize }, (_, i) => i).filter((i) => tok.isSpecial(i));
  assert.ok(specials.includes(tok.requireId(EOS_TOKEN)));
  const raw = generateFromSharedPrefix(lm, tok.encode('the red fox'), 6, { maxNewTokens: 8, temperature: 1, topP: 0.9, seed: 4, stopTokens: specials, padId: tok.requireId(EOS_TOKEN), vocabLimit: tok.vocabSize });
  const texts = raw.tokens.map((t) => tok.decode(t.filter((x) => !tok.isSpecial(x))));
  assert.deepEqual(sampleVoters(lm, tok, 'the red fox', { ...opts, voterCut: 'sentence' }), texts.map(firstSentence).filter((s) => s.length > 0));
  assert.deepEqual(sampleVoters(lm, tok, 'the red fox', { ...opts, voterCut: 'clause' }), texts.map(firstClause).filter((s) => s.length > 0));
  for (const t of raw.tokens) t.slice(0, -1).forEach((x) => assert.ok(!tok.isSpecial(x), 'no special token inside a voter'));
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
