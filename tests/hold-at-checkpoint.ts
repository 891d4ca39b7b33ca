/**
 * Preloaded into a child training run by the SIGKILL tests
 * (`node --import tsx --import ./tests/hold-at-checkpoint.ts ...`): when the checkpoint folder named
 * by GLMKIT_TEST_HOLD_AT (e.g. `checkpoint-6`) has been renamed into place, the process creates the
 * file GLMKIT_TEST_HOLD_SIGNAL and then blocks forever. The test kills it at that known point, so the
 * kill never races the trainer however slow or loaded the machine is. Test-only; the product has no hook.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';

const holdAt = process.env.GLMKIT_TEST_HOLD_AT;
const signal = process.env.GLMKIT_TEST_HOLD_SIGNAL;
if (holdAt && signal) {
  const rename = fs.renameSync;
  fs.renameSync = (from: fs.PathLike, to: fs.PathLike): void => {
    rename(from, to);
    if (basename(String(to)) === holdAt) {
      fs.writeFileSync(signal, String(process.pid));
      // Blocks this thread for good (nothing ever notifies the buffer): the run waits to be killed.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    }
  };
  syncBuiltinESMExports();
}
