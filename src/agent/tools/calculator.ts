/**
 * A safe arithmetic evaluator and the `calculator` tool built on it. No `eval`: a hand-written
 * tokenizer and recursive-descent parser over a small Python-like expression grammar
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '//' | '/' | '%') unary)*
 *   unary   := ('-' | '+') unary | power
 *   power   := atom ('**' unary)?
 *   atom    := NUMBER | NAME | '(' expr ')' | 'abs' '(' expr ')'
 *            | ('sum' | 'max' | 'min') '(' expr 'for' NAME 'in' 'range' '(' expr [',' expr] ')' ')'
 *
 * Integers are exact (BigInt); a decimal literal or `/` makes the value a float. Limits keep a
 * hostile expression cheap: at most `MAX_RESULT_DIGITS` digits per value, `MAX_RANGE` loop
 * iterations in total, `MAX_EXPR_CHARS` characters.
 */
import type { ToolSpec } from '../../tokenizer/chat-types.js';

export const MAX_RESULT_DIGITS = 2000;
export const MAX_RANGE = 100_000;
export const MAX_EXPR_CHARS = 2000;

/** An evaluation error with a Python-style kind (ZeroDivisionError, SyntaxError, ...). */
export class EvalError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

export type Value = bigint | number;

type Tok = { t: 'num'; v: Value } | { t: 'name'; v: string } | { t: 'op'; v: string };

function tokenize(src: string): Tok[] {
  if (src.length > MAX_EXPR_CHARS) throw new EvalError('SyntaxError', `expression longer than ${MAX_EXPR_CHARS} characters`);
  const out: Tok[] = [];
  const re = /\s*(?:(\d+\.\d*|\.\d+|\d+(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z_0-9]*)|(\*\*|\/\/|[-+*/%(),]))/y;
  let i = 0;
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) throw new EvalError('SyntaxError', `invalid syntax at ${JSON.stringify(src.slice(i, i + 10))}`);
    i = re.lastIndex;
    if (m[1] !== undefined) out.push({ t: 'num', v: /[.eE]/.test(m[1]) ? Number(m[1]) : BigInt(m[1]) });
    else if (m[2] !== undefined) out.push({ t: 'name', v: m[2] });
    else out.push({ t: 'op', v: m[3] });
  }
  return out;
}

function checkSize(v: Value): Value {
  if (typeof v === 'bigint') {
    if ((v < 0n ? -v : v).toString().length > MAX_RESULT_DIGITS) throw new EvalError('OverflowError', `result has more than ${MAX_RESULT_DIGITS} digits`);
    return v;
  }
  if (!Number.isFinite(v)) throw new EvalError('OverflowError', 'numerical result out of range');
  return v;
}

function toFloat(v: Value): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Python semantics: floor division and modulo take the sign of the divisor. */
function binary(op: string, a: Value, b: Value): Value {
  if (typeof a === 'bigint' && typeof b === 'bigint' && op !== '/') {
    switch (op) {
      case '+': return checkSize(a + b);
      case '-': return checkSize(a - b);
      case '*': return checkSize(a * b);
      case '//':
      case '%': {
        if (b === 0n) throw new EvalError('ZeroDivisionError', 'integer division or modulo by zero');
        let q = a / b;
        if ((a % b !== 0n) && ((a < 0n) !== (b < 0n))) q -= 1n;
        return op === '//' ? q : a - q * b;
      }
      case '**': {
        if (b < 0n) return checkSize(Math.pow(Number(a), Number(b)));
        const abs = a < 0n ? -a : a, digits = abs.toString().length;
        const log10 = digits > 15 ? digits - 1 : Math.log10(Number(abs)); // log10 |a| (a lower bound)
        if (abs > 1n && log10 * Number(b) > MAX_RESULT_DIGITS) throw new EvalError('OverflowError', `result has more than ${MAX_RESULT_DIGITS} digits`);
        return checkSize(a ** b);
      }
    }
  }
  const x = toFloat(a), y = toFloat(b);
  switch (op) {
    case '+': return checkSize(x + y);
    case '-': return checkSize(x - y);
    case '*': return checkSize(x * y);
    case '/':
      if (y === 0) throw new EvalError('ZeroDivisionError', 'division by zero');
      return checkSize(x / y);
    case '//':
      if (y === 0) throw new EvalError('ZeroDivisionError', 'float floor division by zero');
      return checkSize(Math.floor(x / y));
    case '%':
      if (y === 0) throw new EvalError('ZeroDivisionError', 'float modulo');
      return checkSize(x - Math.floor(x / y) * y);
    case '**': return checkSize(Math.pow(x, y));
  }
  throw new EvalError('SyntaxError', `unknown operator ${op}`);
}

/** Parses and evaluates one expression over `env` (variable values). */
export class ExprParser {
  private pos = 0;
  private iterations = 0;
  private readonly toks: Tok[];
  constructor(src: string, private readonly env: Map<string, Value> = new Map()) {
    this.toks = tokenize(src);
  }

  /** Evaluates the whole input as one expression. */
  evaluate(): Value {
    const v = this.expr(true);
    if (this.pos < this.toks.length) throw new EvalError('SyntaxError', `unexpected ${this.show(this.toks[this.pos])}`);
    return v;
  }

  private show(t: Tok | undefined): string {
    return t === undefined ? 'end of input' : JSON.stringify(String(t.v));
  }
  private peekOp(...ops: string[]): string | null {
    const t = this.toks[this.pos];
    return t && t.t === 'op' && ops.includes(t.v) ? t.v : null;
  }
  private expectOp(op: string): void {
    if (!this.peekOp(op)) throw new EvalError('SyntaxError', `expected '${op}', found ${this.show(this.toks[this.pos])}`);
    this.pos++;
  }
  private expectName(name?: string): string {
    const t = this.toks[this.pos];
    if (!t || t.t !== 'name' || (name !== undefined && t.v !== name)) throw new EvalError('SyntaxError', `expected ${name ?? 'a name'}, found ${this.show(t)}`);
    this.pos++;
    return t.v;
  }

  // `run` false: parse without evaluating (the body of a generator is parsed once, then re-run).
  private expr(run: boolean): Value {
    let v = this.term(run);
    for (let op; (op = this.peekOp('+', '-')); ) {
      this.pos++;
      const r = this.term(run);
      if (run) v = binary(op, v, r);
    }
    return v;
  }
  private term(run: boolean): Value {
    let v = this.unary(run);
    for (let op; (op = this.peekOp('*', '//', '/', '%')); ) {
      this.pos++;
      const r = this.unary(run);
      if (run) v = binary(op, v, r);
    }
    return v;
  }
  private unary(run: boolean): Value {
    const op = this.peekOp('-', '+');
    if (op) {
      this.pos++;
      const v = this.unary(run);
      return run && op === '-' ? (typeof v === 'bigint' ? -v : -v) : v;
    }
    return this.power(run);
  }
  private power(run: boolean): Value {
    const base = this.atom(run);
    if (this.peekOp('**')) {
      this.pos++;
      const e = this.unary(run);
      return run ? binary('**', base, e) : 0n;
    }
    return base;
  }
  private atom(run: boolean): Value {
    const t = this.toks[this.pos++];
    if (!t) throw new EvalError('SyntaxError', 'unexpected end of expression');
    if (t.t === 'num') return t.v;
    if (t.t === 'op' && t.v === '(') {
      const v = this.expr(run);
      this.expectOp(')');
      return v;
    }
    if (t.t === 'name') {
      if (t.v === 'abs' && this.peekOp('(')) {
        this.pos++;
        const v = this.expr(run);
        this.expectOp(')');
        return run ? (typeof v === 'bigint' ? (v < 0n ? -v : v) : Math.abs(v)) : 0n;
      }
      if ((t.v === 'sum' || t.v === 'max' || t.v === 'min') && this.peekOp('(')) return this.generator(t.v, run);
      if (!run) return 0n;
      const v = this.env.get(t.v);
      if (v === undefined) throw new EvalError('NameError', `name '${t.v}' is not defined`);
      return v;
    }
    throw new EvalError('SyntaxError', `unexpected ${this.show(t)}`);
  }
  /** sum/max/min(body for NAME in range(a[, b])) */
  private generator(fn: string, run: boolean): Value {
    this.expectOp('(');
    const bodyStart = this.pos;
    this.expr(false);
    const bodyEnd = this.pos;
    this.expectName('for');
    const name = this.expectName();
    this.expectName('in');
    this.expectName('range');
    this.expectOp('(');
    let lo: Value = 0n, hi = this.expr(run);
    if (this.peekOp(',')) {
      this.pos++;
      lo = hi;
      hi = this.expr(run);
    }
    this.expectOp(')');
    this.expectOp(')');
    if (!run) return 0n;
    if (typeof lo !== 'bigint' || typeof hi !== 'bigint') throw new EvalError('TypeError', "'float' object cannot be interpreted as an integer");
    const after = this.pos;
    const saved = this.env.get(name);
    let acc: Value | null = fn === 'sum' ? 0n : null;
    for (let i = lo; i < hi; i++) {
      if (++this.iterations > MAX_RANGE) throw new EvalError('OverflowError', `more than ${MAX_RANGE} loop iterations`);
      this.env.set(name, i);
      this.pos = bodyStart;
      const v = this.expr(true);
      if (this.pos !== bodyEnd) throw new EvalError('SyntaxError', 'generator body');
      if (acc === null) acc = v;
      else if (fn === 'sum') acc = binary('+', acc, v);
      else if ((fn === 'max' && toFloat(v) > toFloat(acc)) || (fn === 'min' && toFloat(v) < toFloat(acc))) acc = v;
    }
    if (saved === undefined) this.env.delete(name);
    else this.env.set(name, saved);
    this.pos = after;
    if (acc === null) throw new EvalError('ValueError', `${fn}() arg is an empty sequence`);
    return acc;
  }
}

/** Python's printed form of a value (`5`, `2.5`, `1e+20` -> `1e+20`, `3.0`). */
export function formatValue(v: Value): string {
  if (typeof v === 'bigint') return v.toString();
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return v.toFixed(1);
  return String(v);
}

/** Evaluates an arithmetic expression; throws EvalError on bad input. */
export function evaluateExpression(src: string, env?: Map<string, Value>): Value {
  return new ExprParser(src, env).evaluate();
}

/** The JSON schema of the `calculator` tool. */
export const CALCULATOR_TOOL: ToolSpec = {
  type: 'function',
  function: {
    name: 'calculator',
    description: 'Evaluate an arithmetic expression (+, -, *, /, //, %, **, parentheses) exactly.',
    parameters: { type: 'object', properties: { expression: { type: 'string', description: 'The expression, e.g. 123 * 456.' } }, required: ['expression'] },
  },
};

/** Runs the calculator: the value's text, or `Error: ...` for an invalid expression. */
export function runCalculator(args: Record<string, unknown>): string {
  const expr = args.expression;
  if (typeof expr !== 'string') throw new EvalError('TypeError', `calculator expects {"expression": string}, got ${JSON.stringify(args)}`);
  try {
    return formatValue(evaluateExpression(expr));
  } catch (e) {
    if (e instanceof EvalError) return `Error: ${e.kind}: ${e.message}`;
    throw e;
  }
}
