import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask } from './index.js';
import { RUDE_PHRASES, goldReward, solveWorldPrompt } from './preference.js';
import { BOX_CLOSE as C, BOX_OPEN as O, extractBoxed } from './verify.js';
import { getWorld } from './world.js';
import { DataError } from '../../errors.js';

const Q = 'What is 47 + 38? Box the final answer.';
const LONG = ' I have thought about this very carefully and from many angles, and I want to be thorough.'.repeat(3);

test('the annotator prefers correct over wrong, concise over verbose, polite over rude', () => {
  const correct = `47 + 38 = ${O}85${C}.`;
  const wrong = `47 + 38 = ${O}84${C}.`;
  assert.ok(goldReward(Q, correct) > goldReward(Q, wrong));
  assert.ok(goldReward(Q, correct) > goldReward(Q, correct + LONG));
  assert.ok(goldReward(Q, correct) > goldReward(Q, `Obviously, ${correct} Try to keep up.`));
  // correctness dominates: a long rude right answer beats a short polite wrong one
  assert.ok(goldReward(Q, `Obviously,${LONG} ${correct} Stop wasting my time.`) > goldReward(Q, `Sure! ${wrong}`));
  // values in [0, 1] with the extremes reachable
  assert.equal(goldReward(Q, correct), 1);
  assert.equal(goldReward(Q, `Obviously ${'x'.repeat(400)} ${O}84${C}`), 0);
});

test('gold reward resists reward hacking and reads only the final answer', () => {
  assert.equal(goldReward(Q, `${O}84${C} ${O}85${C}`) < 0.6, true, 'two boxes earn no correctness');
  assert.equal(goldReward(Q, `${O}${C}`) < 0.6, true, 'an empty box earns no correctness');
  assert.equal(goldReward(Q, `<think>${O}85${C}</think>I do not know.`) < 0.6, true, 'a box inside the reasoning earns nothing');
  assert.equal(goldReward(Q, `<think>it is ${O}85${C}`), 0, 'unfinished reasoning earns nothing');
  // reasoning length does not count against conciseness, the final answer does
  assert.equal(goldReward(Q, `<think>${'long reasoning '.repeat(40)}</think>47 + 38 = ${O}85${C}.`), 1);
  // unboxed but stated: half credit for correctness
  assert.equal(goldReward(Q, '47 + 38 = 85.'), Math.round((0.3 + 0.25 + 0.15) * 1e4) / 1e4);
  // message shapes
  assert.equal(goldReward([{ role: 'user', content: Q }], [{ role: 'assistant', content: `${O}85${C}` }]), 1);
  assert.equal(goldReward([{ role: 'user', content: Q }], { role: 'assistant', content: 'no', reasoning_content: `${O}85${C}` }) < 0.6, true);
});

test('world questions: the right entity boxed scores, naming every candidate does not', () => {
  const w = getWorld(0);
  const p = w.people[0];
  const q = `Where does ${p.name} live? Box the final answer.`;
  assert.equal(goldReward(q, `The answer is ${O}${p.home}${C}.`), 1);
  const other = w.places.find((pl) => pl.name !== p.home)!.name;
  assert.ok(goldReward(q, `The answer is ${O}${other}${C}.`) < 0.6);
  const all = `It is one of ${w.places.map((pl) => pl.name).join(', ')}.`;
  assert.ok(goldReward(q, all) < 0.6, 'listing all places is not an answer');
  assert.ok(goldReward(q, `${p.name} lives in ${p.home}.`) > 0.6, 'a plain correct sentence earns half correctness');
});

test('goldReward refuses prompts the world did not make; solves python-sized prompts exactly', () => {
  assert.throws(() => goldReward('Tell me a joke.', 'no'), DataError);
  assert.deepEqual(solveWorldPrompt(getWorld(0), 'What is 7 to the power of 23?'), { answer: (7n ** 23n).toString(), numeric: true });
  assert.deepEqual(solveWorldPrompt(getWorld(0), 'What is the sum of the squares of the numbers from 1 to 3?'), { answer: '14', numeric: true });
});

test('generated pairs: chosen scores higher under the gold reward and the scores are the gold reward', () => {
  const recs = generateWorldTask('preference', { n: 300, seed: 5 });
  let correctVsWrong = 0;
  let conciseVsVerbose = 0;
  for (const r of recs) {
    assert.equal(goldReward(r.prompt, r.chosen), r.score_chosen);
    assert.equal(goldReward(r.prompt, r.rejected), r.score_rejected);
    assert.ok(r.score_chosen > r.score_rejected);
    const chosen = r.chosen[0].content!;
    const rejected = r.rejected[0].content!;
    if (r.score_chosen >= 0.6 && r.score_rejected < 0.4) correctVsWrong++;
    if (chosen.length + 100 < rejected.length) conciseVsVerbose++;
    // independent check of "correct > wrong": a right boxed answer is never rejected for a wrong boxed one
    const truth = solveWorldPrompt(getWorld(0), r.prompt[0].content!)!.answer.toLowerCase();
    const box = (s: string) => extractBoxed(s)?.toLowerCase() ?? null;
    if (box(rejected) === truth && box(chosen) !== null) assert.equal(box(chosen), truth, `${chosen} chosen over ${rejected}`);
    // and among right boxed answers, a rude one never beats a polite one of similar length
    if (box(chosen) === truth && box(rejected) === truth && Math.abs(chosen.length - rejected.length) < 20) {
      const rude = (s: string) => RUDE_PHRASES.some((p) => s.toLowerCase().includes(p));
      assert.ok(!(rude(chosen) && !rude(rejected)), `${chosen} chosen over ${rejected}`);
    }
  }
  assert.ok(correctVsWrong > 50, `${correctVsWrong} pairs of right vs wrong`);
  assert.ok(conciseVsVerbose > 30, `${conciseVsVerbose} pairs of concise vs verbose`);
});

test('pairs carry the reasoning: a slip keeps it and states another answer, a misread works another problem', () => {
  const recs = generateWorldTask('preference', { n: 600, seed: 9 });
  let slips = 0, misreads = 0;
  for (const r of recs) {
    for (const [resp, label] of [[r.chosen[0], r.chosen_correct], [r.rejected[0], r.rejected_correct]] as const) {
      assert.ok((resp.reasoning_content ?? '').length > 0, 'every response has reasoning');
      const right = extractBoxed(resp.content ?? '') !== null && goldReward(r.prompt, resp) >= 0.6;
      assert.equal(label, right ? 1 : 0, 'correctness labels follow the rubric');
    }
    const wrong = r.rejected_correct === 0 && r.chosen_correct === 1 ? r.rejected[0] : null;
    if (!wrong || extractBoxed(wrong.content ?? '') === null) continue;
    if (wrong.reasoning_content === r.chosen[0].reasoning_content) slips++;
    else misreads++;
  }
  assert.ok(slips > 40 && misreads > 40, `slips ${slips}, misreads ${misreads}`);
});

test('contrastive pairs: right vs wrong worded alike; contrastive 0 leaves the data as it was', () => {
  const recs = generateWorldTask('preference', { n: 200, seed: 9, contrastive: 1 });
  const words = (s: string) => s.replace(/<\|begin_of_box\|>.*?<\|end_of_box\|>/g, 'BOX').replace(/[\d]+/g, 'N');
  let slips = 0, misreads = 0;
  for (const r of recs) {
    // the right one wins (boxed: label 1; stated without a box: half credit, label 0)
    assert.equal(r.rejected_correct, 0);
    assert.ok(r.score_chosen - r.score_rejected >= 0.25, `${r.score_chosen} vs ${r.score_rejected}`);
    const [c, w] = [r.chosen[0], r.rejected[0]];
    if (w.reasoning_content === c.reasoning_content) slips++;
    else misreads++;
    // the wording around the answer sentence is the same; only the problem's numbers / names differ
    const [cw, ww] = [words(c.content ?? ''), words(w.content ?? '')];
    assert.equal(cw.length > 0 && cw.split(' ').length, ww.split(' ').length, `${c.content} | ${w.content}`);
  }
  assert.ok(slips > 50 && misreads > 50, `slips ${slips}, misreads ${misreads}`);
  const plain = generateWorldTask('preference', { n: 50, seed: 9 });
  assert.deepEqual(generateWorldTask('preference', { n: 50, seed: 9, contrastive: 0 }), plain);
  assert.throws(() => generateWorldTask('preference', { n: 5, contrastive: 1.5 }), /contrastive within 0\.\.1/);
});
