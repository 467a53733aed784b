import { describe, expect, it } from 'vitest';
import { OfflineMessageQueue } from '../../src/outbox/OfflineMessageQueue.js';
import { memoryStore } from '../../src/store/memory.js';
import { silentLogger } from '../../src/internal/logger.js';
import { rejectionCode } from '../helpers/errorCode.js';

function queue(): OfflineMessageQueue {
  return new OfflineMessageQueue({
    getAccessToken: () => 'token',
    apiBaseUrl: 'http://127.0.0.1:9', // never reached: nothing valid is enqueued here
    store: memoryStore(),
    migrateTutorialData: false,
    outbox: { coordinator: false, logger: silentLogger },
  });
}

describe('OfflineMessageQueue: bad configuration', () => {
  it.each([
    [{}, 'invalid-options'],
    [{ clientId: 'only-id' }, 'invalid-options'],
    [{ region: 'moon_1', clientId: 'a', clientSecret: 'b' }, 'unknown-region'],
  ])('%j → %s', async (config, expected) => {
    expect(await rejectionCode(() => new OfflineMessageQueue(config))).toBe(expected);
  });

  it('posts to the tutorial path under apiBaseUrl', async () => {
    const urls: string[] = [];
    const q = new OfflineMessageQueue({
      getAccessToken: () => 't',
      apiBaseUrl: 'https://relay.example/',
      fetch: async (input) => {
        urls.push(String(input));
        return Response.json({});
      },
      store: memoryStore(),
      migrateTutorialData: false,
      outbox: { coordinator: false, logger: silentLogger },
    });
    await q.initialize();
    await q.outbox.whenSettled(await q.enqueueMessage('g', 'c', 'hi'));
    expect(urls).toEqual(['https://relay.example/api/v2/conversations/messaging/messages']);
    await q.close();
  });
});

describe('OfflineMessageQueue: bad input stores nothing', () => {
  it('rejects use before initialize()', async () => {
    expect(await rejectionCode(() => queue().enqueueMessage('g', 'c', 'x'))).toBe('invalid-state');
  });

  it.each([
    [['', 'c', 'x'], 'invalid-metadata'],
    [[7, 'c', 'x'], 'invalid-metadata'],
    [['g', '', 'x'], 'invalid-conversation-id'],
    [['g', undefined, 'x'], 'invalid-conversation-id'],
    [['g', 'c', ''], 'invalid-text'],
    [['g', 'c', '  '], 'invalid-text'],
    [['g', 'c', 42], 'invalid-text'],
    [['g', 'c', 'x'.repeat(4001)], 'text-too-long'],
  ])('enqueueMessage(%j) → %s', async (args, expected) => {
    const q = queue();
    await q.initialize();
    const [g, c, t] = args as [string, string, string];
    expect(await rejectionCode(() => q.enqueueMessage(g, c, t))).toBe(expected);
    expect(await q.outbox.list()).toEqual([]);
    await q.close();
  });
});
