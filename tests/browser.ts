/**
 * Headless Chromium for page tests (see launchBrowserForTests in src/util/test-skip.ts): returns the
 * browser, or the reason it cannot start here, for the test to skip with.
 */
import type { Browser } from 'playwright-core';
import { launchBrowserForTests } from '../src/util/test-skip.js';

export async function launchBrowser(): Promise<Browser | string> {
  const { browser, skip } = await launchBrowserForTests();
  return browser ?? (skip || 'headless Chromium did not start');
}
