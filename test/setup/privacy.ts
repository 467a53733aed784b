// Vitest setup file of the unit and integration projects (vitest.config.ts): the suite-wide
// privacy watch of issue 14. For every test it
// - captures every log line: the library's own loggers (`consoleLogger`, the default, and
//   `silentLogger`, which most tests pass) write through the watch, and every logger given to
//   createOutbox / openOutbox (OfflineMessageQueue) is teed into it;
// - captures every OutboxError created (the class is replaced by a subclass that records each
//   instance; `instanceof` and `isOutboxError` behave as before);
// - learns the secrets: every send() text and metadata value, every token the simulator issues
//   (access tokens, JWTs) or accepts as a guest session token, every `sessionToken` given to the
//   guest transport, every client secret given to clientCredentials and the simulator's default;
// and fails the test in afterEach if a line or an error (message, details, cause chain) holds one.
// What it cannot see: code running in child processes or in bundles the tests compile.
import { types } from 'node:util';
import { afterAll, afterEach, vi } from 'vitest';
import type * as ClientCredentialsModule from '../../src/auth/clientCredentials.js';
import type * as OutboxErrorModule from '../../src/errors/OutboxError.js';
import type * as CreateOutboxModule from '../../src/outbox/createOutbox.js';
import type * as GuestModule from '../../src/transport/guest.js';
import { consoleLogger, silentLogger, type Logger } from '../../src/internal/logger.js';
import { GuestSessions } from '../../simulator/guestSessions.js';
import { JwtStore } from '../../simulator/jwt.js';
import { TokenStore } from '../../simulator/oauth.js';
import { addSecret, captureLine, takeLeaks } from '../helpers/privacyWatch.js';

vi.mock('../../src/errors/OutboxError.js', async (importOriginal) => {
  const original = await importOriginal<typeof OutboxErrorModule>();
  const { captureError: capture } = await import('../helpers/privacyWatch.js');
  class OutboxError extends original.OutboxError {
    constructor(...args: ConstructorParameters<typeof original.OutboxError>) {
      super(...args);
      capture(this);
    }
  }
  return { ...original, OutboxError };
});

vi.mock('../../src/outbox/createOutbox.js', async (importOriginal) => {
  const original = await importOriginal<typeof CreateOutboxModule>();
  const watch = await import('../helpers/privacyWatch.js');
  const own = await import('../../src/internal/logger.js');
  type Options = Parameters<typeof original.openOutbox>[0];
  const isLogger = (l: unknown): l is Logger =>
    typeof l === 'object' &&
    l !== null &&
    ['debug', 'warn', 'error'].every(
      (m) => typeof (l as Record<string, unknown>)[m] === 'function',
    );
  /** The caller's logger, teed into the watch (options of the wrong shape pass as they are). */
  const teed = (options: Options): Options => {
    if (typeof options !== 'object' || options === null) return options;
    const given = (options as { logger?: unknown }).logger;
    if (given !== undefined && !isLogger(given)) return options;
    const base = given ?? own.consoleLogger;
    // The library's own loggers already write through the watch (below).
    if (base === own.consoleLogger || base === own.silentLogger) return options;
    const tee: Logger = {
      debug: (m, c) => (watch.captureLine('debug', m, c), base.debug(m, c)),
      warn: (m, c) => (watch.captureLine('warn', m, c), base.warn(m, c)),
      error: (m, c) => (watch.captureLine('error', m, c), base.error(m, c)),
    };
    return { ...options, logger: tee };
  };
  /** Every send() text and metadata value becomes a secret. */
  const watched = (outbox: Awaited<ReturnType<typeof original.openOutbox>>) => {
    const send = outbox.send.bind(outbox);
    outbox.send = (input) => {
      // Data properties only, read without calling getters or proxy traps twice (bad-input tests
      // hand send() getters that throw and proxies; what the library does with them is theirs).
      try {
        const own = (o: unknown, k: string): unknown =>
          typeof o === 'object' && o !== null && !isProxyLike(o)
            ? Object.getOwnPropertyDescriptor(o, k)?.value
            : undefined;
        watch.addSecret('send() text', own(input, 'text'));
        const metadata = own(input, 'metadata');
        if (typeof metadata === 'object' && metadata !== null) {
          for (const k of Object.keys(metadata))
            watch.addSecret('metadata value', own(metadata, k));
        }
      } catch {
        // not readable without side effects: nothing learnt
      }
      return send(input);
    };
    return outbox;
  };
  return {
    ...original,
    createOutbox: async (options: Options) => watched(await original.createOutbox(teed(options))),
    openOutbox: async (options: Options, beforeStart?: Parameters<typeof original.openOutbox>[1]) =>
      watched(await original.openOutbox(teed(options), beforeStart)),
  };
});

vi.mock('../../src/auth/clientCredentials.js', async (importOriginal) => {
  const original = await importOriginal<typeof ClientCredentialsModule>();
  const watch = await import('../helpers/privacyWatch.js');
  return {
    ...original,
    clientCredentials: (input: Parameters<typeof original.clientCredentials>[0]) => {
      watch.addSecret(
        'client secret',
        (input as { clientSecret?: unknown } | undefined)?.clientSecret,
      );
      return original.clientCredentials(input);
    },
  };
});

vi.mock('../../src/transport/guest.js', async (importOriginal) => {
  const original = await importOriginal<typeof GuestModule>();
  const watch = await import('../helpers/privacyWatch.js');
  return {
    ...original,
    guestTransport: (options: Parameters<typeof original.guestTransport>[0]) => {
      watch.addSecret('token', (options as { sessionToken?: unknown } | undefined)?.sessionToken);
      return original.guestTransport(options);
    },
  };
});

// The library's own loggers write through the watch (they are plain objects).
for (const [logger, levels] of [
  [consoleLogger, ['debug', 'warn', 'error']],
  [silentLogger, ['debug', 'warn', 'error']],
] as const) {
  for (const level of levels) {
    const write = logger[level].bind(logger);
    logger[level] = (message, context) => {
      captureLine(level, message, context);
      write(message, context);
    };
  }
}

// The simulator's credentials: access tokens, guest JWTs, guest session tokens it accepted.
const issueAccess = TokenStore.prototype.issue;
TokenStore.prototype.issue = function (this: TokenStore, ...args) {
  const out = issueAccess.apply(this, args);
  addSecret('token', out.token);
  return out;
};
const issueJwt = JwtStore.prototype.issue;
JwtStore.prototype.issue = function (this: JwtStore, ...args) {
  const out = issueJwt.apply(this, args);
  addSecret('token', out.jwt);
  return out;
};
const createSession = GuestSessions.prototype.create;
GuestSessions.prototype.create = function (this: GuestSessions, ...args) {
  addSecret('token', args[0]);
  return createSession.apply(this, args);
};
addSecret('client secret', 'sim-secret'); // the simulator's default client (simulator/options.ts)

/** Proxies cannot be told apart in plain JS; `util.types.isProxy` can. */
function isProxyLike(o: object): boolean {
  return types.isProxy(o);
}

function check(): void {
  const leaks = takeLeaks();
  if (leaks.length === 0) return;
  throw new Error(
    `privacy watch: ${leaks.length} secret(s) in log lines or OutboxErrors:\n` +
      leaks.map((l) => `  ${l.kind} ${l.secret} in ${l.where}`).join('\n'),
  );
}

afterEach(check);
afterAll(check);
