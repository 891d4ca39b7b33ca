/**
 * Trainer configuration: typed fields with defaults and docs, resolved as
 *   defaults <- --config FILE (JSON or YAML) <- --key value flags.
 * Keys are snake_case in files and saved configs (TRL's names where they exist), kebab-case on the
 * command line (`--max-steps` = `max_steps`). An unknown key or a value of the wrong type is a
 * ConfigError naming the key; `helpText` lists every field with its meaning and default.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, UsageError } from '../../errors.js';

export type FieldKind = 'int' | 'number' | 'string' | 'boolean' | 'path' | readonly string[];

export interface Field<T> {
  kind: FieldKind;
  default: T;
  doc: string;
  /** minimum for int/number fields */
  min?: number;
  /** maximum for int/number fields */
  max?: number;
  /** allow null (optional paths) */
  nullable?: boolean;
  /** the value of the flag given bare (`--resume` = `--resume true`); the next word is then not taken as its value unless it is one of the field's choices */
  implicit?: string;
}

export type Schema = Record<string, Field<unknown>>;
export type Values<S extends Schema> = { [K in keyof S]: S[K]['default'] };

export function field<T>(kind: FieldKind, def: T, doc: string, extra: { min?: number; max?: number; nullable?: boolean } = {}): Field<T> {
  return { kind, default: def, doc, ...extra };
}

function kebab(k: string): string {
  return k.replace(/_/g, '-');
}

function coerce(key: string, f: Field<unknown>, raw: unknown, source: string): unknown {
  const where = `${source}: key "${key}"`;
  if (raw === null && f.nullable) return null;
  const kind = f.kind;
  if (Array.isArray(kind)) {
    if (typeof raw === 'boolean' && kind.includes(String(raw))) return String(raw);
    if (typeof raw !== 'string' || !kind.includes(raw)) throw new ConfigError(`${where}: expected one of ${kind.join(', ')}, found ${JSON.stringify(raw)}`);
    return raw;
  }
  switch (kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(`${where}: expected ${kind === 'int' ? 'an integer' : 'a number'}, found ${JSON.stringify(raw)}`);
      }
      if (f.min !== undefined && n < f.min) throw new ConfigError(`${where}: expected a value >= ${f.min}, found ${n}`);
      if (f.max !== undefined && n > f.max) throw new ConfigError(`${where}: expected a value <= ${f.max}, found ${n}`);
      return n;
    }
    case 'boolean':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      throw new ConfigError(`${where}: expected true or false, found ${JSON.stringify(raw)}`);
    case 'string':
    case 'path':
      if (typeof raw !== 'string' || (kind === 'path' && raw === '')) throw new ConfigError(`${where}: expected a ${kind === 'path' ? 'path' : 'string'}, found ${JSON.stringify(raw)}`);
      return raw;
  }
  throw new ConfigError(`${where}: unsupported kind`);
}

/** A field whose value is one of fixed strings (typed as their union). */
export function choice<const K extends readonly string[]>(choices: K, def: K[number], doc: string): Field<K[number]> {
  return { kind: choices, default: def, doc };
}

/** Reads a JSON or YAML config file into a plain object. */
export function readConfigObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`--config ${file}: cannot read (${(e as Error).message})`);
  }
  let obj: unknown;
  try {
    obj = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`--config ${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'} (${(e as Error).message})`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new ConfigError(`--config ${file}: expected a mapping of keys to values`);
  return obj as Record<string, unknown>;
}

/**
 * Resolves a config from defaults, an optional object (a file's contents, or a saved config) and
 * command-line flags (`--key value`, `--flag` for booleans, `--no-flag` to switch one off).
 */
export function resolveConfig<S extends Schema>(schema: S, layers: { object?: Record<string, unknown>; objectSource?: string; argv?: string[] } = {}): Values<S> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(schema)) out[k] = f.default;
  if (layers.object) {
    for (const [k, v] of Object.entries(layers.object)) {
      const f = schema[k];
      if (!f) throw new ConfigError(`${layers.objectSource ?? 'config'}: unknown key "${k}"${suggest(schema, k)}`);
      out[k] = coerce(k, f, v, layers.objectSource ?? 'config');
    }
  }
  const argv = layers.argv ?? [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}' (options are --key value)`);
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    let key = name.replace(/-/g, '_');
    let f = schema[key];
    if (!f && key.startsWith('no_') && schema[key.slice(3)]?.kind === 'boolean' && value === undefined) {
      key = key.slice(3);
      out[key] = false;
      continue;
    }
    if (!f) throw new UsageError(`unknown option --${name}${suggest(schema, key, true)}; see --help`);
    f = schema[key];
    if (value === undefined) {
      if (f.kind === 'boolean' && (i + 1 >= argv.length || argv[i + 1].startsWith('--'))) value = 'true';
      else if (f.implicit !== undefined && (i + 1 >= argv.length || !(Array.isArray(f.kind) && f.kind.includes(argv[i + 1])))) value = f.implicit;
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new UsageError(`option --${name} needs a value`);
    }
    out[key] = coerce(key, f, value, `--${name}`);
  }
  return out as Values<S>;
}

function suggest(schema: Schema, key: string, asFlag = false): string {
  const close = Object.keys(schema).filter((k) => k.includes(key) || key.includes(k) || editDistance(k, key) <= 2);
  return close.length ? ` (did you mean ${close.map((k) => (asFlag ? `--${kebab(k)}` : `"${k}"`)).join(', ')}?)` : '';
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** `--help` text: every field with its meaning and default. */
export function helpText(usage: string, schema: Schema): string {
  const rows = Object.entries(schema).map(([k, f]) => {
    const kind = Array.isArray(f.kind) ? f.kind.join('|') : f.kind;
    const def = f.default === null ? 'none' : JSON.stringify(f.default);
    return [`  --${kebab(k)} <${kind}>`, `${f.doc} (default ${def})`];
  });
  const w = Math.max(...rows.map((r) => r[0].length));
  return [usage, '', 'Options (also accepted as snake_case keys in --config FILE.json|.yaml):', ...rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`)].join('\n');
}
