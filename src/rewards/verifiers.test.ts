import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorldTask, verifyRlAnswer, type RlRecord } from '../data/world/index.js';
import { parseChatOutput } from '../tokenizer/chat-parser.js';
import {
  BOX_CLOSE, BOX_OPEN, editDistance, editDistanceReward, exactMatchReward, extractBoxedAnswer, numericMatchReward,
  parseNumber, recordReward, toolCallReward,
} from './index.js';

const box = (s: string) => `${BOX_OPEN}${s}${BOX_CLOSE}`;

test('extractBoxedAnswer: exactly one non-empty box in the final answer', () => {
  assert.equal(extractBoxedAnswer(`The answer is ${box(' 42 ')}.`), '42');
  assert.equal(extractBoxedAnswer(`<think>work</think>so ${box('7')}`), '7');
  assert.equal(extractBoxedAnswer({ content: `x ${box('7')}`, reasoning_content: 'r' }), '7');
  // hacking attempts
  assert.equal(extractBoxedAnswer(`${box('1')} or ${box('2')}`), null, 'several boxes');
  assert.equal(extractBoxedAnswer(`${box('3')} ${box('3')}`), null, 'the same answer boxed twice');
  assert.equal(extractBoxedAnswer(box('   ')), null, 'empty box');
  assert.equal(extractBoxedAnswer(`${BOX_OPEN}5`), null, 'unclosed box');
  assert.equal(extractBoxedAnswer(`${BOX_OPEN}${box('5')}${BOX_CLOSE}`), null, 'nested box');
  assert.equal(extractBoxedAnswer(`${BOX_CLOSE}5${BOX_OPEN}`), null, 'reversed markers');
  assert.equal(extractBoxedAnswer(`<think>${box('9')}</think>I do not know`), null, 'box only in the reasoning');
  assert.equal(extractBoxedAnswer({ content: 'no box', reasoning_content: box('9') }), null, 'box only in reasoning_content');
  assert.equal(extractBoxedAnswer(`<think>${box('9')} never finished`), null, 'reasoning cut off');
});

test('numericMatchReward: exact integers, tolerance, and hacking cases', () => {
  assert.equal(numericMatchReward(box('1,234'), '1234'), 1);
  assert.equal(numericMatchReward(box('-17.'), -17), 1);
  assert.equal(numericMatchReward(box('\u221217'), '-17'), 1);
  assert.equal(numericMatchReward(box('43'), '42'), 0);
  assert.equal(numericMatchReward(box('3.1416'), '3.14159', { relTol: 1e-4 }), 1);
  assert.equal(numericMatchReward(box('3.15'), '3.14159', { relTol: 1e-4 }), 0);
  assert.equal(numericMatchReward(box('1/4'), '0.25', { absTol: 1e-9 }), 1);
  // an answer spread over the reasoning: the digits are in the trace, the box holds something else
  assert.equal(numericMatchReward('<think>42 = 40 + 2, so 42</think> ' + box('forty-two'), '42'), 0);
  // several numbers in one box, words, huge or malformed numbers
  assert.equal(numericMatchReward(box('41 42 43'), '42'), 0);
  assert.equal(numericMatchReward(box('42 or 43'), '42'), 0);
  assert.equal(numericMatchReward(box('9'.repeat(400)), '42'), 0);
  assert.equal(numericMatchReward(box('1e999'), '42', { relTol: 1 }), 0, 'overflow to Infinity');
  assert.equal(numericMatchReward(box('NaN'), '42', { relTol: 1 }), 0);
  assert.equal(numericMatchReward(box('Infinity'), '42', { relTol: 1 }), 0);
  assert.equal(numericMatchReward(box('4..2'), '42'), 0);
  assert.equal(numericMatchReward(box('0x2A'), '42'), 0);
  assert.equal(numericMatchReward(box('1/0'), '42', { relTol: 1 }), 0);
  // big integers compare exactly, not through float rounding
  assert.equal(numericMatchReward(box('100000000000000001'), '100000000000000000'), 0);
  assert.equal(numericMatchReward(box('100000000000000001'), '100000000000000001'), 1);
  assert.throws(() => numericMatchReward(box('1'), 'abc'), /not a number/);
});

test('parseNumber accepts plain numbers only', () => {
  assert.equal(parseNumber('12,345.5'), 12345.5);
  assert.equal(parseNumber('2.5e3'), 2500);
  assert.equal(parseNumber('7 / 8'), 0.875);
  for (const bad of ['', '12,34', '1.2.3', '--1', '1e', 'e5', '12abc', ' ', '1,2345']) assert.equal(parseNumber(bad), null, bad);
});

test('exactMatchReward normalises case, articles and punctuation but not content', () => {
  assert.equal(exactMatchReward(box('The Blue Lake.'), 'blue lake'), 1);
  assert.equal(exactMatchReward(box('blue lake and red hill'), 'blue lake'), 0);
  assert.equal(exactMatchReward(`${box('blue lake')} ${box('red hill')}`, 'blue lake'), 0);
  assert.equal(exactMatchReward('blue lake', 'blue lake'), 0, 'no box, no reward');
});

test('editDistance and editDistanceReward against hand-computed values', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('flaw', 'lawn'), 2);
  assert.ok(Math.abs(editDistanceReward(box('kitten'), 'sitting') - (1 - 3 / 7)) < 1e-12);
  assert.equal(editDistanceReward(box('same text'), 'same  text'), 1);
  assert.equal(editDistanceReward(`${box('a')}${box('a')}`, 'a'), 0);
  // a huge answer cannot score much against a short reference
  assert.ok(editDistanceReward(box('x'.repeat(1000) + 'abc'), 'abc') < 0.01);
});

test('toolCallReward is strict on name and every argument', () => {
  const want = [{ function: { name: 'python', arguments: { code: 'print(2 ** 10)' } } }];
  const ok = parseChatOutput('<tool_call>python\n<arg_key>code</arg_key>\n<arg_value>print(2 ** 10)</arg_value>\n</tool_call>', { tools: [{ type: 'function', function: { name: 'python', parameters: { type: 'object', properties: { code: { type: 'string' } } } } }] });
  assert.equal(toolCallReward(ok, want), 1);
  assert.equal(toolCallReward({ tool_calls: [{ function: { name: 'python', arguments: '{"code":"print(2 ** 10)"}' } }] }, want), 1, 'JSON-string arguments');
  assert.equal(toolCallReward({ tool_calls: [{ function: { name: 'python', arguments: { code: 'print(2 ** 11)' } } }] }, want), 0, 'wrong value');
  assert.equal(toolCallReward({ tool_calls: [{ function: { name: 'pythn', arguments: { code: 'print(2 ** 10)' } } }] }, want), 0, 'wrong name');
  assert.equal(toolCallReward({ tool_calls: [{ function: { name: 'python', arguments: { code: 'print(2 ** 10)', extra: 1 } } }] }, want), 0, 'extra argument');
  assert.equal(toolCallReward({ tool_calls: [{ function: { name: 'python', arguments: {} } }] }, want), 0, 'missing argument');
  assert.equal(toolCallReward({ tool_calls: [...want, ...want] }, want), 0, 'called twice');
  assert.equal(toolCallReward({ tool_calls: want, malformed: [{ raw: 'x', reason: 'y' }] }, want), 0, 'a malformed call alongside');
  assert.equal(toolCallReward({ tool_calls: [{ function: { name: 'python', arguments: '{not json' } }] }, want), 0);
  assert.equal(toolCallReward({ tool_calls: [{ function: { name: 'f', arguments: { n: '1' } } }] }, [{ name: 'f', arguments: { n: 1 } }]), 0, 'type matters');
});

test('recordReward agrees with the world verifier on world-style outputs', () => {
  const recs = generateWorldTask('rl', { n: 60, seed: 5, split: 'test', difficulty: [1, 2, 3] }) as RlRecord[];
  let checked = 0;
  for (const [i, r] of recs.entries()) {
    const outputs = [box(r.answer), box(r.answer + '1'), `${box(r.answer)} ${box(r.answer)}`, `<think>${box(r.answer)}</think>`, `<think>t</think>so ${box(` ${r.answer.toUpperCase()} `)}`];
    for (const text of outputs) {
      const parsed = parseChatOutput(text);
      assert.equal(recordReward(r, parsed), verifyRlAnswer(r, { content: parsed.content, reasoning_content: parsed.reasoning_content }), `record ${i}: ${text}`);
      checked++;
    }
  }
  assert.equal(checked, 300);
});
