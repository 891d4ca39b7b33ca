/**
 * Flag parsing shared by the commands: node:util parseArgs in strict mode, turning its errors
 * into UsageError, plus typed number parsing that names the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<T extends Options>(command: string, argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
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
