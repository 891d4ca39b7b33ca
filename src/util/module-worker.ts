/**
 * Starts a worker thread on a module that sits beside the caller's (`<name>.js` in dist, or
 * `<name>.ts` through tsx when running from the TypeScript sources, as the tests do).
 */
import { fileURLToPath } from 'node:url';
import { Worker, type TransferListItem } from 'node:worker_threads';

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
