#!/usr/bin/env node
/** Process entry of the `glmkit` binary (bin/glmkit.js loads the compiled copy). */
import { useCliThreads } from '../generation/parallel-generate.js';
import { main, reportError } from './main.js';

Promise.resolve()
  .then(() => {
    useCliThreads();
    return main(process.argv.slice(2));
  })
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.exitCode = reportError(e);
    },
  );
