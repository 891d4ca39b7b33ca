/**
 * Starts a worker thread on a module that sits beside the caller's (`<name>.js` in dist, or
 * `<name>.ts` through tsx when running from the TypeScript sources, as the tests do).
 */
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';

/**
 * `callerUrl` is the caller's `import.meta.url`; `name` the module's file name without extension.
 * `onLoadError` is a function body (string) run in the worker, with `e` the import error, when the
 * module cannot be loaded (the worker has no other way to report it).
 */
export function spawnModuleWorker(callerUrl: string, name: string, workerData: unknown, transferList: TransferListItem[] = [], onLoadError = 'throw e;'): Worker {
  const fromSources = fileURLToPath(callerUrl).endsWith('.ts');
  const entry = new URL(`./${name}.${fromSources ? 'ts' : 'js'}`, callerUrl).href;
  const load = fromSources
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`
    : `import(${JSON.stringify(entry)})`;
  const code = `${load}.catch((e) => { ${onLoadError} });`;
  return new Worker(code, { eval: true, workerData, transferList });
}

/** A worker that answers jobs on `port` and then sets `flag[0]` to 1 (and notifies), so the caller can block on it. */
export interface FlaggedWorker {
  worker: Worker;
  port: MessagePort;
  /** [0]: 0 while a job runs, 1 when its reply is posted */
  flag: Int32Array;
}

/**
 * Starts `<name>` (beside the caller) as a flagged worker, unref'd so it never keeps the process
 * alive. A worker whose module cannot load answers every job with `{ error }` naming `what`, so no
 * caller waits forever.
 */
export function spawnFlaggedWorker(callerUrl: string, name: string, what: string): FlaggedWorker {
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const onLoadError = `const wt = require('node:worker_threads'); const { port, flag } = wt.workerData;
    port.on('message', () => { port.postMessage({ error: ${JSON.stringify(`the ${what} worker did not start: `)} + (e && e.message) }); Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); });`;
  const worker = spawnModuleWorker(callerUrl, name, { port: port2, flag }, [port2], onLoadError);
  worker.unref();
  port1.unref();
  return { worker, port: port1, flag };
}
