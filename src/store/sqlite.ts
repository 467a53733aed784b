// Node only (exported from `genesys-webmessaging-outbox/node`). `better-sqlite3` is an optional
// peer dependency imported lazily when the store first opens, so this module loads without it;
// without it, the first operation rejects with `missing-dependency` naming what to install.
import { readOptions } from '../internal/options.js';
import type BetterSqlite3 from 'better-sqlite3';
import { OutboxError, isOutboxError } from '../errors/OutboxError.js';
import { copyEntry } from '../outbox/entry.js';
import type { NewEntry, StoredEntry } from '../outbox/entry.js';
import { claimable } from './OutboxStore.js';
import type { OutboxStore, TranscriptRecord } from './OutboxStore.js';
import { invalidEntry } from './validate.js';
import type { Clock } from '../internal/clock.js';
import { storeLeaseCoordinator } from '../coordination/storeLease.js';
import type { StoreLease } from '../coordination/storeLease.js';
import { importOptionalPeer } from '../internal/optionalPeer.js';

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file; created if missing (its directory must exist). */
  path: string;
  /**
   * Either a `better-sqlite3` Database constructor (the module's default export) to use instead
   * of `import('better-sqlite3')`, or an already open `better-sqlite3` Database (the store then
   * uses it as is, ignores `path` and leaves it open on `close()`).
   */
  database?: unknown;
  /**
   * `'default'`: WAL with `synchronous=NORMAL`: a commit survives a crash of the process, but the
   * last commits may be lost on a power cut or OS crash (the WAL is not fsynced on every commit;
   * the database never corrupts). `'strict'`: `synchronous=FULL`, an fsync per commit, survives
   * a power cut, slower writes.
   * @default 'default'
   */
  durability?: 'default' | 'strict';
  /**
   * One sender per file: an outbox on this store (with no `coordinator` option) sends only while
   * it holds a lease row in the file, renewed every `renewMs`; another process on the same file
   * waits as a standby and takes over `ttlMs` after the holder died, or within `renewMs` after it
   * closed; a holder whose process still runs but stopped renewing (stalled) after 10 × `ttlMs`.
   * Fenced: a holder that lost the lease cannot start an attempt or overwrite the new holder's
   * state. `false`: no lease (every process sends: only if you coordinate them yourself).
   * @default { renewMs: 1000, ttlMs: 3000 }
   */
  lease?: { renewMs?: number; ttlMs?: number } | false;
  /** Told about every unreadable entry row that was moved to the `quarantine` table. */
  onCorrupt?: (info: { key: unknown; reason: string }) => void;
  /**
   * How long one operation keeps trying while another process holds the file's lock, before it
   * rejects with `storage-busy`. The waits are timers between tries (SQLite's own `busy_timeout`
   * is 0: better-sqlite3 would wait synchronously and freeze the event loop meanwhile).
   * @default 5000
   */
  busyTimeoutMs?: number;
}

interface EntryRow {
  id: string;
  data: string;
  seq: number;
}

type Db = BetterSqlite3.Database;

const SQLITE_PEER = { name: 'better-sqlite3', range: '12', feature: 'sqliteStore' };

/** Schema migrations by `PRAGMA user_version`; each step only adds. */
const MIGRATIONS = [
  `CREATE TABLE entries (
     id TEXT PRIMARY KEY,
     conversation_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     status TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE UNIQUE INDEX entries_seq ON entries (seq);
   -- Partial: only the waiting line. status is in the key so the heads queries read the index alone.
   CREATE INDEX entries_heads ON entries (conversation_id, seq, status)
     WHERE status IN ('pending', 'sending');
   CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE transcript (
     key TEXT PRIMARY KEY,
     conversation_id TEXT NOT NULL,
     time REAL NOT NULL,
     n INTEGER NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX transcript_by_time ON transcript (conversation_id, time, n);
   CREATE TABLE quarantine (
     n INTEGER PRIMARY KEY AUTOINCREMENT,
     key TEXT, reason TEXT NOT NULL, value TEXT, at INTEGER NOT NULL
   );`,
  // v2: the sender lease (one sender per file, see storeLeaseCoordinator).
  `CREATE TABLE lease (
     name TEXT PRIMARY KEY,
     holder TEXT,
     until INTEGER NOT NULL,
     wakes INTEGER NOT NULL DEFAULT 0
   );`,
  // v3: a transcript line's place, fixed when written (design rule 13); old lines keep theirs.
  `ALTER TABLE transcript ADD COLUMN ord REAL;
   UPDATE transcript SET ord = time * 1000;
   CREATE INDEX transcript_by_order ON transcript (conversation_id, ord, time, n);`,
  // v4: fencing. epoch grows each time the lease changes hands; pid: the holder's process.
  `ALTER TABLE lease ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE lease ADD COLUMN pid INTEGER;`,
];

const QUEUED = `status IN ('pending', 'sending')`;
/**
 * The oldest queued entry of each conversation, by seeks on the partial index `entries_heads`
 * (conversation_id, seq): a recursive walk from one conversation id to the next (a "loose index
 * scan"), then the lowest seq of each. A GROUP BY would read every queued entry; this reads two
 * index entries per conversation, so recovery does not slow down as the outbox grows.
 */
const HEADS_SQL = `WITH RECURSIVE convs(c) AS (
    SELECT MIN(conversation_id) FROM entries WHERE ${QUEUED}
    UNION ALL
    SELECT (SELECT MIN(conversation_id) FROM entries WHERE ${QUEUED} AND conversation_id > convs.c)
    FROM convs WHERE convs.c IS NOT NULL
  )
  SELECT e.id, e.data, e.seq FROM convs JOIN entries e ON e.seq = (
    SELECT MIN(seq) FROM entries WHERE ${QUEUED} AND conversation_id = convs.c
  ) ORDER BY e.seq LIMIT ?`;

const HEAD_OF_SQL = `SELECT id, data, seq FROM entries WHERE ${QUEUED} AND conversation_id = ?
  ORDER BY seq LIMIT 1`;

/**
 * A lease holder whose process still runs (on this machine: WAL needs one host) but stopped
 * renewing is taken over after this many `ttlMs`, a dead one after one `ttlMs`.
 */
const STALLED_HOLDER_FACTOR = 10;

/**
 * Whether process `pid` runs on this machine. Only ever used to wait longer before a takeover:
 * a pid from another PID namespace (a container) reads as not running, which is the plain ttl.
 */
function processRuns(pid: number | null): boolean {
  if (pid === null || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return codeOf(e) === 'EPERM'; // it exists, it is someone else's
  }
}

/** SQLite reads a negative LIMIT as "no limit"; the other stores read it as 0. */
/**
 * How often a process that follows the file (`follow`: a standby with waiters or subscribers)
 * reads `PRAGMA data_version`, which changes when another connection committed. One pragma read,
 * no lock; nothing at all while nobody follows.
 */
const FOLLOW_MS = 100;

const sqlLimit = (limit: number | undefined): number =>
  limit === undefined ? -1 : Math.max(0, Math.floor(limit));

function codeOf(e: unknown): unknown {
  return typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
}

/** Another connection holds the lock (`SQLITE_BUSY`, `SQLITE_BUSY_RECOVERY`, …): try again later. */
const isBusy = (e: unknown): boolean => {
  const code = codeOf(e);
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
};

/** The wait before try `n + 1` while the file is locked: 2, 4, 8 … ms, at most 100 ms. */
const busyDelay = (n: number): number => Math.min(100, 2 ** (n + 1));

function storageError(e: unknown): OutboxError {
  if (isOutboxError(e)) return e;
  const code = codeOf(e);
  if (code === 'SQLITE_FULL') {
    return new OutboxError('storage-full', 'SQLite: database or disk is full', { cause: e });
  }
  // The reason in the message too ("the directory does not exist", "file is not a database"):
  // SQLite's own words name no user data.
  const reason = typeof code === 'string' ? code : '';
  const detail = e instanceof Error ? e.message.slice(0, 120) : '';
  return new OutboxError(
    'storage-failed',
    `SQLite operation failed${[reason, detail]
      .filter(Boolean)
      .map((x) => `: ${x}`)
      .join('')}`,
    { cause: e },
  );
}

/** `busyTimeoutMs` and `lease` are checked at construction: `invalid-options`. */
function checkTimingOptions(options: SqliteStoreOptions): void {
  const o = (typeof options === 'object' && options !== null ? options : {}) as {
    busyTimeoutMs?: unknown;
    lease?: unknown;
  };
  const bad = (what: string, v: unknown) =>
    new OutboxError('invalid-options', `sqliteStore: ${what}: ${String(v)}`);
  const ms = (v: unknown, min: number) => typeof v === 'number' && Number.isFinite(v) && v >= min;
  if (o.busyTimeoutMs !== undefined && !ms(o.busyTimeoutMs, 0)) {
    throw bad('busyTimeoutMs must be a finite number >= 0', o.busyTimeoutMs);
  }
  if (o.lease === undefined || o.lease === false) return;
  if (typeof o.lease !== 'object' || o.lease === null)
    throw bad('lease must be an object or false', o.lease);
  const { renewMs = 1000, ttlMs = 3000 } = o.lease as { renewMs?: unknown; ttlMs?: unknown };
  if (!ms(renewMs, 1)) throw bad('lease.renewMs must be a finite number >= 1', renewMs);
  if (!ms(ttlMs, 1) || (ttlMs as number) <= (renewMs as number)) {
    throw bad('lease.ttlMs must be a finite number above lease.renewMs', ttlMs);
  }
}

/**
 * The durable Node store: one SQLite file through `better-sqlite3`, WAL mode. `heads()` is one
 * query over a partial index of pending/sending entries. Meta values and entries are stored as
 * JSON, so they must be JSON-serialisable.
 *
 * @example
 * import { sqliteStore } from 'genesys-webmessaging-outbox/node';
 * const outbox = await createOutbox({ transport, store: sqliteStore({ path: './outbox.db' }) });
 */
export function sqliteStore(input: SqliteStoreOptions): OutboxStore {
  if (typeof input !== 'object' || input === null) {
    throw new OutboxError('invalid-options', 'sqliteStore({ path }) required');
  }
  const options = readOptions(
    'sqliteStore',
    input,
    'path database durability lease onCorrupt busyTimeoutMs',
  );
  const { path, database } = options;
  // '' and ':memory:' open a database that vanishes with the process: not a durable outbox.
  if (
    !(typeof database === 'object' && database !== null) &&
    (typeof path !== 'string' || path.trim() === '' || /:memory:|mode=memory/.test(path))
  ) {
    throw new OutboxError(
      'invalid-options',
      'sqliteStore: path must name a file (not durable: use memoryStore() instead)',
    );
  }
  checkTimingOptions(options);
  let db: Db | undefined;
  let opening: Promise<Db> | undefined;
  let closed = false;
  const ownsDb = !(typeof options.database === 'object' && options.database !== null);

  const openDb = async (): Promise<Db> => {
    let database: Db;
    if (!ownsDb) {
      database = options.database as Db;
    } else {
      const Ctor = (
        typeof options.database === 'function'
          ? options.database
          : (await importOptionalPeer(SQLITE_PEER, () => import('better-sqlite3'))).default
      ) as typeof BetterSqlite3;
      database = new Ctor(options.path);
    }
    try {
      database.pragma('journal_mode = WAL');
      database.pragma(`synchronous = ${options.durability === 'strict' ? 'FULL' : 'NORMAL'}`);
      // Never wait inside SQLite: its busy handler sleeps synchronously (the whole process
      // froze ~5 s per operation while another process held the lock). `run` retries on timers.
      database.pragma('busy_timeout = 0');
      database
        .transaction(() => {
          const version = database.pragma('user_version', { simple: true }) as number;
          for (let v = version; v < MIGRATIONS.length; v++) database.exec(MIGRATIONS[v] as string);
          if (version < MIGRATIONS.length) database.pragma(`user_version = ${MIGRATIONS.length}`);
        })
        .immediate();
    } catch (e: unknown) {
      if (ownsDb) database.close();
      throw e;
    }
    return database;
  };

  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;

  /** The open database (opened on first use, once, shared by the calls made meanwhile). */
  const connect = async (): Promise<Db> => {
    if (db) return db;
    // `opening` is cleared only on failure (the next call tries again): a call made after the
    // open succeeded but before an earlier caller's continuation set `db` must await the same
    // connection, not open a second one (two connections in one store locked each other out:
    // SQLITE_BUSY, seen by the order property test).
    if (opening === undefined) {
      const p = openDb();
      opening = p;
      p.catch(() => {
        if (opening === p) opening = undefined;
      });
    }
    const opened = await opening;
    if (closed) {
      if (ownsDb) opened.close();
      throw new OutboxError('closed', 'The store is closed');
    }
    db = opened;
    return opened;
  };

  /**
   * Runs `fn` on the open database, mapping every failure to an OutboxError. While another
   * process holds the lock (`SQLITE_BUSY`), tries again after a short timer, for up to
   * `busyTimeoutMs`, then rejects with `storage-busy`: the event loop keeps running meanwhile.
   * Retrying is safe: every `fn` is one statement or one transaction, and a busy one committed
   * nothing.
   */
  const run = async <T>(fn: (db: Db) => T): Promise<T> => {
    const started = Date.now();
    for (let n = 0; ; n++) {
      if (closed) throw new OutboxError('closed', 'The store is closed');
      try {
        return fn(await connect());
      } catch (e: unknown) {
        if (!isBusy(e)) throw storageError(e);
        const wait = busyDelay(n);
        if (Date.now() - started + wait > busyTimeoutMs) {
          throw new OutboxError(
            'storage-busy',
            `SQLite: the database stayed locked by another connection for ${busyTimeoutMs} ms`,
            { cause: e },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };

  /**
   * Prepared statements by SQL text: preparing is most of a small query's cost. One store has one
   * database for its whole life (`close` is final), so one cache.
   */
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prep = (d: Db, sql: string): BetterSqlite3.Statement => {
    let stmt = statements.get(sql);
    if (stmt === undefined) statements.set(sql, (stmt = d.prepare(sql)));
    return stmt;
  };

  const nextCounter = (d: Db, name: string, by: number): number => {
    const row = prep(d, 'SELECT value FROM counters WHERE name = ?').get(name) as
      { value: number } | undefined;
    const value = (row?.value ?? 0) + by;
    prep(
      d,
      'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
    ).run(name, value);
    return value;
  };

  /** Upserts transcript records (inside the caller's transaction). */
  const writeTranscript = (d: Db, records: readonly TranscriptRecord[]): void => {
    const find = prep(d, 'SELECT n, ord FROM transcript WHERE key = ?');
    const upsert = prep(
      d,
      `INSERT INTO transcript (key, conversation_id, time, n, ord, data) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET conversation_id = excluded.conversation_id,
         time = excluded.time, data = excluded.data`,
    );
    for (const r of records) {
      // A replaced record keeps its order and insertion number (the upsert leaves ord and n
      // alone): a line never moves (design rule 13).
      const old = find.get(r.key) as { n: number; ord: number | null } | undefined;
      const n = old?.n ?? nextCounter(d, 'transcript', 1);
      const ord = old?.ord ?? (typeof r.order === 'number' ? r.order : r.time * 1000);
      upsert.run(r.key, r.conversationId, r.time, n, ord, JSON.stringify({ ...r, order: ord }));
    }
  };

  const toRow = (e: StoredEntry) => {
    const { seq: _seq, ...rest } = e;
    return [e.id, e.conversationId, e.seq, e.status, JSON.stringify(rest)] as const;
  };
  /**
   * Parses entry rows; rows that are not usable entries are moved to `quarantine` (and reported)
   * instead of being returned. `moved` tells callers whose answer depends on which rows exist
   * (heads) to ask again.
   */
  const readRows = (d: Db, rows: EntryRow[]): { entries: StoredEntry[]; moved: boolean } => {
    const entries: StoredEntry[] = [];
    const bad: { key: string; reason: string; value: string }[] = [];
    for (const row of rows) {
      let entry: unknown;
      try {
        entry = { ...(JSON.parse(row.data) as object), seq: row.seq };
      } catch {
        entry = undefined;
      }
      const reason = entry === undefined ? 'unreadable JSON' : invalidEntry(entry);
      if (reason === undefined) entries.push(entry as StoredEntry);
      else bad.push({ key: row.id, reason, value: row.data });
    }
    if (bad.length > 0) {
      d.transaction(() => {
        const move = prep(d, 'INSERT INTO quarantine (key, reason, value, at) VALUES (?, ?, ?, ?)');
        const del = prep(d, 'DELETE FROM entries WHERE id = ?');
        for (const b of bad) {
          move.run(b.key, b.reason, b.value, Date.now());
          del.run(b.key);
        }
      }).immediate();
      for (const b of bad) {
        try {
          options.onCorrupt?.({ key: b.key, reason: b.reason });
        } catch {
          // a throwing callback must not break the store
        }
      }
    }
    return { entries, moved: bad.length > 0 };
  };
  const fromTranscript = (row: { data: string; ord?: number | null }): TranscriptRecord => {
    const r = JSON.parse(row.data) as TranscriptRecord;
    if (typeof row.ord === 'number') r.order = row.ord;
    return r;
  };

  /** `follow`: the listeners, the data_version last read, the timer of the next read. */
  const followers = new Set<() => void>();
  let dataVersion: number | undefined;
  let followTimer: ReturnType<typeof setTimeout> | undefined;
  const readDataVersion = (): number | undefined => {
    try {
      return db && !closed ? (db.pragma('data_version', { simple: true }) as number) : undefined;
    } catch {
      return undefined; // unreadable now: the next read sets the baseline
    }
  };
  const armFollow = (): void => {
    if (followTimer !== undefined || closed || followers.size === 0) return;
    followTimer = setTimeout(() => {
      followTimer = undefined;
      if (followers.size === 0) return;
      const v = readDataVersion();
      const changed = v !== undefined && dataVersion !== undefined && v !== dataVersion;
      if (v !== undefined) dataVersion = v;
      if (changed) {
        for (const f of [...followers]) {
          try {
            f();
          } catch {
            // a throwing listener must not stop the others, nor the timer
          }
        }
      }
      armFollow();
    }, FOLLOW_MS);
    // Never keeps a process alive by itself: whoever waits holds it (DESIGN rule 12).
    (followTimer as { unref?: () => void }).unref?.();
  };

  const leaseOptions = options.lease ?? {};
  /**
   * Fencing: once this store's lease coordinator runs, the lease epoch this instance holds
   * (`undefined`: it does not hold the lease). The dispatcher's writes (`update` with `sender`)
   * are refused unless the row still names this holder at this epoch, checked in the write's
   * own transaction.
   */
  let fence: { holder: string; epoch: number } | undefined;
  let fenced = false;
  const stallFactor = STALLED_HOLDER_FACTOR;
  const ttlMs = (leaseOptions === false ? undefined : leaseOptions.ttlMs) ?? 3000;
  /** The sender lease: the row `sender` of table `lease`. */
  const lease: StoreLease = {
    acquire: (holder, until, now) =>
      run((d) =>
        d
          .transaction(() => {
            const row = prep(
              d,
              `SELECT holder, until, wakes, epoch, pid FROM lease WHERE name = 'sender'`,
            ).get() as
              | {
                  holder: string | null;
                  until: number;
                  wakes: number;
                  epoch: number;
                  pid: number | null;
                }
              | undefined;
            const mine = row?.holder === holder;
            let held = false;
            if (until === 0) {
              if (mine)
                prep(d, `UPDATE lease SET holder = NULL, until = 0 WHERE name = 'sender'`).run();
            } else if (
              row === undefined ||
              mine ||
              row.holder === null ||
              (row.until < now &&
                // A holder whose process still runs here but stopped renewing is stalled (a
                // blocked event loop, SIGSTOP), not dead: taking over now would repeat its
                // in-flight attempts while it may still record their answers. It gets
                // STALLED_HOLDER_FACTOR × ttlMs; a dead one (no such process) just ttlMs.
                (!processRuns(row.pid) || row.until + (stallFactor - 1) * ttlMs < now))
            ) {
              const epoch = mine ? row.epoch : (row?.epoch ?? 0) + 1;
              prep(
                d,
                `INSERT INTO lease (name, holder, until, epoch, pid) VALUES ('sender', ?, ?, ?, ?)
                 ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until,
                   epoch = excluded.epoch, pid = excluded.pid`,
              ).run(holder, until, epoch, process.pid);
              held = true;
              fence = { holder, epoch };
            }
            if (!held) fence = undefined;
            return { held, wakes: row?.wakes ?? 0 };
          })
          .immediate(),
      ),
    wake: async () => {
      await run((d) =>
        prep(
          d,
          `INSERT INTO lease (name, holder, until, wakes) VALUES ('sender', NULL, 0, 1)
           ON CONFLICT(name) DO UPDATE SET wakes = wakes + 1`,
        ).run(),
      );
    },
  };

  /** Inside a write's transaction: throws `lease-lost` when this instance no longer holds the lease. */
  const checkFence = (d: Db): void => {
    if (!fenced) return;
    const row = prep(d, `SELECT holder, epoch FROM lease WHERE name = 'sender'`).get() as
      { holder: string | null; epoch: number } | undefined;
    if (fence === undefined || row?.holder !== fence.holder || row.epoch !== fence.epoch) {
      throw new OutboxError('lease-lost', 'SQLite: another process holds the sender lease now');
    }
  };

  const store: OutboxStore = {
    open: async () => {
      await run(() => undefined);
    },

    append: (batch: readonly NewEntry[]) =>
      run((d) => {
        if (batch.length === 0) return [];
        const insert = prep(
          d,
          'INSERT INTO entries (id, conversation_id, seq, status, data) VALUES (?, ?, ?, ?, ?)',
        );
        try {
          // One transaction for the whole batch (group commit).
          return d
            .transaction(() => {
              let seq = nextCounter(d, 'seq', batch.length) - batch.length;
              return batch.map((e) => {
                const stored: StoredEntry = { ...copyEntry(e), seq: ++seq };
                insert.run(...toRow(stored));
                return stored;
              });
            })
            .immediate();
        } catch (e: unknown) {
          if (codeOf(e) === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
            throw new OutboxError('invalid-id', 'An entry with this id is already stored', {
              cause: e,
            });
          }
          throw e;
        }
      }),

    update: (entry: StoredEntry, opts?: { requeue?: boolean; sender?: boolean }) =>
      run((d) =>
        d
          .transaction(() => {
            if (opts?.sender === true) checkFence(d);
            const old = prep(d, 'SELECT seq FROM entries WHERE id = ?').get(entry.id) as
              { seq: number } | undefined;
            if (!old) {
              throw new OutboxError('not-found', 'No entry with this id', {
                details: { id: entry.id },
              });
            }
            const seq = opts?.requeue === true ? nextCounter(d, 'seq', 1) : old.seq;
            const stored: StoredEntry = { ...copyEntry(entry), seq };
            const [id, conversationId, , status, data] = toRow(stored);
            prep(
              d,
              'UPDATE entries SET conversation_id = ?, seq = ?, status = ?, data = ? WHERE id = ?',
            ).run(conversationId, seq, status, data, id);
            return stored;
          })
          .immediate(),
      ),

    remove: async (id: string) => {
      await run((d) => prep(d, 'DELETE FROM entries WHERE id = ?').run(id));
    },

    get: (id: string) =>
      run((d) => {
        const row = prep(d, 'SELECT id, data, seq FROM entries WHERE id = ?').get(id) as
          EntryRow | undefined;
        return row && readRows(d, [row]).entries[0];
      }),

    list: () =>
      run(
        (d) =>
          readRows(d, prep(d, 'SELECT id, data, seq FROM entries ORDER BY seq').all() as EntryRow[])
            .entries,
      ),

    heads: (limit?: number) =>
      run((d) => {
        // Each round that finds a corrupt head moves it aside, so this ends.
        for (;;) {
          const read = readRows(d, prep(d, HEADS_SQL).all(sqlLimit(limit)) as EntryRow[]);
          if (!read.moved) return read.entries;
        }
      }),

    headOf: (conversationId: string) =>
      run((d) => {
        // One seek on the partial index entries_heads (conversation_id, seq).
        for (;;) {
          const read = readRows(d, prep(d, HEAD_OF_SQL).all(conversationId) as EntryRow[]);
          if (!read.moved) return read.entries[0];
        }
      }),

    count: () =>
      run((d) => (prep(d, 'SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n),

    getMeta: (key: string) =>
      run((d) => {
        const row = prep(d, 'SELECT value FROM meta WHERE key = ?').get(key) as
          { value: string } | undefined;
        return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
      }),

    setMeta: async (key: string, value: unknown) => {
      await run((d) =>
        value === undefined
          ? prep(d, 'DELETE FROM meta WHERE key = ?').run(key)
          : prep(
              d,
              'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
            ).run(key, JSON.stringify(value)),
      );
    },

    setMetaIfAbsent: (key: string, value: unknown) =>
      run((d) =>
        d
          .transaction(() => {
            if (value !== undefined) {
              prep(
                d,
                'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING',
              ).run(key, JSON.stringify(value));
            }
            const row = prep(d, 'SELECT value FROM meta WHERE key = ?').get(key) as
              { value: string } | undefined;
            return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
          })
          .immediate(),
      ),

    putTranscript: async (records: readonly TranscriptRecord[]) => {
      await run((d) => d.transaction(() => writeTranscript(d, records)).immediate());
    },

    removeDelivered: async (id: string, records: readonly TranscriptRecord[]) => {
      await run((d) =>
        d
          .transaction(() => {
            writeTranscript(d, records);
            prep(d, 'DELETE FROM entries WHERE id = ?').run(id);
          })
          .immediate(),
      );
    },

    listTranscript: (conversationId: string, limit?: number) =>
      run((d) =>
        (
          prep(
            d,
            `SELECT data, ord FROM (SELECT data, ord, time, n FROM transcript WHERE conversation_id = ?
                 ORDER BY ord DESC, time DESC, n DESC LIMIT ?) ORDER BY ord, time, n`,
          ).all(conversationId, sqlLimit(limit)) as { data: string; ord: number | null }[]
        ).map(fromTranscript),
      ),

    getTranscript: (key: string) =>
      run((d) => {
        const row = prep(d, 'SELECT data, ord FROM transcript WHERE key = ?').get(key) as
          { data: string; ord: number | null } | undefined;
        return row && fromTranscript(row);
      }),

    claimTranscript: (record: TranscriptRecord, staleBefore: number) =>
      // BEGIN IMMEDIATE takes the file's write lock first: another process's claim of the same
      // key waits for this commit and then finds the line.
      run((d) =>
        d
          .transaction(() => {
            const row = prep(d, 'SELECT data, ord FROM transcript WHERE key = ?').get(
              record.key,
            ) as { data: string; ord: number | null } | undefined;
            if (!claimable(row && fromTranscript(row), staleBefore)) return false;
            writeTranscript(d, [record]);
            return true;
          })
          .immediate(),
      ),

    sweep: async () => ({
      scanTranscript: (after: string | undefined, limit: number) =>
        run((d) =>
          (
            prep(d, 'SELECT data, ord FROM transcript WHERE key > ? ORDER BY key LIMIT ?').all(
              after ?? '',
              Math.max(0, limit),
            ) as { data: string; ord: number | null }[]
          ).map(fromTranscript),
        ),

      replaceTranscriptText: async (
        changes: readonly { key: string; from: string; to: string }[],
      ) => {
        await run((d) =>
          d
            .transaction(() => {
              const read = prep(d, 'SELECT data FROM transcript WHERE key = ?');
              const write = prep(d, 'UPDATE transcript SET data = ? WHERE key = ?');
              for (const c of changes) {
                const row = read.get(c.key) as { data: string } | undefined;
                if (row === undefined) continue;
                const line = JSON.parse(row.data) as TranscriptRecord;
                if (line.text === c.from) write.run(JSON.stringify({ ...line, text: c.to }), c.key);
              }
            })
            .immediate(),
        );
      },

      metaKeys: () =>
        run((d) =>
          (prep(d, 'SELECT key FROM meta ORDER BY key').all() as { key: string }[]).map(
            (r) => r.key,
          ),
        ),

      sealQuarantine: async (
        seal: (n: number, value: string) => string | undefined | Promise<string | undefined>,
      ) => {
        const rows = await run(
          (d) =>
            prep(d, 'SELECT n, value FROM quarantine WHERE value IS NOT NULL ORDER BY n').all() as {
              n: number;
              value: string;
            }[],
        );
        const changes: { n: number; from: string; to: string }[] = [];
        for (const r of rows) {
          const to = await seal(r.n, r.value);
          if (to !== undefined) changes.push({ n: r.n, from: r.value, to });
        }
        if (changes.length === 0) return;
        await run((d) =>
          d
            .transaction(() => {
              const write = prep(d, 'UPDATE quarantine SET value = ? WHERE n = ? AND value = ?');
              for (const c of changes) write.run(c.to, c.n, c.from);
            })
            .immediate(),
        );
      },

      compact: async () => {
        await run((d) => {
          // Replaced rows stay in free pages and in the WAL until these rewrite them.
          d.exec('VACUUM');
          d.pragma('wal_checkpoint(TRUNCATE)');
        });
      },
    }),

    pruneTranscript: async (conversationId: string, keep: number) => {
      await run((d) =>
        prep(
          d,
          `DELETE FROM transcript WHERE conversation_id = ? AND key NOT IN (
               SELECT key FROM transcript WHERE conversation_id = ? ORDER BY ord DESC, time DESC, n DESC LIMIT ?)`,
        ).run(conversationId, conversationId, Math.max(0, keep)),
      );
    },

    wipe: async () => {
      await run((d) => {
        d.transaction(() => {
          for (const t of ['entries', 'transcript', 'meta', 'quarantine', 'counters'])
            d.prepare(`DELETE FROM ${t}`).run();
        })();
        // Deleted rows stay in free pages and in the WAL until these rewrite them.
        d.exec('VACUUM');
        d.pragma('wal_checkpoint(TRUNCATE)');
      });
      await store.close();
    },

    follow: (listener: () => void) => {
      followers.add(listener);
      // The baseline now, so that a commit right after this call is not missed.
      if (dataVersion === undefined) dataVersion = readDataVersion();
      armFollow();
      return () => {
        followers.delete(listener);
        if (followers.size > 0) return;
        clearTimeout(followTimer);
        followTimer = undefined;
        dataVersion = undefined;
      };
    },

    ...(leaseOptions === false
      ? {}
      : {
          coordinator: ({ clock }: { clock: Clock }) => {
            fenced = true;
            return storeLeaseCoordinator(lease, { ...leaseOptions, clock });
          },
        }),

    close: async () => {
      if (closed) return;
      closed = true;
      clearTimeout(followTimer);
      followers.clear();
      const d = db;
      db = undefined;
      if (d && ownsDb) d.close();
    },
  };
  return store;
}

/** The query `heads()` runs; exported for the test that checks it uses the partial index. */
export const SQLITE_HEADS_SQL = HEADS_SQL;
