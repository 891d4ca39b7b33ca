/**
 * Headless Chromium for page tests: the browser shipped inside the @sparticuz/chromium package,
 * driven by playwright-core. A browser is an optional component: where it cannot start, `launch`
 * returns the reason and the test skips, printing it.
 */
import type { Browser } from 'playwright-core';

export async function launchBrowser(): Promise<Browser | string> {
  try {
    const chromium = (await import('@sparticuz/chromium')).default;
    const { chromium: pw } = await import('playwright-core');
    return await pw.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true });
  } catch (e) {
    return `headless Chromium (@sparticuz/chromium) cannot start here: ${(e as Error).message.split('\n')[0]}`;
  }
}
