// The suite-wide privacy watch (test/setup/privacy.ts, test/helpers/privacyWatch.ts) is installed
// in this file as in every unit and integration test file. Leaks are planted here on purpose and
// taken back with takeLeaks() before the watch's afterEach would fail the test: what is checked is
// that the watch sees them.
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../simulator/index.js';
import { clientCredentials } from '../../src/auth/clientCredentials.js';
import { isOutboxError, OutboxError } from '../../src/errors/OutboxError.js';
import { consoleLogger, silentLogger, type Logger } from '../../src/internal/logger.js';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import { memoryStore } from '../../src/store/memory.js';
import { captured, takeLeaks } from '../helpers/privacyWatch.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';

const TEXT = 'my card number is 4111 1111 1111 1111';

async function outboxWith(logger?: Logger) {
  return createOutbox({
    transport: new ScriptedTransport(() => ({
      kind: 'retry',
      error: { code: 'network', message: 'x' },
    })),
    store: memoryStore(),
    coordinator: false,
    ...(logger === undefined ? {} : { logger }),
    retry: { baseDelayMs: 60_000 },
  });
}

describe('privacy watch', () => {
  it('a send() text or metadata value in a line of any logger the outbox was given is reported', async () => {
    const own: string[] = [];
    const custom: Logger = {
      debug: (m) => own.push(m),
      warn: (m) => own.push(m),
      error: (m) => own.push(m),
    };
    const outbox = await outboxWith(custom);
    await outbox.send({ text: TEXT, metadata: { email: 'jane@example.com' } });
    expect(takeLeaks()).toEqual([]); // the library's own lines carry none of it
    // Planted: a listener's error message quoting the text reaches the outbox's logger
    // only by name ('listener threw', { error: 'Error' }) ...
    outbox.subscribe(() => {
      throw new Error(`listener saw ${TEXT}`);
    });
    await outbox.send({ text: `${TEXT} again` });
    expect(takeLeaks()).toEqual([]);
    // ... whereas a line that does quote it is caught, whichever logger it goes to.
    silentLogger.warn('planted', { text: TEXT });
    consoleLogger.debug(`planted ${'jane@example.com'}`);
    const leaks = takeLeaks();
    expect(leaks.map((l) => l.kind)).toEqual(['send() text', 'metadata value']);
    expect(JSON.stringify(leaks)).not.toContain('4111'); // the report does not spread it either
    await outbox.close();
  });

  it("a custom logger's lines are watched too (teed, still delivered to it)", async () => {
    const own: string[] = [];
    const custom: Logger = {
      debug: (m) => own.push(m),
      warn: (m) => own.push(m),
      error: (m) => own.push(m),
    };
    const before = captured().lines;
    const outbox = await outboxWith(custom);
    await outbox.send({ text: TEXT });
    outbox.subscribe(() => {
      throw new Error('boom');
    });
    await outbox.send({ text: 'something else entirely' });
    expect(own).toContain('listener threw');
    expect(captured().lines).toBeGreaterThan(before);
    takeLeaks();
    await outbox.close();
  });

  it('an OutboxError created anywhere, with a secret in its message, details or cause chain, is reported', async () => {
    const outbox = await outboxWith();
    await outbox.send({ text: TEXT });
    const inMessage = new OutboxError('unknown', `failed: ${TEXT}`);
    const inDetails: OutboxError = new OutboxError('unknown', 'failed', {
      details: { body: TEXT },
    });
    const inCause = new OutboxError('unknown', 'failed', {
      cause: new TypeError('wrapped', { cause: new Error(`deep ${TEXT}`) }),
    });
    expect(isOutboxError(inMessage) && isOutboxError(inDetails)).toBe(true);
    expect(inCause).toBeInstanceOf(OutboxError);
    expect(takeLeaks().map((l) => l.where.split(':')[0])).toEqual([
      'OutboxError 1',
      'OutboxError 2',
      'OutboxError 3',
    ]);
    await outbox.close();
  });

  it("a cause without a prototype (vitest serializes a failed test's cause so) is read, not a TypeError", async () => {
    const outbox = await outboxWith();
    await outbox.send({ text: TEXT });
    const bare = Object.assign(Object.create(null) as object, {
      message: `deep ${TEXT}`,
      code: 'x',
    });
    new OutboxError('storage-failed', 'failed', { cause: bare });
    expect(takeLeaks().map((l) => l.where.split(':')[0])).toEqual(['OutboxError 1']);
    await outbox.close();
  });

  it("the simulator's access tokens and the client secret are secrets", async () => {
    const sim = await startSimulator();
    try {
      const tokens = clientCredentials({
        loginUrl: sim.url,
        clientId: 'sim-client',
        clientSecret: 'sim-secret',
      });
      const token = await tokens.getToken();
      expect(takeLeaks()).toEqual([]);
      silentLogger.debug(`token ${token}`);
      silentLogger.debug('secret sim-secret');
      expect(
        takeLeaks()
          .map((l) => l.kind)
          .sort(),
      ).toEqual(['client secret', 'token']);
    } finally {
      await sim.close();
    }
  });

  it('short texts and single lowercase words are not secrets (they collide with ids and words)', async () => {
    const outbox = await outboxWith();
    await outbox.send({ text: 'sent' });
    await outbox.send({ text: 'secret' });
    silentLogger.debug('entry sent, the client secret stays in memory');
    expect(takeLeaks()).toEqual([]);
    await outbox.close();
  });
});
