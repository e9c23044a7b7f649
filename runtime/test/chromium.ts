// Headless Chromium for the browser tests: Debian's build (playwright cannot download browsers
// here), with the flags that keep it off the network. A missing browser is a failure with the
// fix in the message, never a skip: CI installs it (.ci/run), so its absence is a broken setup.

import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`the browser tests need Chromium at ${CHROMIUM_PATH}: install it with 'apt-get install chromium' (CI's .ci/run does)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
