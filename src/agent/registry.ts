/**
 * The agent's tool registry: tools are JSON-schema functions (OpenAI `tools` entries) with a runner.
 * `call` never throws: bad arguments, unknown tools, runner errors and timeouts all come back as
 * observation text the model reads, as GLM's All Tools does.
 */
import { ConfigError } from '../errors.js';
import type { ToolSpec } from '../tokenizer/index.js';

export interface RegisteredTool {
  spec: ToolSpec;
  /** runs the tool on validated arguments and returns the observation text */
  run: (args: Record<string, unknown>) => Promise<string> | string;
  /** time limit of one call (default: the registry's) */
  timeoutMs?: number;
}

export interface ToolOutcome {
  observation: string;
  ok: boolean;
}

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; additionalProperties?: boolean };

/** Checks a value against the subset of JSON schema that function parameters use; returns the problems. */
export function checkSchema(value: unknown, schema: Schema, path = 'arguments'): string[] {
  const errs: string[] = [];
  const types = schema.type === undefined ? null : Array.isArray(schema.type) ? schema.type : [schema.type];
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
  if (types) {
    const t = typeOf(value);
    const ok = types.some((want) => want === t || (want === 'number' && t === 'integer'));
    if (!ok) return [`${path} must be ${types.join(' or ')}, got ${t}`];
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) errs.push(`${path} must be one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`);
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) errs.push(`${path}.${k} is required`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub) errs.push(...checkSchema(v, sub, `${path}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${path}.${k} is not a known argument`);
    }
  }
  if (typeOf(value) === 'array' && schema.items) (value as unknown[]).forEach((v, i) => errs.push(...checkSchema(v, schema.items!, `${path}[${i}]`)));
  return errs;
}

export class ToolRegistry {
  private readonly tools = new Map<string, RegisteredTool>();

  constructor(readonly defaultTimeoutMs = 60_000) {}

  /** Adds a tool; names must be unique. */
  register(tool: RegisteredTool): this {
    const name = tool.spec?.function?.name;
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new ConfigError(`tool name must match [A-Za-z_][A-Za-z0-9_.-]*, got ${JSON.stringify(name)}`);
    if (this.tools.has(name)) throw new ConfigError(`a tool named '${name}' is already registered`);
    this.tools.set(name, tool);
    return this;
  }

  /** The OpenAI `tools` list for the prompt. */
  specs(): ToolSpec[] {
    return [...this.tools.values()].map((t) => t.spec);
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  /** Runs a call (arguments as an object or a JSON string) and returns its observation. */
  async call(name: string, rawArgs: string | Record<string, unknown>): Promise<ToolOutcome> {
    const tool = this.tools.get(name);
    if (!tool) return { ok: false, observation: `Error: there is no tool named '${name}'; available: ${[...this.tools.keys()].join(', ') || 'none'}` };
    let args: unknown = rawArgs;
    if (typeof rawArgs === 'string') {
      try {
        args = rawArgs.trim() === '' ? {} : JSON.parse(rawArgs);
      } catch (e) {
        return { ok: false, observation: `Error: the arguments of ${name} are not valid JSON (${(e as Error).message})` };
      }
    }
    const problems = checkSchema(args, (tool.spec.function.parameters ?? { type: 'object' }) as Schema);
    if (problems.length > 0) return { ok: false, observation: `Error: bad arguments for ${name}: ${problems.join('; ')}` };
    const limit = tool.timeoutMs ?? this.defaultTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      const out = await Promise.race([
        Promise.resolve().then(() => tool.run(args as Record<string, unknown>)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${name} did not answer within ${limit / 1000} s`)), limit);
        }),
      ]);
      return { ok: true, observation: String(out) };
    } catch (e) {
      return { ok: false, observation: `Error: ${(e as Error)?.message ?? String(e)}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
