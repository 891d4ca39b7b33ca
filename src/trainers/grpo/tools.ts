/**
 * Deterministic tools for GRPO rollouts. A tool is `{ name, run(args) }`; `run` returns the
 * observation text (or a Promise of it) and throws when the arguments are not what the tool's schema
 * asks for (the rollout then counts the call as malformed: reward 0).
 *
 * `python` here is not a Python interpreter: it runs the arithmetic programs the world's python
 * problems contain (`print(a * b)`, `print(b ** e)`, `print(a % m)`,
 * `print(sum(i * i for i in range(1, n)))`), plus assignments, through the safe evaluator of
 * agent/tools/calculator.ts. Anything else prints a Python-style error line, as a sandbox would.
 */
import { CALCULATOR_TOOL, EvalError, evaluateExpression, formatValue, runCalculator, type Value } from '../../agent/tools/calculator.js';
import { PYTHON_TOOL } from '../../data/world/tools.js';
import type { ToolSpec } from '../../tokenizer/chat-types.js';

export interface ToolRunner {
  name: string;
  run(args: Record<string, unknown>): Promise<string> | string;
}

/** Thrown by a tool when the call itself is invalid (missing or mistyped arguments). */
export class ToolArgumentError extends Error {}

/** Splits a top-level argument list on commas outside parentheses. */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0, cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '' || out.length > 0) out.push(cur);
  return out;
}

/**
 * Runs a tiny Python subset: statements separated by newlines or `;`, each `print(e1, e2, ...)`,
 * `name = expr` or a bare expression. Returns stdout (without the final newline); an error stops
 * the program and appends `Kind: message` like a Python traceback's last line.
 */
export function runPythonSubset(code: string): string {
  const env = new Map<string, Value>();
  const lines: string[] = [];
  for (const raw of code.split(/\n|;/)) {
    const stmt = raw.trim();
    if (stmt === '' || stmt.startsWith('#')) continue;
    try {
      const print = /^print\s*\((.*)\)$/s.exec(stmt);
      const assign = /^([A-Za-z_][A-Za-z_0-9]*)\s*=(?!=)\s*(.+)$/s.exec(stmt);
      if (/^(import|from|def|class|for|while|if|with|try|return|lambda)\b/.test(stmt)) throw new EvalError('SyntaxError', `unsupported statement in this sandbox: ${stmt.slice(0, 40)}`);
      if (print) lines.push(splitArgs(print[1]).map((a) => formatValue(evaluateExpression(a, env))).join(' '));
      else if (assign) {
        if (['print', 'sum', 'range', 'for', 'in', 'abs', 'max', 'min'].includes(assign[1])) throw new EvalError('SyntaxError', `cannot assign to ${assign[1]}`);
        env.set(assign[1], evaluateExpression(assign[2], env));
      } else evaluateExpression(stmt, env);
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      lines.push(`${e.kind}: ${e.message}`);
      break;
    }
  }
  return lines.join('\n');
}

/** The world's `python` tool (arguments `{code: string}`). */
export const pythonTool: ToolRunner = {
  name: 'python',
  run(args) {
    if (typeof args.code !== 'string' || Object.keys(args).some((k) => k !== 'code')) throw new ToolArgumentError(`python expects {"code": string}, got ${JSON.stringify(args)}`);
    return runPythonSubset(args.code);
  },
};

/** The `calculator` tool (arguments `{expression: string}`). */
export const calculatorTool: ToolRunner = {
  name: 'calculator',
  run(args) {
    if (typeof args.expression !== 'string' || Object.keys(args).some((k) => k !== 'expression')) throw new ToolArgumentError(`calculator expects {"expression": string}, got ${JSON.stringify(args)}`);
    return runCalculator(args);
  },
};

/** The default tool set of GRPO rollouts and their schemas. */
export const DEFAULT_TOOLS: ReadonlyMap<string, ToolRunner> = new Map([
  [pythonTool.name, pythonTool],
  [calculatorTool.name, calculatorTool],
]);
export const DEFAULT_TOOL_SPECS: Readonly<Record<string, ToolSpec>> = { python: PYTHON_TOOL, calculator: CALCULATOR_TOOL };
