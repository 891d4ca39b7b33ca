/**
 * The `python` tool: a stateful Python interpreter (Pyodide, from its npm package, so no download)
 * in a locked-down child process, one per session.
 * - state (variables, imports) persists between calls of a session;
 * - files: only the session folder, mounted at /data (the working directory);
 * - no network; memory capped (a bomb is a MemoryError); each call has a time limit: a call that
 *   runs past it kills the interpreter, which restarts fresh on the next call (its state is lost,
 *   and the observation says so).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors.js';
import { PYTHON_TOOL } from '../../data/world/tools.js';
import type { RegisteredTool } from '../registry.js';
import { PYTHON_CHILD_SOURCE } from './python-child.js';

export interface PythonSandboxOptions {
  /** the session folder (created if missing); Python sees it as /data */
  dir: string;
  /** time limit of one call (default 60 s, as GLM's All Tools) */
  timeoutMs?: number;
  /** WebAssembly memory cap in MiB (default 512) */
  memoryMb?: number;
  /** characters of output kept per call (default 20000) */
  maxOutput?: number;
}

export interface PythonResult {
  output: string;
  /** the Python error (traceback tail), or null */
  error: string | null;
  timedOut: boolean;
}

interface Waiter {
  resolve: (r: { output: string; error: string | null }) => void;
  reject: (e: Error) => void;
}

export class PythonSandbox {
  readonly dir: string;
  readonly timeoutMs: number;
  private readonly memoryMb: number;
  private readonly maxOutput: number;
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  /** calls run one at a time, in order */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: PythonSandboxOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.dir = realpathSync(opts.dir);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.memoryMb = opts.memoryMb ?? 512;
    this.maxOutput = opts.maxOutput ?? 20_000;
    if (this.memoryMb < 64) throw new ConfigError(`python memory limit must be >= 64 MiB, got ${this.memoryMb}`);
  }

  /** Starts the interpreter (done lazily by run(); call it to pay the start-up time up front). */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const pyodideEntry = fileURLToPath(import.meta.resolve('pyodide/pyodide.mjs'));
    const pyodideDir = dirname(pyodideEntry);
    // Node's permission model: '--permission' from Node 22.13/23.5, '--experimental-permission' before.
    const permission = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
    const child = spawn(process.execPath, [
      permission, `--allow-fs-read=${pyodideDir}/`, `--allow-fs-read=${this.dir}/`, `--allow-fs-write=${this.dir}/`,
      '--max-old-space-size=256', '--no-warnings', '--input-type=module', '-e', PYTHON_CHILD_SOURCE,
      `file://${pyodideEntry}`, this.dir, String(this.memoryMb * 16), String(this.maxOutput),
    ], { stdio: ['pipe', 'pipe', 'pipe'], cwd: this.dir, env: { PATH: process.env.PATH ?? '' } });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    this.ready = new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        let msg: { ready?: boolean; id?: number; output?: string; error?: string | null };
        try {
          msg = JSON.parse(line);
        } catch {
          return; // not a protocol line (the sandboxed code wrote to the real stdout)
        }
        if (msg.ready) resolve();
        else if (msg.id !== undefined) {
          const w = this.waiters.get(msg.id);
          this.waiters.delete(msg.id);
          w?.resolve({ output: msg.output ?? '', error: msg.error ?? null });
        }
      });
      child.on('exit', (code, signal) => {
        const err = new Error(`the python interpreter stopped (${signal ?? `exit code ${code}`})${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' ')}` : ''}`);
        reject(err);
        for (const w of this.waiters.values()) w.reject(err);
        this.waiters.clear();
        if (this.child === child) {
          this.child = null;
          this.ready = null;
        }
      });
    });
    return this.ready;
  }

  /** Runs code in the session's interpreter; what it prints (and the repr of a last expression) comes back. */
  run(code: string): Promise<PythonResult> {
    const next = this.chain.then(() => this.runNow(code));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async runNow(code: string): Promise<PythonResult> {
    await this.start();
    const child = this.child!;
    const id = this.nextId++;
    const result = new Promise<{ output: string; error: string | null }>((resolve, reject) => this.waiters.set(id, { resolve, reject }));
    child.stdin!.write(JSON.stringify({ id, code }) + '\n');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    try {
      const r = await Promise.race([result, timeout]);
      if (r === 'timeout') {
        this.kill();
        await result.catch(() => undefined);
        return { output: '', error: `the code ran past the time limit of ${this.timeoutMs / 1000} s and was stopped; the interpreter restarts, so earlier variables are gone`, timedOut: true };
      }
      return { ...r, timedOut: false };
    } catch (e) {
      return { output: '', error: (e as Error).message, timedOut: false };
    } finally {
      clearTimeout(timer);
    }
  }

  private kill(): void {
    this.child?.kill('SIGKILL');
  }

  /** Stops the interpreter. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
}

/** The `python` tool over a sandbox (schema: docs/architecture.md "Agent and tools" / the world's tool data). */
export function pythonTool(sandbox: PythonSandbox): RegisteredTool {
  return {
    spec: PYTHON_TOOL,
    // The sandbox enforces its own time limit; the registry's is a backstop above it.
    timeoutMs: sandbox.timeoutMs + 30_000,
    run: async (args) => {
      const r = await sandbox.run(String(args.code));
      if (r.error) return `${r.output}${r.output && !r.output.endsWith('\n') ? '\n' : ''}Error: ${r.error}`.trim();
      return r.output.replace(/\n$/, '');
    },
  };
}

/** The default session folder for a sandbox under a base folder. */
export function sessionDir(base: string, session: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(session)) throw new ConfigError(`session name must be 1-64 letters, digits, _ or -, got '${session}'`);
  return join(base, session);
}
