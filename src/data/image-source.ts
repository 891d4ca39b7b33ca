/**
 * Resolving the image references of chat content parts (docs/data-formats.md "Images in chats") to
 * bytes: a file path (relative to the data file's folder, or absolute, or a `file:` URL), a base64
 * data URL, or an http(s) URL, which is fetched only from allow-listed hosts. Decoding and
 * resizing are the image processor's job; this module only finds the bytes and refuses what it must.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from '../errors.js';

/** Largest image file accepted by default (bytes). */
export const DEFAULT_MAX_IMAGE_BYTES = 32 * 1024 * 1024;

export interface ImageSourceOptions {
  /** Folder that relative paths are resolved against: the folder of the JSONL file that names them. */
  baseDir: string;
  /** When set, file images must lie inside this folder (after resolving links); a server sets it. */
  allowedRoot?: string;
  /** Hosts that http(s) images may be fetched from: "example.org" (any port) or "example.org:8080"; default none. */
  allowRemote?: readonly string[];
  /** Largest image in bytes (default 32 MiB). */
  maxBytes?: number;
  /** Where the reference was read, for error messages. */
  where?: { file?: string; line?: number; field?: string };
  /** fetch implementation (default the global one). */
  fetch?: typeof fetch;
}

export type ImageSource =
  | { kind: 'file'; path: string }
  | { kind: 'data'; mime: string; base64: string }
  | { kind: 'remote'; url: URL };

const DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i;

function fail(message: string, opts: ImageSourceOptions): never {
  throw new DataError(message, opts.where ?? {});
}

/** Whether `url`'s host is on the allow list. */
export function hostAllowed(url: URL, allow: readonly string[] | undefined): boolean {
  return (allow ?? []).some((h) => {
    const entry = h.trim().toLowerCase();
    return entry.length > 0 && (entry.includes(':') ? url.host.toLowerCase() === entry : url.hostname.toLowerCase() === entry);
  });
}

/** Classifies a reference and checks what can be checked without reading it (a DataError otherwise). */
export function classifyImageRef(ref: string, opts: ImageSourceOptions): ImageSource {
  const text = ref.trim();
  if (/^data:/i.test(text)) {
    const m = DATA_URL.exec(text);
    if (!m) fail(`malformed data URL "${text.slice(0, 40)}..."; expected data:image/<type>;base64,<data>`, opts);
    return { kind: 'data', mime: m[1].toLowerCase(), base64: m[2] };
  }
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      fail(`malformed image URL "${text.slice(0, 80)}"`, opts);
    }
    if (!hostAllowed(url, opts.allowRemote)) {
      fail(`remote image ${url.origin}${url.pathname.slice(0, 60)} refused: glmkit fetches remote images only from allow-listed hosts; download it and give a file path or a data URL, or allow-list ${url.hostname}`, opts);
    }
    return { kind: 'remote', url };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && !/^file:/i.test(text)) fail(`unsupported image URL scheme in "${text.slice(0, 40)}"; expected a file path, a data URL or an http(s) URL`, opts);
  const path = /^file:/i.test(text) ? fileURLToPath(text) : isAbsolute(text) ? text : resolve(opts.baseDir, text);
  if (opts.allowedRoot !== undefined) {
    let real: string;
    let root: string;
    try {
      real = realpathSync(path);
      root = realpathSync(opts.allowedRoot);
    } catch (e) {
      fail(`cannot read image ${path} (${(e as Error).message})`, opts);
    }
    const rel = relative(root, real);
    if (rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) fail(`image ${text} lies outside the allowed folder ${opts.allowedRoot}; images must be under it`, opts);
  }
  return { kind: 'file', path };
}

function checkSize(n: number, what: string, opts: ImageSourceOptions): void {
  const max = opts.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  if (n > max) fail(`${what} is ${n} bytes, more than the limit of ${max}; shrink the image`, opts);
}

function readLocal(src: Extract<ImageSource, { kind: 'file' | 'data' }>, opts: ImageSourceOptions): Uint8Array {
  if (src.kind === 'data') {
    checkSize(Math.floor((src.base64.replace(/\s+/g, '').length * 3) / 4), 'the data URL image', opts);
    const bytes = Buffer.from(src.base64, 'base64');
    if (bytes.length === 0) fail('the data URL holds no image bytes', opts);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  try {
    const st = statSync(src.path);
    if (!st.isFile()) fail(`image ${src.path} is not a file`, opts);
    checkSize(st.size, `image ${src.path}`, opts);
    const b = readFileSync(src.path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    if (e instanceof DataError) throw e;
    fail(`cannot read image ${src.path} (${(e as Error).message}); paths are relative to the data file's folder`, opts);
  }
}

/** Bytes of a file or data-URL image; a remote URL is a DataError here (use loadImageBytes). */
export function loadImageBytesSync(ref: string, opts: ImageSourceOptions): Uint8Array {
  const src = classifyImageRef(ref, opts);
  if (src.kind === 'remote') fail(`remote image ${src.url.href.slice(0, 80)} needs an asynchronous fetch; use loadImageBytes`, opts);
  return readLocal(src, opts);
}

/** Bytes of an image reference: a file, a data URL, or an allow-listed http(s) URL. */
export async function loadImageBytes(ref: string, opts: ImageSourceOptions): Promise<Uint8Array> {
  const src = classifyImageRef(ref, opts);
  if (src.kind !== 'remote') return readLocal(src, opts);
  const f = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await f(src.url, { redirect: 'error' });
  } catch (e) {
    fail(`cannot fetch image ${src.url.href.slice(0, 80)} (${(e as Error).message})`, opts);
  }
  if (!res.ok) fail(`cannot fetch image ${src.url.href.slice(0, 80)}: HTTP ${res.status}`, opts);
  const len = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(len)) checkSize(len, `image ${src.url.href.slice(0, 80)}`, opts);
  const bytes = new Uint8Array(await res.arrayBuffer());
  checkSize(bytes.length, `image ${src.url.href.slice(0, 80)}`, opts);
  return bytes;
}
