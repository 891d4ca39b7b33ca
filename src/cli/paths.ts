/**
 * Path checks every command runs before any work starts, so a wrong path is one line naming the flag,
 * the path and what was expected (never EISDIR/ENOTDIR/ENOENT from deep inside a command).
 * Wrong paths are usage errors (exit 2): the flag's value is what has to change.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

function kindOf(path: string): 'file' | 'folder' | 'other' | null {
  try {
    const s = statSync(path);
    return s.isDirectory() ? 'folder' : s.isFile() ? 'file' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') return null; // a parent is a file: reported by the caller
    throw new UsageError(`${path}: cannot be read (${code ?? (e as Error).message})`);
  }
}

/** The nearest ancestor of `path` that is a file, if any (what makes ENOTDIR). */
function fileAncestor(path: string): string | null {
  let p = dirname(resolve(path));
  while (true) {
    const k = kindOf(p);
    if (k === 'file') return p;
    if (k === 'folder') return null;
    const up = dirname(p);
    if (up === p) return null;
    p = up;
  }
}

/** An input file (e.g. --data): it must exist and be a file. `what` describes it ("a JSONL file"). */
export function inputFile(command: string, flag: string, path: string, what = 'a file'): void {
  const k = kindOf(path);
  if (k === 'file') return;
  if (k === 'folder') throw new UsageError(`${command}: ${flag} ${path} is a folder; expected ${what}`);
  if (k === 'other') throw new UsageError(`${command}: ${flag} ${path} is not a regular file; expected ${what}`);
  const anc = fileAncestor(path);
  throw new UsageError(`${command}: ${flag} ${path} does not exist${anc ? ` (${anc} is a file, not a folder)` : ''}; expected ${what}`);
}

/** An input folder (e.g. --model): it must exist, be a folder, and hold `needs` (file names) when given. */
export function inputDir(command: string, flag: string, path: string, what = 'a folder', needs: readonly string[] = []): void {
  const k = kindOf(path);
  if (k === 'file' || k === 'other') throw new UsageError(`${command}: ${flag} ${path} is a file; expected ${what}`);
  if (k === null) throw new UsageError(`${command}: ${flag} ${path} does not exist; expected ${what}`);
  const missing = needs.filter((n) => !existsSync(join(path, n)));
  if (missing.length) throw new UsageError(`${command}: ${flag} ${path} has no ${missing.join(', ')}; expected ${what}`);
}

/**
 * An output file (e.g. --out FILE.gguf): not a folder, not an existing file unless `overwrite`, and
 * its parent folders are created (an ancestor that is a file is an error).
 */
export function outputFile(command: string, flag: string, path: string, overwrite: boolean, what = 'a file'): void {
  const k = kindOf(path);
  if (k === 'folder') throw new UsageError(`${command}: ${flag} ${path} is a folder; expected ${what} to write`);
  if (k === 'other') throw new UsageError(`${command}: ${flag} ${path} exists and is not a regular file; expected ${what} to write`);
  if (k === 'file' && !overwrite) throw new UsageError(`${command}: ${flag} ${path} already exists; pass --overwrite to replace it, or choose another path`);
  makeParent(command, flag, path);
}

/**
 * An output folder (e.g. --out DIR of init): not a file; when it exists and is not empty it is refused
 * unless `overwrite` (`holds` names what was found, e.g. "a model"). The folder is created.
 */
export function outputDir(command: string, flag: string, path: string, overwrite: boolean, what = 'a folder'): void {
  const k = kindOf(path);
  if (k === 'file' || k === 'other') throw new UsageError(`${command}: ${flag} ${path} is a file; expected ${what}`);
  if (k === 'folder') {
    const entries = readdirSync(path);
    if (entries.length > 0 && !overwrite) {
      const model = entries.includes('config.json') || entries.includes('model.safetensors') || entries.includes('tokenizer.json');
      throw new UsageError(`${command}: ${flag} ${path} is not empty (${model ? 'it holds a model' : `${entries.length} entries`}); pass --overwrite to write into it, or choose an empty or new folder`);
    }
    return;
  }
  makeParent(command, flag, path);
  mkdirSync(path, { recursive: true });
}

function makeParent(command: string, flag: string, path: string): void {
  const anc = fileAncestor(path);
  if (anc) throw new UsageError(`${command}: ${flag} ${path}: ${anc} is a file; expected a folder to write into`);
  mkdirSync(dirname(resolve(path)), { recursive: true });
}

/** True when `dir` holds a model (config.json, model weights or a tokenizer). */
export function holdsModel(dir: string): boolean {
  return kindOf(dir) === 'folder' && ['config.json', 'model.safetensors', 'model.safetensors.index.json'].some((f) => existsSync(join(dir, f)));
}

/** A model folder given by `flag`: it holds config.json (and tokenizer.json when `tokenizer`). */
export function modelDir(command: string, flag: string, path: string, tokenizer = false): void {
  inputDir(command, flag, path, `a model folder (config.json + model.safetensors${tokenizer ? ' + tokenizer.json' : ''})`, tokenizer ? ['config.json', 'tokenizer.json'] : ['config.json']);
}

/** True when `path` is an existing folder. */
export function isFolder(path: string): boolean {
  return kindOf(path) === 'folder';
}
