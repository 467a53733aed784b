#!/usr/bin/env node
/**
 * `genesys-outbox-simulator [--port N] [--control-port N] [--host H] [--bot] [--log]`
 * Runs the local Genesys Cloud simulator until SIGINT / SIGTERM.
 */
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
  if (value === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`${flag} needs a port number (0-65535)`);
  }
  return port;
}

function parseArgs(argv: string[]): SimulatorOptions {
  const options: SimulatorOptions = { port: 8787 };
  let controlPortGiven = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    switch (arg) {
      case '--port':
        options.port = parsePort(arg, argv[(i += 1)]);
        break;
      case '--control-port':
        options.controlPort = parsePort(arg, argv[(i += 1)]);
        controlPortGiven = true;
        break;
      case '--host': {
        const host = argv[(i += 1)];
        if (host === undefined || host === '') fail('--host needs a value');
        options.host = host;
        break;
      }
      case '--bot':
        options.bot = true;
        break;
      case '--log':
        options.log = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        fail(`unknown argument ${String(arg)}\n${USAGE}`);
    }
  }
  if (!controlPortGiven) options.controlPort = options.port === 0 ? 0 : (options.port ?? 0) + 1;
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
  const options = parseArgs(process.argv.slice(2));
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
