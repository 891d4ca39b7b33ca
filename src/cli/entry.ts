#!/usr/bin/env node
/** Process entry of the `glmkit` binary (bin/glmkit.js loads the compiled copy). */
import { main, reportError } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.exitCode = reportError(e);
  },
);
