/**
 * The browser test harness of the web UI: starts `glmkit serve` or `glmkit ui` as a real process on a
 * free port, waits for its "web UI at URL/" line, and opens pages in headless Chromium. Every request
 * a page makes is recorded, so a test can show that nothing left this server (no CDN).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { root } from './helpers.js';

export interface UiProcess {
  proc: ChildProcess;
  /** http://127.0.0.1:PORT (no trailing slash) */
  url: string;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Runs `glmkit <args> --port 0` and resolves when it prints where the web UI is. */
export function startUi(args: string[], env: Record<string, string> = {}): Promise<UiProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/entry.ts'), ...args, '--port', '0'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  let out = '', err = '';
  const stop = () => new Promise<void>((res) => {
    if (proc.exitCode !== null) return res();
    proc.once('exit', () => res());
    proc.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /web UI at (http:\/\/[^\s/]+)\//.exec(out);
      if (m) resolve({ proc, url: m[1], stderr: () => err, stop });
    });
    proc.stderr!.on('data', (d) => (err += d));
    proc.on('exit', (code) => reject(new Error(`glmkit ${args[0]} exited (${code}) before serving the UI: ${err}`)));
  });
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** every URL the page requested */
  requests: string[];
  /** console errors and uncaught page errors */
  errors: string[];
}

/** A fresh browser context (its own cookies) with one page at `url`. */
export async function openPage(browser: Browser, url: string, viewport = { width: 1280, height: 800 }): Promise<OpenedPage> {
  // a fixed locale: Chromium takes it from the environment otherwise (e.g. 'en-US@posix', which Intl rejects)
  const context = await browser.newContext({ viewport, locale: 'en-US' });
  const page = await context.newPage();
  const requests: string[] = [], errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url, { waitUntil: 'load' });
  return { context, page, requests, errors };
}

/**
 * Saves a PNG of the page as NAME.png in GLMKIT_UI_SCREENSHOTS (e.g. docs/images) when that is set;
 * does nothing otherwise.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.GLMKIT_UI_SCREENSHOTS;
  if (!dir) return;
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
}
