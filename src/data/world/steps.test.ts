import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArithmeticQuestion } from './arithmetic.js';
import { WorldRng } from './rng.js';
import { arithmeticSteps, corruptArithmeticSteps, slipBlock, firstWrongStep, generateSteps, labelArithmeticSteps, labelSampledResponse, responseSteps } from './steps.js';
import { generateWorldTask, validateWorldRecord } from './index.js';

const p = parseArithmeticQuestion('What is 47 + 38?')!;

test('the right steps of 47 + 38: two column lines, the result line and the boxed answer, all labelled true', () => {
  const steps = arithmeticSteps(p);
  assert.deepEqual(steps, ['47 + 38:', 'ones: 7 + 8 + 0 = 15, write 5, carry 1', 'tens: 4 + 3 + 1 = 8, write 8, carry 0', '47 + 38 = 85', '47 + 38 = <|begin_of_box|>85<|end_of_box|>']);
  assert.deepEqual(labelArithmeticSteps(p, steps), [true, true, true, true, true]);
});

test('hand-made wrong traces: the first wrong step is found and every later step is false', () => {
  // a carry slip in the ones column, carried on to a wrong answer
  const slip = ['47 + 38:', 'ones: 7 + 8 + 0 = 15, write 5, carry 0', 'tens: 4 + 3 + 0 = 7, write 7, carry 0', '47 + 38 = 75', '47 + 38 = <|begin_of_box|>75<|end_of_box|>'];
  assert.deepEqual(labelArithmeticSteps(p, slip), [true, false, false, false, false]);
  // right reasoning, wrong box
  const box = [...arithmeticSteps(p).slice(0, -1), '47 + 38 = <|begin_of_box|>86<|end_of_box|>'];
  assert.deepEqual(labelArithmeticSteps(p, box), [true, true, true, true, false]);
  // a wrong step followed by steps that happen to be right text is still false from there on
  const mid = ['47 + 38:', 'ones: 7 + 8 + 0 = 16, write 6, carry 1', 'tens: 4 + 3 + 1 = 8, write 8, carry 0', '47 + 38 = 85', '47 + 38 = <|begin_of_box|>85<|end_of_box|>'];
  assert.deepEqual(labelArithmeticSteps(p, mid), [true, false, false, false, false]);
  // an extra reasoning line beyond the procedure is wrong; whitespace does not matter
  const extra = ['47  + 38:', ...arithmeticSteps(p).slice(1, -1), 'check: done', '47 + 38 = <|begin_of_box|>85<|end_of_box|>'];
  assert.deepEqual(labelArithmeticSteps(p, extra), [true, true, true, true, false, false]);
  assert.equal(firstWrongStep([true, false, false]), 1);
  assert.equal(firstWrongStep([true, true]), -1);
});

test('a sampled response splits into reasoning lines and the answer, and is labelled by the checker', () => {
  const r = { reasoning_content: '47 + 38:\nones: 7 + 8 + 0 = 15, write 5, carry 1\n\ntens: 4 + 3 + 1 = 9, write 9, carry 0\n', content: ' The answer is <|begin_of_box|>95<|end_of_box|>' };
  assert.deepEqual(responseSteps(r), ['47 + 38:', 'ones: 7 + 8 + 0 = 15, write 5, carry 1', 'tens: 4 + 3 + 1 = 9, write 9, carry 0', 'The answer is <|begin_of_box|>95<|end_of_box|>']);
  const rec = labelSampledResponse('What is 47 + 38? Box the final answer.', r)!;
  assert.deepEqual(rec.labels, [true, true, false, false]);
  assert.equal(rec.answer, '85');
  assert.equal(labelSampledResponse('Where does Ada live?', r), null);
});

test('an arithmetic slip: the column sum is off by one and everything after follows from it', () => {
  // 47 + 38 with the ones column summed to 14: write 4, carry 1, tens 8 -> 84
  assert.deepEqual(slipBlock(47, '+', 38, 0, -1), { lines: ['47 + 38:', 'ones: 7 + 8 + 0 = 14, write 4, carry 1', 'tens: 4 + 3 + 1 = 8, write 8, carry 0', '47 + 38 = 84'], value: 84 });
  // 64 * 7 with the tens column one high: 4 * 7 = 28 (write 8, carry 2), 6 * 7 + 2 + 1 = 45 -> 458
  assert.deepEqual(slipBlock(64, '*', 7, 1, 1), { lines: ['64 * 7:', 'ones: 4 * 7 + 0 = 28, write 8, carry 2', 'tens: 6 * 7 + 2 = 45, write 5, carry 4', 'final carry: write 4', '64 * 7 = 458'], value: 458 });
  // unchanged (delta 0) it is the procedure's own block
  assert.deepEqual(slipBlock(64, '*', 7, 1, 0)!.lines, arithmeticSteps(parseArithmeticQuestion('What is 64 * 7?')!).slice(0, -1));
  assert.equal(slipBlock(47, '+', 38, 2, 1), null);
});

test('corrupted traces have exactly one fault carried forward: a right prefix, then all false, a wrong answer', () => {
  const rng = new WorldRng(5, 'steps-test');
  for (const q of ['What is 47 + 38?', 'What is 503 - 78?', 'What is 64 * 7?', 'What is 47 + 38 - 19?']) {
    const prob = parseArithmeticQuestion(q)!;
    for (let i = 0; i < 20; i++) {
      const steps = corruptArithmeticSteps(rng, prob);
      const labels = labelArithmeticSteps(prob, steps);
      const k = firstWrongStep(labels);
      assert.ok(k >= 0, `${q}: a corrupted trace must hold a wrong step`);
      assert.deepEqual(steps.slice(0, k), arithmeticSteps(prob).slice(0, k));
      assert.ok(labels.slice(k).every((l) => !l));
      assert.ok(!steps.at(-1)!.includes(`>${prob.answer}<`), `${q}: the fault reaches the final answer: ${steps.at(-1)}`);
    }
  }
});

test('the steps world task: TRL stepwise rows, families respected, about the asked share wrong, deterministic', () => {
  const recs = generateWorldTask('steps', { n: 200, seed: 1, families: ['mul', 'chain'], wrongShare: 0.25 });
  recs.forEach((r, i) => validateWorldRecord('steps', JSON.parse(JSON.stringify(r)), i + 1));
  assert.deepEqual([...new Set(recs.map((r) => r.family))].sort(), ['chain', 'mul']);
  const wrong = recs.filter((r) => r.labels.includes(false)).length;
  assert.ok(wrong > 25 && wrong < 75, `wrong share ${wrong}/200`);
  assert.deepEqual(generateSteps(new WorldRng(3, 'a'), 5, { split: 'train' }), generateSteps(new WorldRng(3, 'a'), 5, { split: 'train' }));
  // every fault keeps the chain's subtractions valid (no negative intermediate), for many draws
  const many = generateSteps(new WorldRng(7, 'b'), 600, { split: 'all', families: ['sub', 'chain'], wrongShare: 1 });
  assert.ok(many.every((r) => r.labels.includes(false)));
});
