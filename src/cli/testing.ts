/** Helpers for the CLI's unit tests (not part of the public API). */

/** Runs `fn` with stderr silenced (commands print progress there), restoring it afterwards. */
export async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    process.stderr.write = write;
  }
}
