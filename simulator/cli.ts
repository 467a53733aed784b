#!/usr/bin/env node
/**
 * `genesys-outbox-simulator [--port N] [--control-port N] [--host H] [--bot] [--log]`
 * Runs the local Genesys Cloud simulator until SIGINT / SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startSimulator, type Simulator, type SimulatorOptions } from './index.js';

const USAGE = `usage: genesys-outbox-simulator [--port N] [--control-port N] [--host H] [--bot] [--log]

  --port N          API port (HTTP + WebSocket), 0 = any free port (default 8787)
  --control-port N  always-up control port, 0 = any free port (default: API port + 1)
  --host H          interface to bind (default 127.0.0.1)
  --bot             answer each guest message with a bot message
  --log             one line per request on stderr (never message text)`;

function fail(message: string): never {
  process.stderr.write(`genesys-outbox-simulator: ${message}\n`);
  process.exit(1);
}

function parsePort(flag: string, value: string | undefined): number {
  const port = Number(value);
  if (value === undefined || value === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`${flag} needs a port number (0-65535)`);
  }
  return port;
}

const FLAGS = {
  port: { type: 'string' },
  'control-port': { type: 'string' },
  host: { type: 'string' },
  bot: { type: 'boolean' },
  log: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `--flag value` and `--flag=value` alike (node:util parseArgs); anything else is refused. */
function parseOptions(argv: string[]): SimulatorOptions {
  const { values, tokens } = parseArgs({ args: argv, options: FLAGS, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind === 'positional') fail(`unknown argument ${t.value}\n${USAGE}`);
    if (t.kind === 'option' && !(t.name in FLAGS)) fail(`unknown argument ${t.rawName}\n${USAGE}`);
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  // A flag given without a value arrives as `true` (strict: false): no value.
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const options: SimulatorOptions = {
    port: values.port === undefined ? 8787 : parsePort('--port', text(values.port)),
  };
  if (values.host !== undefined) {
    const host = text(values.host);
    if (host === undefined || host === '') fail('--host needs a value');
    options.host = host;
  }
  if (values.bot === true) options.bot = true;
  if (values.log === true) options.log = true;
  options.controlPort =
    values['control-port'] !== undefined
      ? parsePort('--control-port', text(values['control-port']))
      : options.port === 0
        ? 0
        : (options.port ?? 0) + 1;
  return options;
}

function describe(error: unknown, options: SimulatorOptions): string {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const port = (error as { port?: unknown } | null)?.port ?? options.port;
  const host = options.host ?? '127.0.0.1';
  if (code === 'EADDRINUSE') return `port ${String(port)} is already in use on ${host}`;
  if (code === 'EACCES') return `no permission to listen on port ${String(port)} on ${host}`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${host}: address not available`;
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  let sim: Simulator | undefined;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (sim === undefined) process.exit(0); // still starting: nothing to close yet
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // Before anything is printed: whoever reads "running" may signal us at once.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    sim = await startSimulator(options);
  } catch (error: unknown) {
    fail(describe(error, options));
  }
  process.stdout.write(
    [
      'Genesys Cloud simulator running',
      `  api (HTTP):      ${sim.url}`,
      `  guest WebSocket: ${sim.wsUrl}/v1?deploymentId=sim-deployment`,
      `  control:         ${sim.controlUrl}/__control/state  (also ${sim.url}/__control/*)`,
      '  OAuth client:    sim-client / sim-secret',
      options.bot ? '  bot:             on' : '  bot:             off',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
