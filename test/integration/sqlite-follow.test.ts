// A SQLite standby (the outbox on a shared file that does not hold the sender lease) learns what
// the holder did by reading `PRAGMA data_version` on a timer, but only while something in it
// waits (whenSettled) or listens (subscribe): an idle standby reads nothing (DESIGN rule 6).
// The two-process behaviour itself: sqlite-processes.test.ts.
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import type { OutboxEvent } from '../../src/outbox/events.js';
import { silentLogger } from '../../src/internal/logger.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { httpTransport } from '../../src/transport/http.js';
import { waitFor } from '../helpers/waitFor.js';

let dir: string;
const outboxes: Outbox[] = [];
const databases: Database.Database[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outbox-follow-'));
});
afterEach(async () => {
  for (const o of outboxes.splice(0)) await o.close();
  for (const d of databases.splice(0)) d.close();
  await rm(dir, { recursive: true, force: true });
});

const open = async (store: ReturnType<typeof sqliteStore>): Promise<Outbox> => {
  const o = await createOutbox({
    // Port 9 (discard) on loopback: refused; every attempt fails and is rescheduled.
    transport: httpTransport({ url: 'http://127.0.0.1:9/messages', timeoutMs: 1000 }),
    store,
    retry: { baseDelayMs: 50, maxDelayMs: 200 },
    logger: silentLogger,
  });
  outboxes.push(o);
  return o;
};

it('a standby reads data_version only while something listens; then it hears the holder', async () => {
  const path = join(dir, 'outbox.db');
  const holder = await open(sqliteStore({ path }));
  const db = new Database(path);
  databases.push(db);
  let reads = 0;
  const pragma = db.pragma.bind(db);
  db.pragma = ((source: string, options?: { simple?: boolean }) => {
    if (source.trim() === 'data_version') reads++;
    return pragma(source, options);
  }) as typeof db.pragma;
  const standby = await open(sqliteStore({ path, database: db }));

  // Idle: nobody waits or listens in the standby.
  await new Promise((r) => setTimeout(r, 500));
  expect(reads).toBe(0);

  const heard: OutboxEvent[] = [];
  const unsubscribe = standby.subscribe((e) => heard.push(e));
  const e = await holder.send({ text: 'from the holder' });
  // The holder's attempts fail (refused) and are rescheduled: the standby hears them.
  await waitFor(
    () =>
      heard.some(
        (h) => h.type === 'status' && h.entry.id === e.id && h.entry.lastError !== undefined,
      ),
    { timeoutMs: 20_000, what: "the holder's attempt, heard by the standby" },
  );
  expect(reads).toBeGreaterThan(0);

  unsubscribe();
  const after = reads;
  await new Promise((r) => setTimeout(r, 500));
  expect(reads).toBe(after);
  await holder.discard(e.id);
});
