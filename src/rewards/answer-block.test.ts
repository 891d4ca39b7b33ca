import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerBlock, clockMatchReward, exactMatchReward, extractBoxedAnswer, numericMatchReward, parseClockTime } from './verifiers.js';
import { recordReward, verifierOf } from './index.js';

const box = (a: string) => `<|begin_of_box|>${a}<|end_of_box|>`;

test('GLM-4.1V format: the box inside the one <answer> block is the answer', () => {
  assert.equal(extractBoxedAnswer(`<think>\nthree red circles</think><answer>${box('3')}</answer>`), '3');
  assert.equal(extractBoxedAnswer(`<think>x</think><answer>There are ${box('3')} circles.</answer>`), '3');
  // generation may stop on </answer> and drop it
  assert.equal(extractBoxedAnswer(`<think>x</think><answer>${box('7')}`), '7');
  // a parsed message (content holds the answer block)
  assert.equal(extractBoxedAnswer({ content: `<answer>${box('B')}</answer>`, reasoning_content: 'r' }), 'B');
  assert.equal(numericMatchReward(`<think>r</think><answer>${box('12')}</answer>`, '12'), 1);
});

test('strict: no box, a box outside <answer>, or malformed answer tags score as wrong', () => {
  const wrong = [
    '<think>r</think><answer>3</answer>', // no box
    `<think>r</think>${box('3')}<answer>3</answer>`, // box outside the block
    `<think>r</think><answer>x</answer>${box('3')}`,
    `<think>r</think><answer>${box('3')}</answer><answer>${box('3')}</answer>`, // two blocks
    `<think>r</think>${box('3')}</answer>`, // stray closer
    `<think>r</think></answer><answer>${box('3')}`, // closer before opener
    `<think>${box('3')}</think><answer></answer>`, // box only in the reasoning
    `<think>r</think><answer>${box('3')}${box('4')}</answer>`, // two boxes
    `<think>r</think><answer>${box('')}</answer>`, // empty box
    `<think>never closed <answer>${box('3')}</answer>`,
  ];
  for (const r of wrong) {
    assert.equal(extractBoxedAnswer(r), null, r);
    assert.equal(numericMatchReward(r, '3'), 0, r);
  }
  assert.equal(answerBlock('no tags'), 'no tags');
  assert.equal(answerBlock('a<answer>b</answer>c'), 'b');
  assert.equal(answerBlock('<answer>b'), 'b');
});

test('clock times: H:MM with H in 1..12, a leading zero allowed, nothing else', () => {
  assert.equal(parseClockTime('3:05'), 185);
  assert.equal(parseClockTime('03:05'), 185);
  assert.equal(parseClockTime('12:30'), 30);
  for (const bad of ['3:5', '13:05', '0:15', '3:60', '3.05', '305', 'three', '3:05 pm', '']) assert.equal(parseClockTime(bad), null, bad);
  assert.equal(clockMatchReward(`<answer>${box('03:05')}</answer>`, '3:05'), 1);
  assert.equal(clockMatchReward(`<answer>${box('3:50')}</answer>`, '3:05'), 0);
  assert.equal(clockMatchReward('3:05', '3:05'), 0, 'no box is wrong');
  assert.throws(() => clockMatchReward(box('3:05'), '15:05'), RangeError);
});

test('records pick the clock verifier by name; an unknown verifier is refused', () => {
  const rec = { answer: '9:45', verifier: 'clock' as const, task: 'vision-clock' };
  assert.equal(verifierOf(rec), 'clock');
  const out = (content: string) => ({ content, reasoning_content: 'r', tool_calls: [], malformed: [] });
  assert.equal(recordReward(rec, out(`<answer>${box('9:45')}</answer>`)), 1);
  assert.equal(recordReward(rec, out(`<answer>${box('10:45')}</answer>`)), 0);
  assert.equal(recordReward({ answer: 'yes', verifier: 'exact' }, out(`<answer>${box('Yes')}</answer>`)), 1);
  assert.equal(exactMatchReward(`<answer>${box('no')}</answer>`, 'yes'), 0);
  assert.throws(() => verifierOf({ answer: '1', verifier: 'bogus' as never }), /unknown verifier "bogus"/);
});
