// The system Chromium (never a downloaded one) and the loop that runs browser scenarios: shared by
// the browser tier (run.mjs), the demo's tests run on their own, and the benchmarks.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Without the background-networking flags Chromium keeps trying hosts this network refuses. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const launchChromium = () =>
  chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });

/** Scenarios whose name contains one of the command line's words (all without any). */
export const selectScenarios = (scenarios, filter = process.argv.slice(2)) =>
  scenarios.filter((s) => filter.length === 0 || filter.some((f) => s.name.includes(f)));

/**
 * Runs `{ name, timeoutMs, run({ browser }) }` scenarios one after the other, one line each;
 * `before` runs ahead of every scenario. Returns the counts.
 */
export async function runScenarios(browser, scenarios, before = async () => {}) {
  let passed = 0;
  let failed = 0;
  for (const scenario of scenarios) {
    const t0 = Date.now();
    await before();
    let timer;
    try {
      const detail = await Promise.race([
        scenario.run({ browser }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${scenario.timeoutMs} ms`)),
            scenario.timeoutMs,
          );
        }),
      ]);
      passed += 1;
      console.log(`ok   ${scenario.name} (${Date.now() - t0} ms)${detail ? `: ${detail}` : ''}`);
    } catch (error) {
      failed += 1;
      const message = error instanceof Error ? error.message : String(error);
      console.log(`FAIL ${scenario.name} (${Date.now() - t0} ms): ${message}`);
    } finally {
      clearTimeout(timer);
    }
  }
  return { passed, failed };
}
