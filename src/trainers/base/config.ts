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

export interface FieldExtra {
  /** minimum for int/number fields */
  min?: number;
  /** maximum for int/number fields */
  max?: number;
  /** allow null (optional values: absent unless given) */
  nullable?: boolean;
  /** must be given (on the command line or in --config FILE) */
  required?: boolean;
  /** may be repeated: every value is kept, in order (one value stays a plain string) */
  multiple?: boolean;
  /** the value a flag given bare takes (`--resume` = `--resume <implicit>`); the next word is taken only when it is a valid value */
  implicit?: unknown;
  /** command-line spelling when it is not the kebab-case key (e.g. `thinking` for enable_thinking) */
  flag?: string;
  /** boolean given as `--flag on|off` on the command line (bare `--flag` is on) */
  onOff?: boolean;
  /** other spellings that take a value like the main flag */
  alsoFlags?: readonly string[];
  /** bare switches that set a fixed value (`'no-thinking': false`) */
  switches?: Readonly<Record<string, unknown>>;
  /** one-letter spelling (`o` for `-o`) */
  short?: string;
  /** placeholder of the value in --help (default: the kind) */
  placeholder?: string;
}

export interface Field<T> extends FieldExtra {
  kind: FieldKind;
  default: T;
  doc: string;
}

export type Schema = Record<string, Field<unknown>>;
export type Values<S extends Schema> = { [K in keyof S]: S[K]['default'] };

export function field<T>(kind: FieldKind, def: T, doc: string, extra: FieldExtra = {}): Field<T> {
  return { kind, default: def, doc, ...extra };
}

function kebab(k: string): string {
  return k.replace(/_/g, '-');
}

/** The command-line name of a field (without the dashes). */
export function flagName(key: string, f: Field<unknown>): string {
  return f.flag ?? kebab(key);
}

type ErrorClass = new (message: string) => Error;

/**
 * Turns a raw value (a string from the command line, any JSON/YAML value from a file) into the field's
 * type. Errors are of class `Err`: UsageError for the command line (exit 2), ConfigError for files.
 */
export function coerce(key: string, f: Field<unknown>, raw: unknown, source: string, Err: ErrorClass = ConfigError): unknown {
  const where = Err === UsageError ? source : `${source}: key "${key}"`;
  if (raw === null && f.nullable) return null;
  if (f.multiple && Array.isArray(raw)) {
    if (raw.length === 0) throw new Err(`${where}: expected at least one value, found []`);
    const vals = raw.map((r) => coerce(key, { ...f, multiple: false }, r, source, Err));
    return vals.length === 1 ? vals[0] : vals;
  }
  const kind = f.kind;
  if (Array.isArray(kind)) {
    // a config object may give true/false for a choice that lists 'true' and 'false' (resume: true)
    if (typeof raw === 'boolean' && kind.includes(String(raw))) return String(raw);
    if (typeof raw !== 'string' || !kind.includes(raw)) throw new Err(`${where}: expected one of ${kind.join(', ')}, found ${JSON.stringify(raw)}`);
    return raw;
  }
  switch (kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) {
        throw new Err(`${where}: expected ${kind === 'int' ? 'an integer' : 'a number'}, found ${JSON.stringify(raw)}`);
      }
      if (f.min !== undefined && n < f.min) throw new Err(`${where}: expected a value >= ${f.min}, found ${n}`);
      if (f.max !== undefined && n > f.max) throw new Err(`${where}: expected a value <= ${f.max}, found ${n}`);
      return n;
    }
    case 'boolean':
      if (raw === true || raw === 'true' || (f.onOff && raw === 'on')) return true;
      if (raw === false || raw === 'false' || (f.onOff && raw === 'off')) return false;
      throw new Err(`${where}: expected ${f.onOff ? 'on or off' : 'true or false'}, found ${JSON.stringify(raw)}`);
    case 'string':
    case 'path':
      if (typeof raw !== 'string' || (kind === 'path' && raw === '')) throw new Err(`${where}: expected a ${kind === 'path' ? 'path' : 'string'}, found ${JSON.stringify(raw)}`);
      return raw;
  }
  throw new Err(`${where}: unsupported kind`);
}

/** A field whose value is one of fixed strings (typed as their union). */
export function choice<const K extends readonly string[]>(choices: K, def: K[number], doc: string, extra: FieldExtra = {}): Field<K[number]> {
  return { kind: choices, default: def, doc, ...extra };
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

/** The result of reading a command line against a schema. */
export interface ParsedArgv {
  /** values given on the command line, by key (already coerced) */
  values: Record<string, unknown>;
  positionals: string[];
  /** `-h` / `--help` was given */
  help: boolean;
  /** the file of `--config FILE` (when the command accepts one) */
  configFile?: string;
}

const NUMBER_RE = /^-(\d|\.\d)/;

/**
 * Reads `argv` against a schema: `--flag value`, `--flag=value`, negative numbers as values, bare
 * boolean switches that never take the next word (`--no-flag` switches one off), every value of a
 * repeated `multiple` field (a repeated single-value flag: the last wins), `implicit` values for flags given bare, `-h/--help`, and (with `config`)
 * `--config FILE`. Every problem is a UsageError naming the flag; unknown flags get a suggestion.
 */
export function parseArgv(schema: Schema, argv: readonly string[], opts: { command?: string; config?: boolean; positionals?: boolean } = {}): ParsedArgv {
  const cmd = opts.command ? `${opts.command}: ` : '';
  const see = opts.command ? `; see glmkit ${opts.command} --help` : '; see --help';
  const byFlag = new Map<string, { key: string; fixed?: unknown }>();
  const shorts = new Map<string, string>();
  for (const [k, f] of Object.entries(schema)) {
    byFlag.set(flagName(k, f), { key: k });
    for (const a of f.alsoFlags ?? []) byFlag.set(a, { key: k });
    for (const [a, v] of Object.entries(f.switches ?? {})) byFlag.set(a, { key: k, fixed: v });
    if (f.short) shorts.set(f.short, flagName(k, f));
  }
  const values: Record<string, unknown> = {};
  const collected: Record<string, unknown[]> = {};
  const positionals: string[] = [];
  let help = false;
  let configFile: string | undefined;
  let firstError: Error | null = null;
  const fail = (msg: string) => {
    firstError ??= new UsageError(cmd + msg);
  };
  const set = (key: string, _shown: string, v: unknown) => {
    const f = schema[key];
    if (f.multiple) (collected[key] ??= []).push(v);
    else values[key] = v; // a single-value flag given twice: the last one wins (as a later flag overrides --config)
  };
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (rest || a === '-' || !a.startsWith('-') || (NUMBER_RE.test(a) && opts.positionals)) {
      if (opts.positionals) positionals.push(a);
      else fail(`unexpected argument '${a}' (options are --name value${argv[i - 1]?.startsWith('--') ? `; does ${argv[i - 1]} take no value?` : ''})`);
      continue;
    }
    if (a === '--') {
      rest = true;
      continue;
    }
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    let name: string;
    let value: string | undefined;
    if (a.startsWith('--')) {
      name = a.slice(2);
      const eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
    } else {
      const long = shorts.get(a.slice(1, 2));
      if (!long || (a.length > 2 && a[2] !== '=')) {
        fail(`unknown option ${a}${see}`);
        continue;
      }
      name = long;
      if (a.length > 2) value = a.slice(3);
    }
    if (opts.config && name === 'config') {
      if (value === undefined) value = i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[++i] : undefined;
      if (!value) fail('--config needs a file (JSON or YAML)');
      else if (configFile !== undefined) fail('--config given more than once; give one file');
      else configFile = value;
      continue;
    }
    let entry = byFlag.get(name);
    let negated = false;
    if (!entry && name.startsWith('no-')) {
      const e = byFlag.get(name.slice(3));
      if (e && e.fixed === undefined && schema[e.key].kind === 'boolean') {
        entry = e;
        negated = true;
      }
    }
    if (!entry) {
      fail(`unknown option --${name}${suggest(schema, name, opts.config)}${see}`);
      continue;
    }
    const f = schema[entry.key];
    const shown = name;
    try {
      if (entry.fixed !== undefined || negated) {
        if (value !== undefined) throw new UsageError(`--${shown} takes no value, found '${value}'`);
        set(entry.key, shown, negated ? false : entry.fixed);
        continue;
      }
      if (value === undefined) {
        const next = argv[i + 1];
        const nextIsValue = next !== undefined && (!next.startsWith('-') || NUMBER_RE.test(next) || next === '-');
        if (f.kind === 'boolean' && !f.onOff) value = 'true';
        else if (f.implicit !== undefined) {
          let ok = false;
          if (nextIsValue) {
            try {
              coerce(entry.key, f, next, `--${shown}`, UsageError);
              ok = true;
            } catch {
              ok = false;
            }
          }
          if (ok) value = argv[++i];
          else {
            set(entry.key, shown, f.implicit);
            continue;
          }
        } else if (f.kind === 'boolean' && f.onOff) {
          // `--thinking off`; a bare `--thinking` (followed by an option or nothing) is on
          value = nextIsValue && !opts.positionals ? argv[++i] : nextIsValue && ['on', 'off', 'true', 'false'].includes(next) ? argv[++i] : 'on';
        } else if (nextIsValue) value = argv[++i];
        else throw new UsageError(`--${shown} needs a value${next === undefined ? '' : `, found the option '${next}'`} (a value starting with '-' can be given as --${shown}=VALUE)`);
      }
      set(entry.key, shown, coerce(entry.key, f, value, `--${shown}`, UsageError));
    } catch (e) {
      if (e instanceof UsageError) fail(e.message);
      else throw e;
    }
  }
  for (const [k, vs] of Object.entries(collected)) values[k] = vs.length === 1 ? vs[0] : vs;
  if (firstError && !help) throw firstError;
  return { values, positionals, help, configFile };
}

/**
 * Resolves a config from defaults, an optional object (a file's contents, or a saved config) and
 * command-line flags (see parseArgv). A bad value in the object is a ConfigError naming its source
 * and key (exit 1); a bad flag is a UsageError (exit 2).
 */
export function resolveConfig<S extends Schema>(schema: S, layers: { object?: Record<string, unknown>; objectSource?: string; argv?: string[]; values?: Record<string, unknown> } = {}): Values<S> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(schema)) out[k] = f.default;
  if (layers.object) {
    for (const [k, v] of Object.entries(layers.object)) {
      const f = schema[k];
      if (!f) throw new ConfigError(`${layers.objectSource ?? 'config'}: unknown key "${k}"${keySuggest(schema, k)}`);
      out[k] = coerce(k, f, v, layers.objectSource ?? 'config');
    }
  }
  if (layers.argv?.length) Object.assign(out, parseArgv(schema, layers.argv).values);
  if (layers.values) Object.assign(out, layers.values);
  return out as Values<S>;
}

/**
 * Throws a UsageError naming every required field that was not given (`given`: the keys set on the
 * command line or in the --config file) or is still empty.
 */
export function checkRequired(schema: Schema, values: Record<string, unknown>, command: string, given?: ReadonlySet<string>): void {
  const empty = (v: unknown) => v === '' || v === null || v === undefined || (Array.isArray(v) && v.length === 0);
  const missing = Object.entries(schema)
    .filter(([k, f]) => f.required && ((given !== undefined && !given.has(k)) || empty(values[k])))
    .map(([k, f]) => `--${flagName(k, f)}`);
  if (missing.length) throw new UsageError(`${command}: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required; see glmkit ${command} --help`);
}

function suggest(schema: Schema, name: string, config = false): string {
  const want = name.replace(/_/g, '-');
  const names = Object.entries(schema).flatMap(([k, f]) => [flagName(k, f), ...(f.alsoFlags ?? []), ...Object.keys(f.switches ?? {})]);
  if (config) names.push('config');
  const score = (k: string) => (want.length >= 3 && (k.startsWith(want) || want.startsWith(k)) ? 0 : editDistance(k, want));
  const close = names.filter((k) => score(k) <= 2).sort((x, y) => score(x) - score(y));
  const best = close.length ? score(close[0]) : 0;
  const shown = close.filter((k) => score(k) === best).slice(0, 3);
  return shown.length ? ` (did you mean ${shown.map((k) => `--${k}`).join(', ')}?)` : '';
}

function keySuggest(schema: Schema, key: string): string {
  const close = Object.keys(schema).filter((k) => k.includes(key) || key.includes(k) || editDistance(k, key) <= 2);
  return close.length ? ` (did you mean ${close.map((k) => `"${k}"`).join(', ')}?)` : '';
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1); // a transposition
    }
  return d[a.length][b.length];
}

/** Options of helpText beyond the schema. */
export interface HelpOptions {
  /** the command accepts --config FILE */
  config?: boolean;
  /** lines printed between the usage line and the options */
  description?: string;
  /** lines printed after the options */
  notes?: string;
}

/** `--help` text generated from the schema that parses: every flag with its meaning, and required or its default. */
export function helpText(usage: string, schema: Schema, opts: HelpOptions = { config: true }): string {
  const rows = Object.entries(schema).map(([k, f]) => {
    const name = flagName(k, f);
    const kind = f.placeholder ?? (Array.isArray(f.kind) ? f.kind.join('|') : f.kind);
    const left = `  ${f.short ? `-${f.short}, ` : ''}--${name}${f.kind === 'boolean' ? (f.onOff ? ' on|off' : '') : ` <${kind}>`}`;
    let tail: string;
    if (f.required) tail = 'required';
    else if (f.kind === 'boolean' && !f.onOff) tail = f.default ? 'on unless --no-' + name : '';
    else if (f.kind === 'boolean') tail = `default ${f.default ? 'on' : 'off'}`;
    else if (f.default === null || f.default === '' || f.default === undefined) tail = /optional|default/.test(f.doc) ? '' : 'optional';
    else tail = `default ${JSON.stringify(f.default)}`;
    if (f.implicit !== undefined) tail += `${tail ? '; ' : ''}bare --${name} means ${JSON.stringify(f.implicit)}`;
    if (f.multiple) tail += `${tail ? '; ' : ''}repeatable: every value is used, in order`;
    const also = [...(f.alsoFlags ?? []), ...Object.keys(f.switches ?? {})].map((a) => `--${a}`);
    if (also.length) tail += `${tail ? '; ' : ''}also ${also.join(', ')}`;
    return [left, tail ? `${f.doc} (${tail})` : f.doc];
  });
  if (opts.config) rows.push(['  --config <file>', 'read options from a JSON or YAML file (snake_case keys); flags given on the command line win']);
  rows.push(['  -h, --help', 'show this help']);
  const w = Math.min(34, Math.max(...rows.map((r) => r[0].length)));
  const lines = rows.map(([a, b]) => (a.length > w ? `${a}\n${' '.repeat(w + 2)}${b}` : `${a.padEnd(w)}  ${b}`));
  return [usage, ...(opts.description ? ['', opts.description] : []), '', 'Options:', ...lines, ...(opts.notes ? ['', opts.notes] : [])].join('\n');
}
