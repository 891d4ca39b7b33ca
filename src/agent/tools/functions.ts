/**
 * User-defined functions as tools: a JSON schema plus a JavaScript function. From the CLI, a module
 * (`--functions FILE.mjs`) whose default export (or `tools` export) is a list of
 * `{ name, description?, parameters?, run(args) }`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../../errors.js';
import type { RegisteredTool } from '../registry.js';

export interface FunctionDefinition {
  name: string;
  description?: string;
  /** JSON schema of the arguments object (default: an object with any properties) */
  parameters?: Record<string, unknown>;
  run: (args: Record<string, unknown>) => unknown;
  timeoutMs?: number;
}

/** Wraps a JavaScript function as a tool; a non-string result is returned as JSON. */
export function functionTool(def: FunctionDefinition): RegisteredTool {
  if (typeof def.run !== 'function') throw new ConfigError(`function tool '${def.name}' needs a run(args) function`);
  return {
    spec: { type: 'function', function: { name: def.name, description: def.description, parameters: def.parameters ?? { type: 'object', properties: {} } } },
    timeoutMs: def.timeoutMs,
    run: async (args) => {
      const out = await def.run(args);
      return typeof out === 'string' ? out : JSON.stringify(out);
    },
  };
}

/** Loads function tools from a JavaScript module file. */
export async function loadFunctionTools(file: string): Promise<RegisteredTool[]> {
  let mod: { default?: unknown; tools?: unknown };
  try {
    mod = await import(pathToFileURL(resolve(file)).href);
  } catch (e) {
    throw new ConfigError(`cannot load functions from ${file}: ${(e as Error).message}`);
  }
  const list = mod.tools ?? mod.default;
  if (!Array.isArray(list)) throw new ConfigError(`${file} must export a list of {name, description, parameters, run} as 'tools' or default`);
  return list.map((d, i) => {
    if (!d || typeof d.name !== 'string') throw new ConfigError(`${file}: function ${i} has no 'name'`);
    return functionTool(d as FunctionDefinition);
  });
}
