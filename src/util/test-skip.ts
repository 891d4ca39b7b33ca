/**
 * The one skip policy of the test suite (used by tests only, not part of the public API).
 *
 * A test skips only when an optional component is missing, and it always says why:
 * - The native addon is NOT optional: `npm ci` builds it. When it cannot be loaded, every file that
 *   needs it gets one failing test naming the load error, and its native tests are skipped pointing
 *   at that failure. Only with GLMKIT_SKIP_NATIVE=1 (the build was switched off on purpose) are the
 *   native tests skipped, with the reason printed, and nothing fails.
 * - llama.cpp (node-llama-cpp's prebuilt CPU binary, a dev dependency) is optional: where it cannot
 *   load, the tests that compare with it are skipped with the load error as the reason.
 * - Headless Chromium and a Python with torch + transformers (the Hugging Face parity oracle) are
 *   optional in the same way.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { Backend } from '../tensor/backend/backend.js';
import { getNativeBackend, nativeUnavailableReason } from '../tensor/backend/index.js';

/** Options for node:test's `test(name, options, fn)`: `skip` is false or the printed reason. */
export interface SkipOptions {
  skip: string | false;
}

let nativeOptions: SkipOptions | undefined;

/**
 * Test options for a test that needs the native addon. Present: run. Missing with
 * GLMKIT_SKIP_NATIVE=1: skip with the reason. Missing otherwise: skip the test too, but register (once
 * per test file) a failing test `native addon loads` whose error names the load failure, so the run
 * fails and says why.
 */
export function needNativeOptions(): SkipOptions {
  if (nativeOptions) return nativeOptions;
  if (getNativeBackend()) {
    nativeOptions = { skip: false };
    return nativeOptions;
  }
  const reason = nativeUnavailableReason() ?? 'unknown load error';
  if (process.env.GLMKIT_SKIP_NATIVE === '1') {
    nativeOptions = { skip: `GLMKIT_SKIP_NATIVE=1 and the native addon is not loaded (${reason})` };
    return nativeOptions;
  }
  test('native addon loads', () => {
    throw new Error(
      `the native addon is required by these tests but did not load: ${reason}. ` +
        'Set GLMKIT_SKIP_NATIVE=1 only to skip the native tests on purpose.',
    );
  });
  nativeOptions = { skip: 'native addon not loaded: see the failing test "native addon loads"' };
  return nativeOptions;
}

/** The native backend, or null where `needNativeOptions()` skips (use only inside such tests). */
export function nativeBackendForTests(): Backend | null {
  needNativeOptions();
  return getNativeBackend();
}

type LlamaModule = typeof import('node-llama-cpp');
export type LoadedLlama = Awaited<ReturnType<LlamaModule['getLlama']>>;

/**
 * Loads llama.cpp through node-llama-cpp's prebuilt CPU binary (nothing is downloaded or compiled).
 * Returns the instance, or a skip reason naming why it cannot load here (llama.cpp is optional).
 */
export async function loadLlamaForTests(): Promise<{ llama: LoadedLlama | null; skip: string | false }> {
  try {
    const mod: LlamaModule = await import('node-llama-cpp');
    const llama = await mod.getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, logLevel: mod.LlamaLogLevel.error, progressLogs: false });
    return { llama, skip: false };
  } catch (e) {
    return { llama: null, skip: `llama.cpp (node-llama-cpp prebuilt binary) cannot load on this machine: ${(e as Error).message.split('\n')[0]}` };
  }
}

const BROWSER_ARGS_DROPPED = new Set(['--single-process', '--no-zygote', '--disable-web-security', '--allow-running-insecure-content']);

type PlaywrightModule = typeof import('playwright-core');
export type TestBrowser = Awaited<ReturnType<PlaywrightModule['chromium']['launch']>>;

/**
 * Starts headless Chromium: the browser shipped inside the @sparticuz/chromium package (a dev
 * dependency, nothing downloaded), driven by playwright-core. A browser is optional: where it cannot
 * start, returns a skip reason naming why, and browser tests skip printing it.
 */
export async function launchBrowserForTests(): Promise<{ browser: TestBrowser | null; skip: string | false }> {
  try {
    const chromium = (await import('@sparticuz/chromium')).default;
    const { chromium: pw } = await import('playwright-core');
    const executablePath = await chromium.executablePath();
    // The package's args are made for serverless hosts: --single-process closes the browser with its
    // first closed context, and --disable-web-security would hide what the security tests check.
    // Without them where the browser starts so; with all of them otherwise.
    const args = chromium.args.filter((a) => !BROWSER_ARGS_DROPPED.has(a));
    const browser = await pw.launch({ executablePath, args, headless: true }).catch(() => pw.launch({ executablePath, args: chromium.args, headless: true }));
    return { browser, skip: false };
  } catch (e) {
    return { browser: null, skip: `headless Chromium (@sparticuz/chromium) cannot start here: ${(e as Error).message.split('\n')[0]}` };
  }
}

/**
 * A Python interpreter that imports all of `modules` (GLMKIT_PYTHON, else python3 on PATH),
 * for tests that compare with Python libraries (Pillow, transformers). Python
 * is optional: where none imports them, returns a skip reason naming what is missing.
 */
export function pythonForTests(modules: readonly string[]): { python: string | null; skip: string | false } {
  const candidates = [process.env.GLMKIT_PYTHON, 'python3'].filter((p): p is string => !!p);
  let last = '';
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return { python, skip: false };
    last = r.error ? r.error.message : (r.stderr ?? '').trim().split('\n').pop() ?? `exit ${r.status}`;
  }
  return { python: null, skip: `no Python here imports ${modules.join(', ')} (tried ${candidates.join(', ')}; last: ${last})` };
}

/**
 * A Python with torch and transformers for the optional parity tests against Hugging Face (see
 * `pythonForTests`), with the versions it has for the test's printout.
 */
export function hfPythonForTests(): { python: string | null; version: string | null; skip: string | false } {
  const found = pythonForTests(['torch', 'transformers']);
  if (!found.python) return { python: null, version: null, skip: `${found.skip}; set GLMKIT_PYTHON to one with torch and transformers to run the Hugging Face parity tests` };
  const r = spawnSync(found.python, ['-c', 'import torch, transformers; print(transformers.__version__, torch.__version__)'], { encoding: 'utf8' });
  return { python: found.python, version: r.stdout.trim(), skip: false };
}
