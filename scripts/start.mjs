// `npm start`: builds if needed, starts the local Genesys Cloud simulator (bot on) and the demo page,
// prints one URL, and stops cleanly on Ctrl-C.
//
//   npm start -- [--port N] [--simulator-port N] [--build]
//   env: PORT, SIMULATOR_PORT (flags win). Defaults 8080 and 8081; 0 = any free port.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const USAGE = `usage: npm start -- [--port N] [--simulator-port N] [--build]

  --port N            demo page port (env PORT, default 8080; 0 = any free port)
  --simulator-port N  simulator API port (env SIMULATOR_PORT, default 8081; 0 = any free port)
  --build             rebuild dist/ even when it looks up to date`;

function fail(message) {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

function parsePort(name, value) {
  const port = Number(value);
  // A flag given without a value arrives as `true` from parseArgs (strict: false).
  if (
    typeof value !== 'string' ||
    value === '' ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65535
  ) {
    fail(
      `${name} needs a port number (0-65535), got ${typeof value === 'string' ? JSON.stringify(value) : 'no value'}`,
    );
  }
  return port;
}

const FLAGS = {
  port: { type: 'string' },
  'simulator-port': { type: 'string' },
  build: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** `--flag value` and `--flag=value` alike (node:util parseArgs); anything else is refused. */
function parseOptions(argv) {
  const { values, tokens } = parseArgs({ args: argv, options: FLAGS, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind === 'positional') fail(`unknown argument ${t.value}\n${USAGE}`);
    if (t.kind === 'option' && !(t.name in FLAGS)) fail(`unknown argument ${t.rawName}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const options = {
    port: parsePort(
      values.port === undefined ? 'PORT' : '--port',
      values.port ?? process.env.PORT ?? '8080',
    ),
    simulatorPort: parsePort(
      values['simulator-port'] === undefined ? 'SIMULATOR_PORT' : '--simulator-port',
      values['simulator-port'] ?? process.env.SIMULATOR_PORT ?? '8081',
    ),
    build: values.build === true,
  };
  if (options.port !== 0 && options.port === options.simulatorPort) {
    fail(`the demo and the simulator cannot share port ${options.port}`);
  }
  return options;
}

/** Newest modification time (ms) of the files under `dir`, 0 when absent. */
function newest(dir) {
  let max = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** dist/ is missing, or older than src/ or simulator/. */
function stale() {
  const built = Math.min(
    mtime(join(ROOT, 'dist/browser/genesys-webmessaging-outbox.js')),
    mtime(join(ROOT, 'dist/simulator/index.js')),
  );
  return (
    built === 0 || built < Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'simulator')))
  );
}

function describe(error, options) {
  const code = typeof error === 'object' && error !== null ? error.code : undefined;
  const which = error?.which === 'simulator' ? 'simulator' : 'demo';
  const port = error?.port ?? (which === 'simulator' ? options.simulatorPort : options.port);
  const hint = which === 'simulator' ? '--simulator-port / SIMULATOR_PORT' : '--port / PORT';
  if (code === 'EADDRINUSE')
    return `port ${port} is already in use (${which}); choose another with ${hint}`;
  if (code === 'EACCES')
    return `no permission to listen on port ${port} (${which}); choose another with ${hint}`;
  return `could not start the ${which}: ${error instanceof Error ? error.message : String(error)}`;
}

const options = parseOptions(process.argv.slice(2));

if (options.build || stale()) {
  process.stdout.write('Building (scripts/build.mjs)...\n');
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  } catch {
    fail('the build failed (see above)');
  }
}

const { startDemo } = await import(pathToFileURL(join(ROOT, 'demo/server.mjs')).href);
let demo;
try {
  demo = await startDemo({ port: options.port, simulatorPort: options.simulatorPort });
} catch (error) {
  fail(describe(error, options));
}

process.stdout.write(`Demo running at ${demo.url}  (Ctrl-C to stop)\n`);

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 3000);
  force.unref();
  demo.close().then(
    () => process.exit(0),
    () => process.exit(0),
  );
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
