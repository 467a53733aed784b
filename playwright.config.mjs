// The real-browser tier on @playwright/test, with the system Chromium (never a downloaded one).
//
//   npx playwright test                          every browser test (npm test's browser step)
//   npx playwright test -g "two tabs"            the tests whose title matches
//   npx playwright test test/browser/demo.spec.mjs:120   the test at that line
//   npx playwright test --debug -g "..."          step through one test (headed Chromium, inspector)
//   npx playwright show-trace test-results/playwright/<test>/trace.zip   after a failure
//
// CHROMIUM_PATH overrides /usr/bin/chromium; BROWSER_TEST_BUILD=1 rebuilds dist/ first (a missing
// dist/ is always built); BROWSER_TEST_DEBUG=1 echoes the pages' console.
import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';
import { CHROMIUM, CHROMIUM_ARGS } from './test/browser/chromium.mjs';

if (!existsSync(CHROMIUM)) {
  console.error(
    `Browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH).`,
  );
  process.exit(1);
}

export default defineConfig({
  testDir: 'test/browser',
  testMatch: '**/*.spec.mjs',
  globalSetup: './test/browser/global-setup.mjs',
  outputDir: 'test-results/playwright',
  // The scenarios share one simulator per worker and measure real drains: one at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: true,
  reporter: 'list',
  timeout: 60_000,
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
    trace: 'retain-on-failure',
  },
});
