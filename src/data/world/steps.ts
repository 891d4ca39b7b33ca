/**
 * Step-labelled arithmetic traces (process supervision). A worked arithmetic problem is a list of
 * steps: the lines of its column trace (arithmetic.ts) and, last, the final answer line. Each step is
 * checkable: the procedure is deterministic, so given a right prefix the next step has exactly one
 * right text, and the final answer is right when its box holds the exact value. A trace is labelled
 * step by step: true while every step so far is right; from the first wrong step on, every label is
 * false (a step built on a wrong one does not count as right).
 *
 * Records are TRL's stepwise-supervision format: `{"prompt", "completions": [step, ...], "labels":
 * [bool, ...]}`, plus `family` and `answer`. Wrong traces are made from right ones by one fault that the
 * rest of the trace then carries forward consistently: an arithmetic slip in one column (its sum off
 * by one; the written digit, the carry and the later columns follow from it), a misread operand digit
 * (the block is worked on the wrong number), a wrong block result copied into the next operation, or a
 * wrong boxed answer.
 */
import { DataError } from '../../errors.js';
import {
  type ArithmeticProblem,
  type ArithmeticSpec,
  applyOp,
  arithmeticExpression,
  arithmeticFinalAnswer,
  arithmeticInSplit,
  arithmeticQuestion,
  digitAt,
  operationBlock,
  parseArithmeticQuestion,
  placeName,
  sampleArithmetic,
} from './arithmetic.js';
import { type Split, type WorldRng } from './rng.js';
import { type ModelResponse, verifyArithmetic } from './verify.js';

/** Task families of step data: one operation kind each, or chains of several operations. */
export const STEP_FAMILIES = ['add', 'sub', 'mul', 'chain'] as const;
export type StepFamily = (typeof STEP_FAMILIES)[number];

const FAMILY_SPECS: Readonly<Record<StepFamily, readonly ArithmeticSpec[]>> = {
  add: [1, 2, 3].map((digits) => ({ digits, steps: 1, ops: ['+'] as const })),
  sub: [2, 3].map((digits) => ({ digits, steps: 1, ops: ['-'] as const })),
  mul: [2, 3].map((digits) => ({ digits, steps: 1, ops: ['*'] as const })),
  chain: [{ digits: 2, steps: 2, ops: ['+', '-'] as const }],
};

export interface StepwiseRecord {
  prompt: string;
  completions: string[];
  labels: boolean[];
  family: StepFamily;
  answer: string;
}

/** The family of a problem. */
export function stepFamilyOf(p: Pick<ArithmeticProblem, 'ops'>): StepFamily {
  if (p.ops.length > 1) return 'chain';
  return p.ops[0] === '+' ? 'add' : p.ops[0] === '-' ? 'sub' : 'mul';
}

/** The right steps of a problem: the trace lines, then the final answer line. */
export function arithmeticSteps(p: ArithmeticProblem): string[] {
  return stepsFrom(p, p.operands);
}

/** A wrong result of one operation block: its value, and its lines when the fault is inside them. */
interface BlockFault {
  block: number;
  value: number;
  lines?: string[];
}

/**
 * The block of `a op b` (op + or *) with an arithmetic slip in column `col`: that column's sum is off
 * by `delta`, and the written digit, the carry and every later column follow from the wrong sum.
 */
export function slipBlock(a: number, op: '+' | '*', b: number, col: number, delta: number): { lines: string[]; value: number } | null {
  const cols = op === '+' ? Math.max(String(a).length, String(b).length) : String(a).length;
  if (col >= cols) return null;
  const lines = [`${a} ${op} ${b}:`];
  let carry = 0, value = 0;
  for (let i = 0; i < cols; i++) {
    const x = digitAt(a, i), y = op === '+' ? digitAt(b, i) : b;
    const s = (op === '+' ? x + y + carry : x * y + carry) + (i === col ? delta : 0);
    if (s < 0) return null;
    lines.push(`${placeName(i)}: ${x} ${op} ${y} + ${carry} = ${s}, write ${s % 10}, carry ${Math.floor(s / 10)}`);
    value += (s % 10) * 10 ** i;
    carry = Math.floor(s / 10);
  }
  if (carry > 0) {
    lines.push(`final carry: write ${carry}`);
    value += carry * 10 ** cols;
  }
  lines.push(`${a} ${op} ${b} = ${value}`);
  return { lines, value };
}

/** Trace steps worked on `operands` (possibly misread), headed by the true expression's final line. */
function stepsFrom(p: ArithmeticProblem, operands: readonly number[], copyFault?: BlockFault): string[] {
  const lines: string[] = [];
  let value = operands[0];
  for (let i = 0; i < p.ops.length; i++) {
    const block = copyFault?.block === i && copyFault.lines ? copyFault.lines : operationBlock(value, p.ops[i], operands[i + 1]);
    value = applyOp(value, p.ops[i], operands[i + 1]);
    if (copyFault?.block === i) {
      value = copyFault.value;
      if (!copyFault.lines) block[block.length - 1] = `${block[0].slice(0, -1)} = ${value}`;
    }
    lines.push(...block);
  }
  if (p.ops.length > 1) lines.push(`So ${arithmeticExpression(p)} = ${value}`);
  lines.push(arithmeticFinalAnswer({ ...p, answer: value }));
  return lines;
}

/** Splits a response into steps: the non-empty lines of its reasoning, then its final answer. */
export function responseSteps(response: ModelResponse): string[] {
  const r = typeof response === 'string' ? { content: response, reasoning_content: '' } : response;
  const lines = (r.reasoning_content ?? '').split('\n').map((s) => s.trim()).filter((s) => s.length > 0);
  return [...lines, (r.content ?? '').trim()];
}

/**
 * Labels the steps of a worked answer to `p`: a reasoning step is right when the prefix is right and
 * it is the procedure's step at that position; the last step (the answer) is right when the prefix is
 * right and its box holds the exact value. From the first wrong step on, every label is false.
 */
export function labelArithmeticSteps(p: ArithmeticProblem, steps: readonly string[]): boolean[] {
  const ref = arithmeticSteps(p);
  const labels: boolean[] = [];
  let ok = true;
  for (let i = 0; i < steps.length; i++) {
    const last = i === steps.length - 1;
    if (ok) ok = last ? verifyArithmetic(steps[i], p.answer) : i < ref.length - 1 && norm(steps[i]) === norm(ref[i]);
    labels.push(ok);
  }
  return labels;
}

function norm(s: string): string {
  return s.trim().replace(/\s+/g, ' ');
}

/** Index of the first false label, or -1 when every step is right. */
export function firstWrongStep(labels: readonly boolean[]): number {
  return labels.indexOf(false);
}

/** A number of the same digit count as `n` (when n > 9) with one digit changed; never n itself. */
function misread(rng: WorldRng, n: number, lo = 0): number {
  const s = String(n);
  for (let t = 0; t < 20; t++) {
    const i = rng.int(0, s.length - 1);
    const d = rng.int(i === 0 && s.length > 1 ? 1 : 0, 9);
    const m = Number(s.slice(0, i) + d + s.slice(i + 1));
    if (m !== n && m >= lo) return m;
  }
  return n + 1;
}

/** Whether every subtraction of the chain on `operands` (with a copied-wrong block result) takes no more than there is. */
function staysNonNegative(p: ArithmeticProblem, operands: readonly number[], copyFault?: BlockFault): boolean {
  let v = operands[0];
  for (let j = 0; j < p.ops.length; j++) {
    if (p.ops[j] === '-' && operands[j + 1] > v) return false;
    v = copyFault?.block === j ? copyFault.value : applyOp(v, p.ops[j], operands[j + 1]);
  }
  return true;
}

/** A wrong trace of `p`: one fault, carried forward consistently. Labels come from the checker. */
export function corruptArithmeticSteps(rng: WorldRng, p: ArithmeticProblem): string[] {
  const right = arithmeticSteps(p);
  for (let t = 0; t < 50; t++) {
    const kind = rng.pick(['slip', 'slip', 'misread', 'copy', 'answer'] as const);
    let steps: string[];
    if (kind === 'slip') {
      const blocks = p.ops.map((op, i) => (op === '-' ? -1 : i)).filter((i) => i >= 0);
      if (blocks.length === 0) continue;
      const block = rng.pick(blocks);
      let a = p.operands[0];
      for (let i = 0; i < block; i++) a = applyOp(a, p.ops[i], p.operands[i + 1]);
      const slipped = slipBlock(a, p.ops[block] as '+' | '*', p.operands[block + 1], rng.int(0, String(a).length + 1), rng.pick([-1, 1]));
      if (!slipped) continue;
      const fault = { block, ...slipped };
      if (!staysNonNegative(p, p.operands, fault)) continue;
      steps = stepsFrom(p, p.operands, fault);
    } else if (kind === 'answer') {
      steps = [...right.slice(0, -1), arithmeticFinalAnswer({ ...p, answer: misread(rng, p.answer) })];
    } else if (kind === 'copy') {
      const block = rng.int(0, p.ops.length - 1);
      let value = p.operands[0];
      for (let i = 0; i <= block; i++) value = applyOp(value, p.ops[i], p.operands[i + 1]);
      const fault = { block, value: misread(rng, value) };
      if (!staysNonNegative(p, p.operands, fault)) continue;
      steps = stepsFrom(p, p.operands, fault);
    } else {
      const i = rng.int(1, p.operands.length - 1);
      const operands = [...p.operands];
      operands[i] = p.ops[i - 1] === '*' ? rng.pick([2, 3, 4, 5, 6, 7, 8, 9].filter((m) => m !== operands[i])) : misread(rng, operands[i]);
      if (!staysNonNegative(p, operands)) continue;
      steps = stepsFrom(p, operands);
    }
    if (firstWrongStep(labelArithmeticSteps(p, steps)) >= 0) return steps;
  }
  return [...right.slice(0, -1), arithmeticFinalAnswer({ ...p, answer: p.answer + 1 })];
}

/** Draws a problem of `family` in `split`. */
export function sampleStepProblem(rng: WorldRng, family: StepFamily, split: Split): ArithmeticProblem {
  for (let tries = 0; ; tries++) {
    const p = sampleArithmetic(rng, rng.pick(FAMILY_SPECS[family]));
    if (arithmeticInSplit(p, split) || tries > 10000) return p;
  }
}

/** One labelled record of a (right or corrupted) trace of `p`. */
export function stepwiseRecord(p: ArithmeticProblem, steps: string[]): StepwiseRecord {
  return { prompt: arithmeticQuestion(p), completions: steps, labels: labelArithmeticSteps(p, steps), family: stepFamilyOf(p), answer: String(p.answer) };
}

/** Labels a sampled response to an arithmetic question; null when the prompt is not one. */
export function labelSampledResponse(prompt: string, response: ModelResponse): StepwiseRecord | null {
  const p = parseArithmeticQuestion(prompt);
  if (!p) return null;
  return { ...stepwiseRecord(p, responseSteps(response)), prompt };
}

/**
 * `n` step-labelled traces of problems drawn evenly from `families`; a share `wrongShare` of them
 * (default one half) is a corrupted trace.
 */
export function generateSteps(rng: WorldRng, n: number, opts: { split: Split; families?: readonly StepFamily[]; wrongShare?: number }): StepwiseRecord[] {
  const families = opts.families && opts.families.length > 0 ? opts.families : STEP_FAMILIES;
  for (const f of families) if (!STEP_FAMILIES.includes(f)) throw new DataError(`step families: expected some of ${STEP_FAMILIES.join(', ')}, got "${f}"`);
  const out: StepwiseRecord[] = [];
  for (let i = 0; i < n; i++) {
    const p = sampleStepProblem(rng, families[i % families.length], opts.split);
    const wrong = rng.chance(opts.wrongShare ?? 0.5);
    out.push(stepwiseRecord(p, wrong ? corruptArithmeticSteps(rng, p) : arithmeticSteps(p)));
  }
  return out;
}
