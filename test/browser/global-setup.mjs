// Runs once before the browser tests: builds dist/ when it is missing (or BROWSER_TEST_BUILD=1),
// since the pages load the built browser bundle and the fixtures start the built simulator.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default function globalSetup() {
  const built = ['dist/browser/genesys-webmessaging-outbox.js', 'dist/simulator/index.js'].every(
    (f) => existsSync(join(ROOT, f)),
  );
  if (process.env.BROWSER_TEST_BUILD === '1' || !built) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  }
}
