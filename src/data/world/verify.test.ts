import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOX_CLOSE as C, BOX_OPEN as O, extractBoxed, finalAnswerText, normalizeAnswer, verifyArithmetic, verifyChoice, verifyExact } from './verify.js';

test('extracts the one boxed answer of the final text', () => {
  assert.equal(extractBoxed(`47 + 38 = ${O}85${C}`), '85');
  assert.equal(extractBoxed(`<think>7 + 8 = 15</think>The answer is ${O} 85 ${C}.`), '85');
  assert.equal(extractBoxed({ content: `x ${O}Brightwater${C}`, reasoning_content: 'thinking' }), 'Brightwater');
  assert.equal(finalAnswerText('<think>a</think>b'), 'b');
});

test('reward-hacking shapes are rejected', () => {
  // several boxes
  assert.equal(extractBoxed(`${O}84${C} or ${O}85${C}`), null);
  assert.equal(verifyArithmetic(`${O}85${C}${O}85${C}`, 85), false);
  // empty or blank box
  assert.equal(extractBoxed(`${O}${C}`), null);
  assert.equal(extractBoxed(`${O}   ${C}`), null);
  // unclosed, nested or stray markers
  assert.equal(extractBoxed(`${O}85`), null);
  assert.equal(extractBoxed(`${O}8${O}5${C}`), null);
  assert.equal(extractBoxed(`${C} ${O}85${C}`), null);
  assert.equal(extractBoxed(`${O}85${C} ${C}`), null);
  // answer only in the reasoning
  assert.equal(verifyArithmetic(`<think>${O}85${C}</think>I am not sure.`, 85), false);
  assert.equal(verifyArithmetic({ content: 'I am not sure.', reasoning_content: `${O}85${C}` }, 85), false);
  // reasoning never closed: nothing was answered even if a box appears
  assert.equal(verifyArithmetic(`<think>so it is ${O}85${C}`, 85), false);
  // non-numeric content in a numeric box
  assert.equal(verifyArithmetic(`${O}85 or 86${C}`, 85), false);
  assert.equal(verifyArithmetic(`${O}eighty-five${C}`, 85), false);
  assert.equal(verifyArithmetic(`${O}85.5${C}`, 85), false);
  assert.equal(verifyArithmetic(`${O}-85${C}`, 85), false);
  // a null message content
  assert.equal(verifyArithmetic({ content: null }, 85), false);
});

test('verifyArithmetic accepts right answers in common integer spellings and rejects wrong ones', () => {
  assert.equal(verifyArithmetic(`${O}85${C}`, '85'), true);
  assert.equal(verifyArithmetic(`${O}1,754${C}`, 1754), true);
  assert.equal(verifyArithmetic(`${O}-12${C}`, -12), true);
  assert.equal(verifyArithmetic(`${O}86${C}`, '85'), false);
  assert.equal(verifyArithmetic(`${O}424618516${C}`, 424618516n), true);
  assert.throws(() => verifyArithmetic(`${O}1${C}`, 'x'), RangeError);
});

test('verifyExact normalises case, articles and punctuation only', () => {
  assert.equal(normalizeAnswer('  The Bakery. '), 'bakery');
  assert.equal(verifyExact(`${O}brightwater${C}`, 'Brightwater'), true);
  assert.equal(verifyExact(`${O}the red kite${C}`, 'red kite'), true);
  assert.equal(verifyExact(`${O}kite${C}`, 'red kite'), false);
  assert.equal(verifyExact(`${O}Brightwater or Oakridge${C}`, 'Brightwater'), false);
});

test('verifyChoice accepts the letter or the unique text of the right choice', () => {
  const choices = ['bakery', 'hospital', 'school', 'farm'];
  assert.equal(verifyChoice(`${O}B${C}`, 1, choices), true);
  assert.equal(verifyChoice(`${O}(b)${C}`, 1, choices), true);
  assert.equal(verifyChoice(`${O}hospital${C}`, 1, choices), true);
  assert.equal(verifyChoice(`${O}A${C}`, 1, choices), false);
  assert.equal(verifyChoice(`${O}A, B${C}`, 1, choices), false);
  assert.equal(verifyChoice(`${O}school${C}`, 1, choices), false);
});
