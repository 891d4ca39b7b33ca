/**
 * Temporary folders for tests: `tempDir()` makes one under the OS temp folder and removes it when the
 * process exits (set GLMKIT_KEEP_TEST_DIRS=1 to keep them for a look after a failure).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
let hooked = false;

function removeAll(): void {
  if (process.env.GLMKIT_KEEP_TEST_DIRS === '1') return;
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a folder still in use by a child process: left for the OS to clean up
    }
  }
}

export function tempDir(prefix = 'glmkit-test-'): string {
  if (!hooked) {
    process.on('exit', removeAll);
    hooked = true;
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
