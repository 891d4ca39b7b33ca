import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARITHMETIC_LEVELS,
  arithmeticQuestion,
  arithmeticTrace,
  parseArithmeticQuestion,
  sampleArithmetic,
} from './arithmetic.js';
import { generateWorldTask } from './index.js';
import { WorldRng } from './rng.js';
import { extractBoxed, verifyArithmetic } from './verify.js';

// ---- an independent checker of the column traces (string digits and BigInt, not the generator's code)

const PLACES = ['ones', 'tens', 'hundreds', 'thousands', 'ten-thousands', 'hundred-thousands'];

function digitsLsbFirst(n: string): number[] {
  return n.split('').reverse().map(Number);
}

function evalLeftToRight(expr: string): bigint {
  const t = expr.split(' ');
  let v = BigInt(t[0]);
  for (let i = 1; i < t.length; i += 2) {
    const b = BigInt(t[i + 1]);
    v = t[i] === '+' ? v + b : t[i] === '-' ? v - b : v * b;
  }
  return v;
}

/** Checks one block starting at lines[i]; returns [a, op, b, result, index after the block]. */
function checkBlock(lines: string[], i: number): [string, string, string, string, number] {
  const head = /^(\d+) ([-+*]) (\d+):$/.exec(lines[i]);
  assert.ok(head, `expected a block header, got "${lines[i]}"`);
  const [, a, op, b] = head;
  const da = digitsLsbFirst(a);
  const db = digitsLsbFirst(b);
  const written: number[] = [];
  let carry = 0;
  let col = 0;
  i++;
  for (; !/ = -?\d+$/.test(lines[i]) || lines[i].includes(','); i++) {
    const line = lines[i];
    const x = da[col] ?? 0;
    const y = db[col] ?? 0;
    let m: RegExpExecArray | null;
    if ((m = /^final carry: write (\d)$/.exec(line))) {
      assert.ok(carry > 0 && Number(m[1]) === carry, `final carry ${m[1]} but carry is ${carry}`);
      written.push(carry);
      carry = 0;
      continue;
    }
    if (op === '+') {
      m = /^([\w-]+): (\d) \+ (\d) \+ (\d) = (\d+), write (\d), carry (\d)$/.exec(line);
      assert.ok(m, `bad addition line "${line}"`);
      assert.equal(m[1], PLACES[col]);
      assert.deepEqual([Number(m[2]), Number(m[3]), Number(m[4])], [x, y, carry], line);
      const s = x + y + carry;
      assert.equal(Number(m[5]), s, line);
      assert.equal(Number(m[6]), s % 10, line);
      assert.equal(Number(m[7]), Math.floor(s / 10), line);
      written.push(s % 10);
      carry = Math.floor(s / 10);
    } else if (op === '*') {
      m = /^([\w-]+): (\d) \* (\d) \+ (\d) = (\d+), write (\d), carry (\d)$/.exec(line);
      assert.ok(m, `bad multiplication line "${line}"`);
      assert.equal(m[1], PLACES[col]);
      assert.deepEqual([Number(m[2]), Number(m[3]), Number(m[4])], [x, Number(b), carry], line);
      const s = x * Number(b) + carry;
      assert.equal(Number(m[5]), s, line);
      assert.equal(Number(m[6]), s % 10, line);
      assert.equal(Number(m[7]), Math.floor(s / 10), line);
      written.push(s % 10);
      carry = Math.floor(s / 10);
    } else {
      const borrow = carry;
      if ((m = /^([\w-]+): (\d) - (\d) - (\d) = (\d), write (\d), borrow 0$/.exec(line))) {
        assert.deepEqual([Number(m[2]), Number(m[3]), Number(m[4])], [x, y, borrow], line);
        assert.ok(x - y - borrow >= 0, `no borrow needed in "${line}"?`);
        assert.equal(Number(m[5]), x - y - borrow, line);
        assert.equal(Number(m[6]), x - y - borrow, line);
        written.push(x - y - borrow);
        carry = 0;
      } else if ((m = /^([\w-]+): (\d) - (\d) - (\d) is negative, so (\d+) - (\d) - (\d) = (\d), write (\d), borrow 1$/.exec(line))) {
        assert.deepEqual([Number(m[2]), Number(m[3]), Number(m[4])], [x, y, borrow], line);
        assert.ok(x - y - borrow < 0, `"${line}" says negative`);
        assert.equal(Number(m[5]), x + 10, line);
        assert.equal(Number(m[8]), x + 10 - y - borrow, line);
        assert.equal(Number(m[9]), x + 10 - y - borrow, line);
        written.push(x + 10 - y - borrow);
        carry = 1;
      } else assert.fail(`bad subtraction line "${line}"`);
      assert.equal(m[1], PLACES[col]);
    }
    col++;
  }
  assert.equal(carry, 0, 'a carry or borrow is left over');
  assert.equal(col, op === '+' ? Math.max(da.length, db.length) : da.length, 'one line per column');
  const fin = /^(\d+) ([-+*]) (\d+) = (\d+)$/.exec(lines[i]);
  assert.ok(fin && fin[1] === a && fin[2] === op && fin[3] === b, `expected "${a} ${op} ${b} = ...", got "${lines[i]}"`);
  const fromDigits = BigInt(written.reverse().join(''));
  const truth = evalLeftToRight(`${a} ${op} ${b}`);
  assert.equal(fromDigits, truth, `written digits of ${a} ${op} ${b}`);
  assert.equal(BigInt(fin[4]), truth, `stated result of ${a} ${op} ${b}`);
  return [a, op, b, fin[4], i + 1];
}

/** Checks a whole trace for `expr`; returns the final value it states. */
function checkTrace(trace: string, expr: string): bigint {
  const lines = trace.split('\n');
  const toks = expr.split(' ');
  let i = 0;
  let value = toks[0];
  for (let k = 1; k < toks.length; k += 2) {
    const [a, op, b, r, next] = checkBlock(lines, i);
    assert.deepEqual([a, op, b], [value, toks[k], toks[k + 1]], 'blocks follow the expression left to right');
    value = r;
    i = next;
  }
  if (toks.length > 3) {
    assert.equal(lines[i], `So ${expr} = ${value}`);
    i++;
  }
  assert.equal(i, lines.length, 'nothing after the last block');
  assert.equal(BigInt(value), evalLeftToRight(expr));
  return BigInt(value);
}

test('levels give operands of the stated size and non-negative exact answers', () => {
  const rng = new WorldRng(5);
  for (const [lvl, spec] of Object.entries(ARITHMETIC_LEVELS)) {
    for (let k = 0; k < 200; k++) {
      const p = sampleArithmetic(rng, spec, Number(lvl));
      assert.equal(p.ops.length, spec.steps);
      assert.equal(String(p.operands[0]).length, spec.digits);
      for (const [j, op] of p.ops.entries()) {
        assert.ok(spec.ops.includes(op));
        if (op === '*') assert.ok(p.operands[j + 1] >= 2 && p.operands[j + 1] <= 9);
      }
      const expr = p.operands.map((o, j) => (j === 0 ? `${o}` : `${p.ops[j - 1]} ${o}`)).join(' ');
      assert.equal(BigInt(p.answer), evalLeftToRight(expr));
      assert.ok(p.answer >= 0);
    }
  }
  // two-digit level: both operands have two digits
  for (let k = 0; k < 500; k++) {
    const p = sampleArithmetic(rng, ARITHMETIC_LEVELS[2], 2);
    assert.ok(p.operands.every((o) => o >= 10 && o <= 99), `${p.operands}`);
  }
});

test('column traces are arithmetically right at every level (independent checker)', () => {
  const rng = new WorldRng(11);
  for (const spec of Object.values(ARITHMETIC_LEVELS)) {
    for (let k = 0; k < 300; k++) {
      const p = sampleArithmetic(rng, spec);
      const expr = p.operands.map((o, j) => (j === 0 ? `${o}` : `${p.ops[j - 1]} ${o}`)).join(' ');
      assert.equal(checkTrace(arithmeticTrace(p), expr), BigInt(p.answer));
    }
  }
  // hand-picked corner cases: carries into a new column, borrows across zeros, equal operands
  for (const [a, op, b] of [[999, '+', 1], [1000, '-', 1], [55, '-', 55], [0, '+', 0], [905, '*', 9], [7, '+', 98]] as const) {
    checkTrace(arithmeticTrace({ operands: [a, b], ops: [op] }), `${a} ${op} ${b}`);
  }
});

test('the checker catches a wrong trace', () => {
  const good = arithmeticTrace({ operands: [47, 38], ops: ['+'] });
  assert.throws(() => checkTrace(good.replace('carry 1', 'carry 0'), '47 + 38'));
  assert.throws(() => checkTrace(good.replace('= 85', '= 86'), '47 + 38'));
  assert.throws(() => checkTrace(good, '47 + 39'));
});

test('questions parse back to the same problem and answer', () => {
  const rng = new WorldRng(2);
  for (let k = 0; k < 500; k++) {
    const p = sampleArithmetic(rng, ARITHMETIC_LEVELS[1 + (k % 7)]);
    const q = parseArithmeticQuestion(arithmeticQuestion(p));
    assert.ok(q);
    assert.deepEqual([q.operands, q.ops, q.answer], [p.operands, p.ops, p.answer]);
  }
  assert.equal(parseArithmeticQuestion('What is the capital of France?'), null);
});

test('every SFT arithmetic thinking trace works its own question, and both modes box the right answer', () => {
  const recs = generateWorldTask('sft', { n: 600, seed: 4 });
  let checked = 0;
  for (const r of recs) {
    const user = r.messages[0].content!;
    const m = /^What is (\d+(?: [-+*] \d+)+)\? Box the final answer\.$/.exec(user);
    if (!m || r.tools) continue;
    const last = r.messages[r.messages.length - 1];
    const truth = evalLeftToRight(m[1]);
    assert.equal(extractBoxed(last), truth.toString());
    assert.ok(verifyArithmetic(last, truth));
    if (r.enable_thinking) {
      assert.equal(checkTrace(last.reasoning_content!, m[1]), truth);
      checked++;
    } else {
      assert.equal(last.reasoning_content, '');
    }
  }
  assert.ok(checked > 100, `only ${checked} thinking traces checked`);
});

test('worked examples and equations in the pre-training corpus are right', () => {
  const docs = generateWorldTask('pretrain', { n: 300, seed: 8 });
  let blocks = 0;
  let equations = 0;
  for (const { text } of docs) {
    for (const chunk of text.split('\n\n')) {
      const lines = chunk.split('\n');
      const head = /^(\d+ [-+*] \d+):$/.exec(lines[0]);
      if (head) {
        // a worked block (possibly a chain ending with "So ...")
        const so = /^So (.+) = \d+$/.exec(lines[lines.length - 1]);
        checkTrace(chunk, so ? so[1] : head[1]);
        blocks++;
        continue;
      }
      for (const line of lines) {
        const eq = /^(\d+(?: [-+*] \d+)+) = (\d+)$/.exec(line);
        if (!eq) continue;
        assert.equal(BigInt(eq[2]), evalLeftToRight(eq[1]), line);
        equations++;
      }
    }
  }
  assert.ok(blocks > 50 && equations > 200, `${blocks} blocks, ${equations} equations`);
});
