import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteStore, SQLITE_HEADS_SQL } from '../../src/store/sqlite.js';
import { codeOf, newEntry } from './store-contract.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outbox-sqlite-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sqliteStore', () => {
  it('WAL with synchronous=NORMAL by default, FULL with durability strict', async () => {
    const path = join(dir, 'a.db');
    const db = new Database(path);
    const store = sqliteStore({ path, database: db });
    await store.open();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    await store.close();
    expect(db.open).toBe(true); // a database handed in is left open
    const strict = sqliteStore({ path, database: db, durability: 'strict' });
    await strict.open();
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    await strict.close();
    db.close();
  });

  it('heads() is one query that only seeks (never scans) the entries', async () => {
    const path = join(dir, 'b.db');
    const store = sqliteStore({ path });
    await store.open();
    await store.close();
    const db = new Database(path);
    const plan = (
      db.prepare(`EXPLAIN QUERY PLAN ${SQLITE_HEADS_SQL}`).all(-1) as { detail: string }[]
    ).map((r) => r.detail);
    db.close();
    // Loose index scan: from one conversation to the next, then its lowest seq, all by index.
    expect(plan).toContain('SEARCH entries USING COVERING INDEX entries_heads (conversation_id>?)');
    expect(plan).toContain('SEARCH entries USING COVERING INDEX entries_heads (conversation_id=?)');
    expect(plan.filter((d) => /\b(entries|e)\b/.test(d) && d.startsWith('SCAN'))).toEqual([]);
  });

  it('SQLITE_FULL surfaces as storage-full; nothing of the batch is stored', async () => {
    const path = join(dir, 'c.db');
    const db = new Database(path);
    const store = sqliteStore({ path, database: db });
    await store.append([newEntry()]);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`); // the "disk" is now full
    const big = Array.from({ length: 50 }, () => newEntry({ text: 'x'.repeat(4000) }));
    expect(await codeOf(store.append(big))).toBe('storage-full');
    expect(await store.count()).toBe(1);
    db.pragma('max_page_count = 1073741823');
    const [e] = await store.append([newEntry()]);
    expect(e!.seq).toBe(2);
    await store.close();
    db.close();
  });

  it('other failures are storage-failed with the SQLite error as cause', async () => {
    const store = sqliteStore({ path: dir }); // a directory is not a database file
    const err = await store.open().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'storage-failed' });
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('SQLITE_CANTOPEN');
    // and a missing directory (better-sqlite3 checks that itself, with a TypeError)
    const missing = sqliteStore({ path: join(dir, 'missing-dir', 'd.db') });
    expect(await codeOf(missing.open())).toBe('storage-failed');
  });

  it('a Database constructor can be injected instead of importing better-sqlite3', async () => {
    const path = join(dir, 'e.db');
    let constructed = 0;
    const Ctor = function (this: unknown, p: string) {
      constructed++;
      return new Database(p);
    };
    const store = sqliteStore({ path, database: Ctor });
    await store.append([newEntry()]);
    expect(constructed).toBe(1);
    expect(await store.count()).toBe(1);
    await store.close();
  });

  it('close() during open() leaves no open handle and rejects with closed', async () => {
    const path = join(dir, 'f.db');
    const store = sqliteStore({ path });
    const opening = store.open();
    await store.close();
    expect(await codeOf(opening)).toBe('closed');
  });

  it('corrupt rows are quarantined and reported; heads and list go on without them', async () => {
    const path = join(dir, 'g.db');
    const db = new Database(path);
    const reports: unknown[] = [];
    const store = sqliteStore({ path, database: db, onCorrupt: (info) => reports.push(info) });
    const [good1, good2] = await store.append([newEntry(), newEntry({ conversationId: 'c2' })]);
    const insert = db.prepare(
      'INSERT INTO entries (id, conversation_id, seq, status, data) VALUES (?, ?, ?, ?, ?)',
    );
    insert.run('bad-json', 'c1', -2, 'pending', '{not json');
    insert.run(
      'no-text',
      'c1',
      -1,
      'pending',
      JSON.stringify({
        id: 'no-text',
        conversationId: 'c1',
        status: 'pending',
        attempts: 0,
        createdAt: 1,
      }),
    );
    expect(await store.heads()).toEqual([good1, good2]);
    expect(reports).toEqual([
      { key: 'bad-json', reason: 'unreadable JSON' },
      { key: 'no-text', reason: 'text is not a string' },
    ]);
    expect(db.prepare('SELECT key, reason FROM quarantine ORDER BY n').all()).toEqual(reports);
    insert.run('bad-2', 'c3', 99, 'failed', '[]');
    expect(await store.list()).toEqual([good1, good2]);
    expect(await store.count()).toBe(2);
    expect(reports.length).toBe(3);
    await store.close();
    db.close();
  });
});

describe('sqliteStore: schema upgrade', () => {
  it('upgrades a v2 file without losing a transcript line: each keeps its place (ord = time × 1000)', async () => {
    const path = join(dir, 'v2.db');
    const raw = new Database(path);
    // The v1 + v2 schema as released before the transcript order (only what this test reads).
    raw.exec(`CREATE TABLE entries (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL);
      CREATE UNIQUE INDEX entries_seq ON entries (seq);
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE transcript (key TEXT PRIMARY KEY, conversation_id TEXT NOT NULL,
        time REAL NOT NULL, n INTEGER NOT NULL, data TEXT NOT NULL);
      CREATE INDEX transcript_by_time ON transcript (conversation_id, time, n);
      CREATE TABLE quarantine (n INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT,
        reason TEXT NOT NULL, value TEXT, at INTEGER NOT NULL);
      CREATE TABLE lease (name TEXT PRIMARY KEY, holder TEXT, until INTEGER NOT NULL,
        wakes INTEGER NOT NULL DEFAULT 0);
      PRAGMA user_version = 2;`);
    const put = raw.prepare(
      'INSERT INTO transcript (key, conversation_id, time, n, data) VALUES (?, ?, ?, ?, ?)',
    );
    for (const [key, time, n] of [
      ['b', 20, 2],
      ['a', 10, 1],
      ['c', 20, 3],
    ] as const) {
      put.run(
        key,
        'x',
        time,
        n,
        JSON.stringify({ key, conversationId: 'x', direction: 'Inbound', text: key, time }),
      );
    }
    raw.close();
    const store = sqliteStore({ path });
    const lines = await store.listTranscript('x');
    expect(lines.map((l) => [l.key, l.order])).toEqual([
      ['a', 10_000],
      ['b', 20_000],
      ['c', 20_000],
    ]);
    await store.close();
  });
});
