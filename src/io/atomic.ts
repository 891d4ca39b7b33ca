/**
 * Atomic file writes: the content goes to a temporary file beside the target, is fsynced, then
 * renamed over the target, so a crash or kill leaves the old file or the new one, never half of one.
 * On any error the temporary file is removed: nothing is left behind.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CheckpointError } from '../errors.js';

const CHUNK = 1 << 30;

/** Writes all of `src` at the current position. */
export function writeAll(fd: number, src: Uint8Array): void {
  let done = 0;
  while (done < src.length) done += writeSync(fd, src, done, Math.min(CHUNK, src.length - done));
}

/** Creates `path` atomically: `write(fd)` fills a temporary file, which is fsynced and renamed. */
export function writeFileAtomic(path: string, write: (fd: number) => void): void {
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new CheckpointError(`${path} is a folder; expected a file path to write (choose a file name, e.g. ${join(path, basename(path) || 'out')}.gguf, or remove the folder)`);
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w');
  let done = false;
  try {
    try {
      write(fd);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    done = true;
  } finally {
    if (!done) rmSync(tmp, { force: true });
  }
  try {
    const dfd = openSync(dirname(path), 'r'); // make the rename durable (not possible on every OS)
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // directories cannot be fsynced on this platform
  }
}

/** Writes a text file atomically (state files: a crash never leaves half of one). */
export function writeTextAtomic(path: string, text: string): void {
  writeFileAtomic(path, (fd) => writeAll(fd, Buffer.from(text)));
}
