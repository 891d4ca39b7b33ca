/** Helpers for tests that spawn `glmkit serve` as a real process and watch it through /health. */
import type { ChildProcess } from 'node:child_process';
import { spawnServe } from '../src/server/spawn-serve.js';
import { join } from 'node:path';
import { root } from './helpers.js';

/**
 * Starts `glmkit serve` on a free port and resolves its base URL from the first output line
 * (`model` null: no --model, e.g. a server of only --embedding-model).
 */
export async function startServer(model: string | null, extra: string[] = [], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string }> {
  const s = await spawnServe([...(model === null ? [] : ['--model', model]), ...extra], { cli: [process.execPath, '--import', 'tsx', join(root, 'src/cli/entry.ts')], cwd: root, env });
  return { proc: s.proc, url: s.url };
}

export interface Health {
  status: string;
  in_flight: number;
  active_slots: number;
  completed: number;
  cancelled: number;
  failed: number;
  worker_restarts: number;
}

export async function health(url: string): Promise<Health> {
  return (await (await fetch(`${url}/health`)).json()) as Health;
}

/**
 * Polls /health until `ok(h)` holds. The bound is generous (a loaded 2-core machine may be slow to
 * schedule the server); it only turns a real leak into a failure instead of a hang.
 */
export async function waitHealth(url: string, ok: (h: Health) => boolean, what: string, boundMs = 60_000): Promise<Health> {
  const until = Date.now() + boundMs;
  let h = await health(url);
  while (!ok(h)) {
    if (Date.now() > until) throw new Error(`${what}: not reached within ${boundMs / 1000} s; last /health: ${JSON.stringify(h)}`);
    await new Promise((r) => setTimeout(r, 25));
    h = await health(url);
  }
  return h;
}
