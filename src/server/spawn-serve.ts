/**
 * Starts `glmkit serve` as a child process on a free port (benchmarks and tests that need real
 * server processes) and resolves its base URL from the banner line. The command defaults to the one
 * this process was started with (the same node flags and CLI entry), so it works from `dist/` and
 * through tsx alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { GlmkitError } from '../errors.js';

export interface ServeProcess {
  proc: ChildProcess;
  url: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and resolves when it exited. */
  stop(): Promise<void>;
}

/** [executable, ...arguments before the glmkit command] of the running CLI. */
export function currentCli(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]];
}

export function spawnServe(args: readonly string[], opts: { cli?: readonly string[]; cwd?: string; env?: Record<string, string> } = {}): Promise<ServeProcess> {
  const [exe, ...pre] = opts.cli ?? currentCli();
  const p = spawn(exe, [...pre, 'serve', '--port', '0', ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const stop = () => new Promise<void>((res) => {
    if (p.exitCode !== null || p.signalCode !== null) return res();
    const kill = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => {
      clearTimeout(kill);
      res();
    });
    p.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    let out = '', err = '';
    p.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/[^\s]+)\/v1/.exec(out);
      if (m) resolve({ proc: p, url: m[1], stop });
    });
    p.stderr!.on('data', (d) => (err += d));
    p.on('exit', (code) => reject(new GlmkitError('serve_exited', `glmkit serve exited (${code}) before listening: ${err.trim().split('\n').at(-1) ?? ''}`)));
  });
}
