/**
 * Reading training text for the tokenizer: plain text files, and JSONL files (`.jsonl`) whose lines
 * hold a "text" string or, failing that, any object whose string values are the text (chat records:
 * message contents, reasoning, tool-call arguments; label fields role / type / id / tool_call_id and
 * image references (`image`, `image_url`, `url`, `path` of image parts) are skipped). Files are
 * streamed in chunks cut at line starts.
 */
import { createReadStream, statSync } from 'node:fs';
import { DataError } from '../errors.js';

/** Fields of chat records that are labels, not text. */
const LABEL_KEYS = new Set(['role', 'type', 'id', 'tool_call_id']);

/** Keys that hold image references (file paths, data URLs), never text. */
const IMAGE_KEYS = new Set(['image', 'image_url']);

/** Every string value inside a JSON value (keys, label fields and image parts excluded), in document order. */
function stringsOf(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) stringsOf(x, out);
  else if (v && typeof v === 'object') {
    const type = (v as { type?: unknown }).type;
    if (type === 'image' || type === 'image_url') return;
    for (const [k, x] of Object.entries(v)) if (!LABEL_KEYS.has(k) && !IMAGE_KEYS.has(k)) stringsOf(x, out);
  }
}

/** Text of one JSONL record: its "text" field, else all its string values joined by newlines. */
export function recordText(rec: unknown): string {
  if (rec && typeof rec === 'object' && !Array.isArray(rec) && typeof (rec as { text?: unknown }).text === 'string') return (rec as { text: string }).text;
  const parts: string[] = [];
  stringsOf(rec, parts);
  return parts.join('\n');
}

/** Calls add(text) for chunks of a text or JSONL file; returns the number of bytes read. */
export async function readCorpusFile(file: string, add: (text: string) => void): Promise<number> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new DataError(`training file not found or unreadable; pass existing text or .jsonl files to --data`, { file });
  }
  const jsonl = /\.jsonl$/i.test(file);
  let rest = '';
  let line = 0;
  const flushJsonl = (text: string) => {
    for (const l of text.split('\n')) {
      line++;
      if (l.trim().length === 0) continue;
      let rec: unknown;
      try {
        rec = JSON.parse(l);
      } catch (e) {
        throw new DataError(`not valid JSON (${(e as Error).message}); each line of a .jsonl file must be one JSON value`, { file, line });
      }
      add(recordText(rec));
    }
  };
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    rest += chunk as string;
    if (jsonl) {
      const cut = rest.lastIndexOf('\n');
      if (cut < 0) continue;
      flushJsonl(rest.slice(0, cut));
      rest = rest.slice(cut + 1);
    } else {
      // Cut after a newline that is followed by a non-space character, so no whitespace run is split.
      let cut = -1;
      for (let i = rest.length - 2; i >= 0; i--) {
        if (rest.charCodeAt(i) === 10 && !/\s/.test(rest[i + 1])) {
          cut = i + 1;
          break;
        }
      }
      if (cut < 0) continue;
      add(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
  }
  if (rest.length > 0) {
    if (jsonl) flushJsonl(rest);
    else add(rest);
  }
  return size;
}
