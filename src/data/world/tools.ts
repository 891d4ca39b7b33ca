/**
 * Problems that need the `python` tool: numbers too large to work by hand in a short trace (big
 * products, powers, sums of squares, remainders). Each comes with the code the assistant runs and the
 * exact output python prints, computed here with BigInt, so the observation in the data is correct.
 */
import type { ToolSpec } from '../../tokenizer/chat-types.js';
import type { WorldRng } from './rng.js';
import { BOX_INSTRUCTION } from './questions.js';

/** The JSON schema of the built-in `python` tool (docs/architecture.md "Agent and tools"). */
export const PYTHON_TOOL: ToolSpec = {
  type: 'function',
  function: {
    name: 'python',
    description: 'Run Python code in a sandbox and return what it prints.',
    parameters: {
      type: 'object',
      properties: { code: { type: 'string', description: 'Python source code to execute.' } },
      required: ['code'],
    },
  },
};

export type ToolProblemKind = 'product' | 'power' | 'sum_squares' | 'remainder';

export interface ToolProblem {
  kind: ToolProblemKind;
  question: string;
  /** Python source that prints the answer. */
  code: string;
  /** Exactly what the code prints (without the trailing newline), which is also the answer. */
  answer: string;
}

/** Draws a problem that needs the python tool. */
export function sampleToolProblem(rng: WorldRng): ToolProblem {
  const kind = rng.pick<ToolProblemKind>(['product', 'power', 'sum_squares', 'remainder']);
  switch (kind) {
    case 'product': {
      const a = rng.int(1000, 99999);
      const b = rng.int(100, 9999);
      return {
        kind,
        question: `What is ${a} * ${b}? ${BOX_INSTRUCTION}`,
        code: `print(${a} * ${b})`,
        answer: (BigInt(a) * BigInt(b)).toString(),
      };
    }
    case 'power': {
      const b = rng.int(2, 9);
      const e = rng.int(12, 30);
      let v = 1n;
      for (let i = 0; i < e; i++) v *= BigInt(b);
      return { kind, question: `What is ${b} to the power of ${e}? ${BOX_INSTRUCTION}`, code: `print(${b} ** ${e})`, answer: v.toString() };
    }
    case 'sum_squares': {
      const n = rng.int(12, 99);
      let s = 0n;
      for (let i = 1n; i <= BigInt(n); i++) s += i * i;
      return {
        kind,
        question: `What is the sum of the squares of the numbers from 1 to ${n}? ${BOX_INSTRUCTION}`,
        code: `print(sum(i * i for i in range(1, ${n + 1})))`,
        answer: s.toString(),
      };
    }
    case 'remainder': {
      const a = rng.int(100000, 9999999);
      const m = rng.int(13, 97);
      return {
        kind,
        question: `What is the remainder of ${a} divided by ${m}? ${BOX_INSTRUCTION}`,
        code: `print(${a} % ${m})`,
        answer: String(a % m),
      };
    }
  }
}

/** Recognises a tool-problem question and returns its exact answer, or null. */
export function answerToolQuestion(text: string): string | null {
  let m: RegExpExecArray | null;
  if ((m = /What is (\d+) to the power of (\d+)\?/.exec(text))) return (BigInt(m[1]) ** BigInt(m[2])).toString();
  if ((m = /sum of the squares of the numbers from 1 to (\d+)\?/.exec(text))) {
    const n = BigInt(m[1]);
    return ((n * (n + 1n) * (2n * n + 1n)) / 6n).toString();
  }
  if ((m = /What is the remainder of (\d+) divided by (\d+)\?/.exec(text))) return (BigInt(m[1]) % BigInt(m[2])).toString();
  return null;
}
