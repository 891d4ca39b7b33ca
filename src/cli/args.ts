/**
 * Flag parsing shared by the commands: node:util parseArgs in strict mode, turning its errors
 * into UsageError, plus typed number parsing that names the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed values of an options table: booleans for boolean flags, strings (or arrays) otherwise. */
export type FlagValues<T extends Options> = {
  [K in keyof T]?: T[K] extends { type: 'boolean' } ? boolean : T[K] extends { multiple: true } ? string[] : string;
};

export function parseFlags<T extends Options>(command: string, argv: string[], options: T, allowPositionals = false): { values: FlagValues<T>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: r.values as FlagValues<T>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message}`);
  }
}

/** Parses an integer flag value, or returns the default when absent. */
export function intFlag(command: string, name: string, value: string | undefined, def: number, min = Number.MIN_SAFE_INTEGER): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${command}: --${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

export function numberFlag(command: string, name: string, value: string | undefined, def: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${command}: --${name} must be a number, got '${value}'`);
  return n;
}
