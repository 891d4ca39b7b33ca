import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleToolProblem } from '../../data/world/tools.js';
import { WorldRng } from '../../data/world/rng.js';
import { evaluateExpression } from '../../agent/tools/calculator.js';
import { calculatorTool, pythonTool, runPythonSubset, ToolArgumentError } from './tools.js';

test('python subset prints what the world says the python code prints', () => {
  const rng = new WorldRng(11);
  for (let i = 0; i < 200; i++) {
    const p = sampleToolProblem(rng);
    assert.equal(runPythonSubset(p.code), p.answer, p.code);
  }
});

test('python subset: statements, Python division semantics, errors', () => {
  assert.equal(runPythonSubset('x = 7\ny = x * 6; print(y, y - 2)'), '42 40');
  assert.equal(runPythonSubset('print(-7 // 2, -7 % 3, 7 / 2, 2 ** -1)'), '-4 2 3.5 0.5');
  assert.equal(runPythonSubset('print(1 / 0)'), 'ZeroDivisionError: division by zero');
  assert.equal(runPythonSubset('print(1)\nprint(undefined_name)\nprint(2)'), "1\nNameError: name 'undefined_name' is not defined");
  assert.match(runPythonSubset('import os'), /^SyntaxError/);
  assert.match(runPythonSubset('print(9 ** 9 ** 9)'), /^OverflowError/);
  assert.match(runPythonSubset('print(sum(i for i in range(10 ** 9)))'), /^OverflowError/);
  assert.equal(runPythonSubset('print(max(i % 7 for i in range(3, 20)))'), '6');
  assert.equal(runPythonSubset('print(sum(i * i for i in range(1, 4)) + 1)'), '15');
});

test('calculator evaluates exactly and refuses bad arguments', () => {
  assert.equal(evaluateExpression('(2 + 3) * 4 - 10 // 3'), 17n);
  assert.equal(evaluateExpression('2 ** 100'), 2n ** 100n);
  assert.equal(calculatorTool.run({ expression: '123456789 * 987654321' }), (123456789n * 987654321n).toString());
  assert.match(String(calculatorTool.run({ expression: '2 +' })), /^Error: SyntaxError/);
  assert.throws(() => calculatorTool.run({ expr: '1' }), ToolArgumentError);
  assert.throws(() => pythonTool.run({ code: 1 }), ToolArgumentError);
  assert.throws(() => pythonTool.run({ code: 'print(1)', extra: true }), ToolArgumentError);
});
