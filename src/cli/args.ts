/**
 * The one argument parser of every glmkit command. A command declares its flags as a schema (the
 * same `field`/`choice` table the trainers use, trainers/base/config.ts); `parseCommand` reads
 * argv against it (`--flag value`, `--flag=value`, negative numbers, bare switches, repeated values,
 * `-h/--help`, `--config FILE` where accepted), fills defaults, checks required flags, and prints
 * the help generated from the same schema. Bad usage is a UsageError (exit 2) naming the flag.
 */
import { UsageError } from '../errors.js';
import { checkRequired, helpText, parseArgv, readConfigObject, resolveConfig, type Schema, type Values } from '../trainers/base/config.js';

export { choice, field } from '../trainers/base/config.js';
import { choice } from '../trainers/base/config.js';

/** `--dtype f32|bf16`: how an inference command keeps the model's matrices in memory. */
export const dtypeField = () =>
  choice(['f32', 'bf16'] as const, 'f32', 'weights in memory: f32, or bf16 (half the memory and of the bytes each decode step reads; arithmetic stays f32; GLMKIT_BF16_DOT=1 rounds activations to bf16 for AVX512_BF16 dot products where the CPU has them)');

export interface CommandSpec<S extends Schema> {
  /** the command as typed after `glmkit` ("tokenizer train") */
  name: string;
  /** the usage line, without "usage: " */
  usage: string;
  schema: S;
  /** what the command does (printed in --help) */
  description?: string;
  /** printed after the options in --help */
  notes?: string;
  /** positional arguments: how many are accepted (default none) and what they are */
  positionals?: { min: number; max: number; name: string };
  /** accepts `--config FILE` (JSON or YAML, snake_case keys) */
  config?: boolean;
}

export interface Parsed<S extends Schema> {
  values: Values<S>;
  positionals: string[];
  /** the --config file, when one was given */
  configFile?: string;
}

/** The --help text of a command. */
export function commandHelp<S extends Schema>(spec: CommandSpec<S>): string {
  return helpText(`usage: ${spec.usage}`, spec.schema, { config: spec.config, description: spec.description, notes: spec.notes });
}

/**
 * Parses a command line. Returns null after printing the help for `-h/--help`; throws UsageError for
 * bad usage (a ConfigError, exit 1, for a bad value in the --config file, naming the file and key).
 */
export function parseCommand<S extends Schema>(spec: CommandSpec<S>, argv: readonly string[], print: (text: string) => void = (t) => console.log(t)): Parsed<S> | null {
  const p = parseArgv(spec.schema, argv, { command: spec.name, config: spec.config, positionals: !!spec.positionals });
  if (p.help) {
    print(commandHelp(spec));
    return null;
  }
  const pos = spec.positionals;
  if (pos) {
    if (p.positionals.length < pos.min) throw new UsageError(`${spec.name}: expected ${pos.name}, got nothing; see glmkit ${spec.name} --help`);
    if (p.positionals.length > pos.max) throw new UsageError(`${spec.name}: expected ${pos.max === 1 ? `one ${pos.name}` : `at most ${pos.max} of ${pos.name}`}, got ${p.positionals.map((s) => `'${s}'`).join(' ')}; see glmkit ${spec.name} --help`);
  }
  const object = p.configFile !== undefined ? readConfigObject(p.configFile) : undefined;
  const values = resolveConfig(spec.schema, { object, objectSource: p.configFile, values: p.values });
  checkRequired(spec.schema, values, spec.name, new Set([...Object.keys(p.values), ...Object.keys(object ?? {})]));
  return { values, positionals: p.positionals, configFile: p.configFile };
}

/** A UsageError for a command: `command: message; see glmkit command --help`. */
export function usageError(command: string, message: string): UsageError {
  return new UsageError(`${command}: ${message}; see glmkit ${command} --help`);
}
