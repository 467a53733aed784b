import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../../simulator/index.js';
import type { Simulator } from '../../simulator/index.js';
import type { Outbox } from '../../src/outbox/createOutbox.js';
import type { OutboxEntry } from '../../src/outbox/entry.js';
import { memoryStore } from '../../src/store/memory.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { waitFor } from '../helpers/waitFor.js';
import { tutorialOutbox } from '../helpers/tutorialOutbox.js';

let sim: Simulator;
let dir: string;

beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'outbox-it-'));
});
afterEach(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(store: OutboxStore): Promise<Outbox> {
  // maxAttempts high: an outage must never use up the attempt budget of a message.
  return tutorialOutbox(sim, {
    store,
    retry: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 100 },
  });
}

/** 50 messages over 3 conversations, interleaved. */
function plan(n = 50): { text: string; conversationId: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    text: `message ${i}`,
    conversationId: `conv-${i % 3}`,
  }));
}

function assertExactlyOnceInOrder(sent: OutboxEntry[]): void {
  const delivered = sim.control.delivered().filter((d) => d.kind === 'tutorial');
  // exactly once, by externalId
  expect(delivered.filter((d) => d.duplicate)).toEqual([]);
  expect(delivered.map((d) => d.externalId).sort()).toEqual(sent.map((e) => e.id).sort());
  // in order per conversation
  for (const c of ['conv-0', 'conv-1', 'conv-2']) {
    expect(delivered.filter((d) => d.conversationId === c).map((d) => d.externalId)).toEqual(
      sent.filter((e) => e.conversationId === c).map((e) => e.id),
    );
  }
}

describe('an outage, then recovery', () => {
  it('delivers 50 messages in 3 conversations exactly once and in order per conversation', async () => {
    await sim.control.outage('refuse');
    const outbox = await open(memoryStore());
    const sent: OutboxEntry[] = [];
    for (const m of plan()) sent.push(await outbox.send({ ...m, metadata: { guestId: 'g-1' } }));
    // During the outage every message is kept and none reached the server.
    await waitFor(async () => (await outbox.list()).some((e) => e.lastError?.code === 'network'));
    expect(sim.control.delivered()).toEqual([]);
    expect(await outbox.list()).toHaveLength(50);

    await sim.control.outage(false);
    await Promise.all(sent.map((e) => outbox.whenSettled(e.id)));
    assertExactlyOnceInOrder(sent);
    expect(await outbox.list()).toEqual([]);
    await outbox.close();
  });

  it('survives a restart (close + reopen on the same SQLite file) in the middle of the outage', async () => {
    await sim.control.outage('reset');
    const path = join(dir, 'outbox.sqlite');
    const first = await open(sqliteStore({ path }));
    const sent: OutboxEntry[] = [];
    const messages = plan();
    for (const m of messages.slice(0, 25))
      sent.push(await first.send({ ...m, metadata: { guestId: 'g-1' } }));
    await waitFor(async () => (await first.list()).some((e) => e.attempts > 0 || e.lastError));
    await first.close();

    const second = await open(sqliteStore({ path }));
    for (const m of messages.slice(25))
      sent.push(await second.send({ ...m, metadata: { guestId: 'g-1' } }));
    expect((await second.list()).map((e) => e.id)).toEqual(sent.map((e) => e.id));
    await sim.control.outage(false);
    await Promise.all(sent.map((e) => second.whenSettled(e.id)));
    assertExactlyOnceInOrder(sent);
    await second.close();
  });

  it('does not duplicate when the server committed and the connection dropped before answering', async () => {
    sim.control.commitThenDrop(3);
    const outbox = await open(memoryStore());
    const sent: OutboxEntry[] = [];
    for (const m of plan(9)) sent.push(await outbox.send({ ...m, metadata: { guestId: 'g-1' } }));
    const settled = await Promise.all(sent.map((e) => outbox.whenSettled(e.id)));
    expect(settled.map((e) => e.status)).toEqual(Array(9).fill('sent'));
    assertExactlyOnceInOrder(sent);
    await outbox.close();
  });
});
