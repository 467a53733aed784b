// The system Chromium (never a downloaded one) and its flags: shared by the browser tests
// (playwright.config.mjs, the tests that launch their own browser) and the benchmarks.
import { spawn } from 'node:child_process';
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

/**
 * Chromium as its own process on `profile` (so that a test can SIGKILL it mid-drain), driven over
 * the DevTools protocol. Resolves with the process, the browser, its default context and
 * `kill()`: SIGKILL to Chromium's whole process group (it is started as a group leader), resolved
 * once the browser process has exited and Playwright has seen the connection drop. A SIGKILL of the browser process alone left its helper
 * processes running, still holding (and writing into) the profile directory, which then could not
 * be removed: dozens of profiles were left in the temporary directory by a chaos run.
 */
export async function launchKillable(profile, { startTimeoutMs = 20_000 } = {}) {
  const child = spawn(
    CHROMIUM,
    [
      ...CHROMIUM_ARGS,
      '--headless=new',
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
    else child.once('exit', () => resolve(undefined));
  });
  /** Resolves once Playwright has seen the DevTools connection drop (set once connected). */
  let disconnected = Promise.resolve();
  const kill = async () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
    await exited;
    // Else a test could end before Playwright took the browser as gone, and its teardown (the
    // trace of every context) would call into the dead one: "Target … has been closed".
    await disconnected;
  };
  const endpoint = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error('chromium did not start')), startTimeoutMs);
    child.stderr.on('data', (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', () => reject(new Error('chromium exited')));
  });
  const browser = await chromium.connectOverCDP(endpoint).catch(async (e) => {
    await kill();
    throw e;
  });
  disconnected = new Promise((resolve) => {
    if (!browser.isConnected()) resolve(undefined);
    else browser.once('disconnected', () => resolve(undefined));
  });
  return { child, browser, context: browser.contexts()[0], kill };
}
