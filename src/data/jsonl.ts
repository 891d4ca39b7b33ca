/**
 * JSONL reading with validation: every line must be a JSON object; a bad line is a DataError
 * naming `file:line`. Blank lines are allowed (skipped); nothing else is skipped silently.
 */
import { readFileSync } from 'node:fs';
import { DataError } from '../errors.js';

export interface JsonlRecord {
  line: number;
  value: Record<string, unknown>;
}

/** Every record of `file` with its line number (blank lines counted); an empty file is an error unless `allowEmpty`. */
export function readJsonl(file: string, opts: { allowEmpty?: boolean } = {}): JsonlRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError(`cannot read (${(e as Error).message})`, { file });
  }
  const out: JsonlRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].trim();
    if (s === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      throw new DataError(`not valid JSON (${(e as Error).message})`, { file, line: i + 1 });
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DataError('expected a JSON object per line', { file, line: i + 1 });
    out.push({ line: i + 1, value: v as Record<string, unknown> });
  }
  if (out.length === 0 && !opts.allowEmpty) throw new DataError('the file holds no records; a training run needs data', { file });
  return out;
}

/** A string field, or a DataError naming it. */
export function stringField(rec: JsonlRecord, file: string, key: string): string {
  const v = rec.value[key];
  if (typeof v !== 'string') throw new DataError(`expected a string, found ${v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 60)}`, { file, line: rec.line, field: key });
  return v;
}

/** One data file, or several (a repeated `--data`) whose records are used in order. */
export type DataFiles = string | readonly string[];

/** The files of a DataFiles, in order. */
export function dataFileList(files: DataFiles): string[] {
  return typeof files === 'string' ? [files] : [...files];
}

/** The files named for a message: `a.jsonl` or `a.jsonl, b.jsonl`. */
export function dataFilesLabel(files: DataFiles): string {
  return dataFileList(files).join(', ');
}

/** Every record of every file, in order, each with the file it came from. */
export function readJsonlFiles(files: DataFiles): Array<JsonlRecord & { file: string }> {
  return dataFileList(files).flatMap((file) => readJsonl(file).map((r) => ({ ...r, file })));
}
