/**
 * Arithmetic problems with a difficulty knob (digits, steps, operators), their exact answers, and the
 * step-by-step "column" traces the SFT thinking data and the pre-training corpus use. The trace is one
 * very regular procedure a tiny model can learn, one line per column, right to left:
 *
 *   47 + 38:
 *   ones: 7 + 8 + 0 = 15, write 5, carry 1
 *   tens: 4 + 3 + 1 = 8, write 8, carry 0
 *   47 + 38 = 85
 *
 * Subtraction borrows (`ones: 2 - 8 - 0 is negative, so 12 - 8 - 0 = 4, write 4, borrow 1`),
 * multiplication by one digit carries (`tens: 7 * 6 + 1 = 43, write 3, carry 4`), and a chain of
 * several operations is worked left to right, one block per operation. Results are never negative
 * (subtraction only takes what is there), so the procedure needs no sign rule.
 */
import { type Split, type WorldRng, splitOf } from './rng.js';

export type ArithOp = '+' | '-' | '*';

/** What a problem looks like: operand digits, number of operations, allowed operators. */
export interface ArithmeticSpec {
  /** Digits of each operand (the multiplier of `*` is always one digit, 2..9). */
  digits: number;
  /** Number of operations (operands = steps + 1), worked left to right. */
  steps: number;
  ops: readonly ArithOp[];
}

/** Difficulty levels used by RL curricula and the `--difficulty` flag. Level 2 is the main target. */
export const ARITHMETIC_LEVELS: Readonly<Record<number, ArithmeticSpec>> = {
  1: { digits: 1, steps: 1, ops: ['+', '-'] },
  2: { digits: 2, steps: 1, ops: ['+', '-'] },
  3: { digits: 3, steps: 1, ops: ['+', '-'] },
  4: { digits: 2, steps: 2, ops: ['+', '-'] },
  5: { digits: 3, steps: 1, ops: ['*'] },
  6: { digits: 4, steps: 2, ops: ['+', '-'] },
  7: { digits: 5, steps: 3, ops: ['+', '-'] },
};

export const MAX_ARITHMETIC_LEVEL = 7;

export interface ArithmeticProblem {
  operands: number[];
  /** ops[i] combines the running value with operands[i + 1]. */
  ops: ArithOp[];
  /** The exact value, evaluated left to right. */
  answer: number;
  /** The difficulty level it was drawn at (0 when drawn from a custom spec). */
  level: number;
}

/** The spec of a difficulty level; throws for unknown levels. */
export function arithmeticSpec(level: number): ArithmeticSpec {
  const spec = ARITHMETIC_LEVELS[level];
  if (!spec) throw new RangeError(`arithmetic difficulty: expected a level 1..${MAX_ARITHMETIC_LEVEL}, got ${level}`);
  return spec;
}

function randomOperand(rng: WorldRng, digits: number, max = Infinity): number {
  const lo = digits === 1 ? 0 : 10 ** (digits - 1);
  const hi = Math.min(10 ** digits - 1, max);
  return rng.int(lo, hi);
}

/** Draws a problem for `spec`; every intermediate and final value is >= 0. */
export function sampleArithmetic(rng: WorldRng, spec: ArithmeticSpec, level = 0): ArithmeticProblem {
  if (spec.steps > 1 && spec.ops.includes('*') && spec.ops.length > 1) {
    // left-to-right evaluation would disagree with operator precedence
    throw new RangeError(`sampleArithmetic: '*' cannot be mixed with '+'/'-' in multi-step problems`);
  }
  if (!(spec.digits >= 1 && spec.digits <= 9 && spec.steps >= 1 && spec.ops.length > 0)) {
    throw new RangeError(`sampleArithmetic: expected digits 1..9, steps >= 1 and some ops, got ${JSON.stringify(spec)}`);
  }
  const operands = [randomOperand(rng, spec.digits)];
  const ops: ArithOp[] = [];
  let value = operands[0];
  for (let s = 0; s < spec.steps; s++) {
    let op = rng.pick(spec.ops);
    const lo = spec.digits === 1 ? 0 : 10 ** (spec.digits - 1);
    if (op === '-' && value < lo) op = spec.ops.includes('+') ? '+' : op;
    let b: number;
    if (op === '*') b = rng.int(2, 9);
    else if (op === '-') b = value < lo ? rng.int(0, value) : randomOperand(rng, spec.digits, value);
    else b = randomOperand(rng, spec.digits);
    value = applyOp(value, op, b);
    operands.push(b);
    ops.push(op);
  }
  return { operands, ops, answer: value, level };
}

/** `a op b`. */
export function applyOp(a: number, op: ArithOp, b: number): number {
  return op === '+' ? a + b : op === '-' ? a - b : a * b;
}

/** The expression as written in questions and traces: "47 + 38 - 19". */
export function arithmeticExpression(p: Pick<ArithmeticProblem, 'operands' | 'ops'>): string {
  let s = String(p.operands[0]);
  for (let i = 0; i < p.ops.length; i++) s += ` ${p.ops[i]} ${p.operands[i + 1]}`;
  return s;
}

/** The user question (the same words in pre-training, SFT, RL and preference data). */
export function arithmeticQuestion(p: Pick<ArithmeticProblem, 'operands' | 'ops'>): string {
  return `What is ${arithmeticExpression(p)}? Box the final answer.`;
}

/** A key that identifies the problem (for train/test splits). */
export function arithmeticKey(p: Pick<ArithmeticProblem, 'operands' | 'ops'>): string {
  return arithmeticExpression(p).replace(/ /g, '');
}

/**
 * Whether a problem belongs to a split. A problem is 'test' when its whole expression hashes to test;
 * it is 'train' only when neither the expression nor any single operation of its chain (e.g. the
 * `85 - 19` inside `47 + 38 - 19`) is a test key, so training data never works a held-out problem.
 */
export function arithmeticInSplit(p: Pick<ArithmeticProblem, 'operands' | 'ops'>, split: Split): boolean {
  if (split === 'all') return true;
  const whole = splitOf(arithmeticKey(p));
  if (split === 'test') return whole === 'test';
  if (whole === 'test') return false;
  let value = p.operands[0];
  for (let i = 0; i < p.ops.length; i++) {
    if (p.ops.length > 1 && splitOf(`${value}${p.ops[i]}${p.operands[i + 1]}`) === 'test') return false;
    value = applyOp(value, p.ops[i], p.operands[i + 1]);
  }
  return true;
}

/**
 * Recognises an arithmetic question (`What is 47 + 38?`, with or without the box instruction) and
 * returns the problem with its exact answer, or null.
 */
export function parseArithmeticQuestion(text: string): ArithmeticProblem | null {
  const m = /What is (\d+(?: [-+*] \d+)+)\?/.exec(text);
  if (!m) return null;
  const tokens = m[1].split(' ');
  const operands = [Number(tokens[0])];
  const ops: ArithOp[] = [];
  let value = operands[0];
  for (let i = 1; i < tokens.length; i += 2) {
    const op = tokens[i] as ArithOp;
    const b = Number(tokens[i + 1]);
    ops.push(op);
    operands.push(b);
    value = applyOp(value, op, b);
  }
  return { operands, ops, answer: value, level: 0 };
}

const PLACE_NAMES = [
  'ones',
  'tens',
  'hundreds',
  'thousands',
  'ten-thousands',
  'hundred-thousands',
  'millions',
  'ten-millions',
  'hundred-millions',
  'billions',
];

/** The name of column i (0 = ones). */
export function placeName(i: number): string {
  return PLACE_NAMES[i] ?? `column ${i + 1}`;
}

/** Digit i (0 = ones) of a non-negative integer; 0 beyond its length. */
export function digitAt(n: number, i: number): number {
  return Math.floor(n / 10 ** i) % 10;
}

function numDigits(n: number): number {
  return String(n).length;
}

/** Column addition lines for a + b (a, b >= 0), without header and result line. */
export function columnAddLines(a: number, b: number): string[] {
  const lines: string[] = [];
  const cols = Math.max(numDigits(a), numDigits(b));
  let carry = 0;
  for (let i = 0; i < cols; i++) {
    const x = digitAt(a, i);
    const y = digitAt(b, i);
    const s = x + y + carry;
    lines.push(`${placeName(i)}: ${x} + ${y} + ${carry} = ${s}, write ${s % 10}, carry ${Math.floor(s / 10)}`);
    carry = Math.floor(s / 10);
  }
  if (carry > 0) lines.push(`final carry: write ${carry}`);
  return lines;
}

/** Column subtraction lines for a - b (a >= b >= 0), borrowing from the next column. */
export function columnSubLines(a: number, b: number): string[] {
  if (b > a) throw new RangeError(`columnSubLines: expected a >= b, got ${a} - ${b}`);
  const lines: string[] = [];
  const cols = numDigits(a);
  let borrow = 0;
  for (let i = 0; i < cols; i++) {
    const x = digitAt(a, i);
    const y = digitAt(b, i);
    const d = x - y - borrow;
    if (d >= 0) {
      lines.push(`${placeName(i)}: ${x} - ${y} - ${borrow} = ${d}, write ${d}, borrow 0`);
      borrow = 0;
    } else {
      lines.push(
        `${placeName(i)}: ${x} - ${y} - ${borrow} is negative, so ${x + 10} - ${y} - ${borrow} = ${d + 10}, write ${d + 10}, borrow 1`,
      );
      borrow = 1;
    }
  }
  return lines;
}

/** Column multiplication lines for a * m (a >= 0, m one digit). */
export function columnMulLines(a: number, m: number): string[] {
  if (m < 0 || m > 9) throw new RangeError(`columnMulLines: expected a one-digit multiplier, got ${m}`);
  const lines: string[] = [];
  const cols = numDigits(a);
  let carry = 0;
  for (let i = 0; i < cols; i++) {
    const x = digitAt(a, i);
    const s = x * m + carry;
    lines.push(`${placeName(i)}: ${x} * ${m} + ${carry} = ${s}, write ${s % 10}, carry ${Math.floor(s / 10)}`);
    carry = Math.floor(s / 10);
  }
  if (carry > 0) lines.push(`final carry: write ${carry}`);
  return lines;
}

/** One worked operation: header `a op b:`, the column lines, and `a op b = r`. */
export function operationBlock(a: number, op: ArithOp, b: number): string[] {
  const body = op === '+' ? columnAddLines(a, b) : op === '-' ? columnSubLines(a, b) : columnMulLines(a, b);
  return [`${a} ${op} ${b}:`, ...body, `${a} ${op} ${b} = ${applyOp(a, op, b)}`];
}

/**
 * The full thinking trace of a problem: one block per operation, left to right, each starting from the
 * previous result; chains end with a line restating the whole expression and its value.
 */
export function arithmeticTrace(p: Pick<ArithmeticProblem, 'operands' | 'ops'>): string {
  const lines: string[] = [];
  let value = p.operands[0];
  for (let i = 0; i < p.ops.length; i++) {
    lines.push(...operationBlock(value, p.ops[i], p.operands[i + 1]));
    value = applyOp(value, p.ops[i], p.operands[i + 1]);
  }
  if (p.ops.length > 1) lines.push(`So ${arithmeticExpression(p)} = ${value}`);
  return lines.join('\n');
}

/** The final answer text of SFT data: `47 + 38 = <|begin_of_box|>85<|end_of_box|>`. */
export function arithmeticFinalAnswer(p: ArithmeticProblem): string {
  return `${arithmeticExpression(p)} = <|begin_of_box|>${p.answer}<|end_of_box|>`;
}
