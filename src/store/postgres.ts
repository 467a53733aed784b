// Node only (exported from `genesys-webmessaging-outbox/node`). `pg` (node-postgres) is an
// optional peer dependency imported lazily when the store first opens, so this module loads
// without it; without it, the first operation rejects with `missing-dependency`.
//
// Many workers, one database (DESIGN rule 11): every process that opens this store on the same
// database and schema shares one outbox. A `heads` table holds each conversation's head (its
// oldest pending/sending entry), kept up to date by every write in the same transaction; a worker
// claims due heads with `FOR UPDATE SKIP LOCKED` and holds each with a lease (renewed while its
// attempt runs). A claimed head is due again when its lease runs out, so a dead worker's heads
// are taken over by the others. A new entry NOTIFYs the other workers; an idle worker runs no
// query. See docs/postgres.md.
import { readOptions } from '../internal/options.js';
import { randomUUID } from 'node:crypto';
import type * as Pg from 'pg';
import { OutboxError, isOutboxError } from '../errors/OutboxError.js';
import { copyEntry } from '../outbox/entry.js';
import type { NewEntry, StoredEntry } from '../outbox/entry.js';
import { importOptionalPeer } from '../internal/optionalPeer.js';
import type { ClaimOptions, ClaimResult, OutboxStore, TranscriptRecord } from './OutboxStore.js';

/**
 * A node-postgres `Pool` (`new pg.Pool(…)`), typed by the methods the store uses so that these
 * declarations need no `@types/pg`.
 */
export interface PostgresPool {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /** A `postgres://user:password@host:port/database` URL; the store makes (and ends) its own pool. */
  connectionString?: string;
  /**
   * Your own `pg.Pool` instead (left open on `close()`). The store holds one of its clients for
   * `LISTEN` for as long as it is open.
   */
  pool?: PostgresPool;
  /** Schema holding the outbox's tables; created on first open. @default 'genesys_outbox' */
  schema?: string;
  /**
   * How long a worker's claim on a conversation lasts without renewal (it is renewed every
   * third of this while the attempt runs). A dead worker's conversations wait this long before
   * another worker takes them over. @default 30000
   */
  leaseMs?: number;
  /** Name of this worker in the `heads.owner` column (for operators). @default a random UUID */
  workerId?: string;
  /**
   * Once the encryption sweep (turning `encryption` on for a schema that held plaintext) has
   * sealed every row, run `VACUUM FULL` on `transcript`, `meta` and `entries`: an UPDATE leaves
   * the old row version, plaintext included, in the table's file, and plain `VACUUM` only marks
   * that space reusable without overwriting it (docs/postgres.md). `VACUUM FULL` rewrites each
   * table into a new file and holds an exclusive lock on it meanwhile: every other worker's
   * statements on that table wait until it is done. Runs once per schema (when the sweep
   * finishes). @default false
   */
  compactAfterSweep?: boolean;
}

/** The schema version this code writes; a database at a newer one is refused on open. */
export const POSTGRES_SCHEMA_VERSION = 6;
const PG_PEER = { name: 'pg', range: '8', feature: 'postgresStore' };
/** Lock key (pg_advisory_xact_lock) that serialises appends and requeues: seq order = commit order. */
const APPEND_LOCK = 0x6f7574; // 'out'

const isQueuedSql = `status IN ('pending', 'sending')`;

/**
 * The claim statement of claim_due: up to p_limit heads matching `where` in `order`, skipping
 * rows other workers are locking; owned by p_owner until p_until (then due again); with p_codes,
 * their entries stored as the attempt's start. Answers the entries as they were before (a data-
 * modifying CTE's changes are not visible to the statement's own SELECT).
 */
const claimSql = (S: string, where: string, order: string): string => `
      WITH c AS (
        SELECT h.conversation_id FROM ${S}.heads h WHERE ${where}
        ORDER BY ${order} LIMIT p_limit FOR UPDATE SKIP LOCKED
      ), u AS (
        UPDATE ${S}.heads h SET owner = p_owner, lease_until = p_until, due_at = p_until
        FROM c WHERE h.conversation_id = c.conversation_id RETURNING h.entry_id
      ), m AS (
        UPDATE ${S}.entries e SET status = 'sending', data = e.data || jsonb_build_object(
          'status', 'sending',
          'inDoubtSince', COALESCE(
            CASE WHEN jsonb_typeof(e.data->'inDoubtSince') = 'number' THEN e.data->'inDoubtSince' END,
            CASE WHEN e.data->>'status' = 'sending' OR e.data->'lastError'->>'code' = ANY(p_codes)
              THEN e.data->'createdAt' END,
            to_jsonb(p_now)))
        FROM u WHERE p_codes IS NOT NULL AND e.id = u.entry_id
      ) SELECT e.id, e.seq, e.data, NULL::bigint FROM u JOIN ${S}.entries e ON e.id = u.entry_id`;

/**
 * Migrations by version; each only adds (never drops data). `S` is the quoted schema name,
 * `channel` the NOTIFY channel (`<schema>_outbox`).
 * refresh_head(c) recomputes the head row of conversation c: kept with its owner and lease while
 * the head is the same entry and `sending` (the claimed attempt runs), else due at the entry's
 * nextAttemptAt (0 when none) with no owner.
 */
const MIGRATIONS: ((S: string, channel: string) => string)[] = [
  (S, channel) => `
  CREATE SEQUENCE ${S}.entry_seq;
  CREATE SEQUENCE ${S}.transcript_n;
  CREATE TABLE ${S}.entries (
    id text PRIMARY KEY,
    conversation_id text NOT NULL,
    seq bigint NOT NULL UNIQUE,
    status text NOT NULL,
    data jsonb NOT NULL
  );
  CREATE INDEX entries_queue ON ${S}.entries (conversation_id, seq) WHERE ${isQueuedSql};
  CREATE TABLE ${S}.heads (
    conversation_id text PRIMARY KEY,
    entry_id text NOT NULL,
    seq bigint NOT NULL,
    due_at bigint NOT NULL,
    owner text,
    lease_until bigint
  );
  CREATE INDEX heads_due ON ${S}.heads (due_at, seq);
  CREATE TABLE ${S}.meta (key text PRIMARY KEY, value jsonb NOT NULL);
  CREATE TABLE ${S}.transcript (
    key text PRIMARY KEY,
    conversation_id text NOT NULL,
    time double precision NOT NULL,
    n bigint NOT NULL,
    data jsonb NOT NULL
  );
  CREATE INDEX transcript_by_time ON ${S}.transcript (conversation_id, time, n);

  CREATE FUNCTION ${S}.refresh_head(c text) RETURNS void LANGUAGE plpgsql AS $$
  DECLARE h record;
  BEGIN
    SELECT id, seq, status, COALESCE((data->>'nextAttemptAt')::bigint, 0) AS due INTO h
      FROM ${S}.entries WHERE conversation_id = c AND ${isQueuedSql} ORDER BY seq LIMIT 1;
    IF NOT FOUND THEN
      DELETE FROM ${S}.heads WHERE conversation_id = c;
      RETURN;
    END IF;
    INSERT INTO ${S}.heads AS t (conversation_id, entry_id, seq, due_at)
      VALUES (c, h.id, h.seq, h.due)
    ON CONFLICT (conversation_id) DO UPDATE SET
      entry_id = EXCLUDED.entry_id,
      seq = EXCLUDED.seq,
      owner = CASE WHEN t.entry_id = EXCLUDED.entry_id AND h.status = 'sending' THEN t.owner END,
      lease_until = CASE WHEN t.entry_id = EXCLUDED.entry_id AND h.status = 'sending'
        THEN t.lease_until END,
      due_at = CASE WHEN t.entry_id = EXCLUDED.entry_id AND h.status = 'sending'
        AND t.owner IS NOT NULL THEN t.due_at ELSE EXCLUDED.due_at END;
  END $$;

  CREATE FUNCTION ${S}.append_entries(p jsonb) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
  DECLARE r jsonb; s bigint;
  BEGIN
    PERFORM pg_advisory_xact_lock(${APPEND_LOCK});
    FOR r IN SELECT value FROM jsonb_array_elements(p) LOOP
      s := nextval('${S}.entry_seq');
      INSERT INTO ${S}.entries (id, conversation_id, seq, status, data)
        VALUES (r->>'id', r->>'conversationId', s, r->>'status', r);
      IF r->>'status' IN ('pending', 'sending') THEN
        -- The new entry has the highest seq: it is the head only of a conversation without one.
        INSERT INTO ${S}.heads (conversation_id, entry_id, seq, due_at)
          VALUES (r->>'conversationId', r->>'id', s, COALESCE((r->>'nextAttemptAt')::bigint, 0))
          ON CONFLICT (conversation_id) DO NOTHING;
      END IF;
      RETURN NEXT s;
    END LOOP;
    PERFORM pg_notify('${channel}', '');
  END $$;

  CREATE FUNCTION ${S}.update_entry(p_id text, p jsonb, p_requeue boolean) RETURNS bigint
  LANGUAGE plpgsql AS $$
  DECLARE c text; s bigint;
  BEGIN
    IF p_requeue THEN PERFORM pg_advisory_xact_lock(${APPEND_LOCK}); END IF;
    UPDATE ${S}.entries SET status = p->>'status', data = p,
        seq = CASE WHEN p_requeue THEN nextval('${S}.entry_seq') ELSE seq END
      WHERE id = p_id RETURNING conversation_id, seq INTO c, s;
    IF NOT FOUND THEN RETURN NULL; END IF;
    PERFORM ${S}.refresh_head(c);
    -- A retried entry is new work for every worker.
    IF p_requeue THEN PERFORM pg_notify('${channel}', ''); END IF;
    RETURN s;
  END $$;

  CREATE FUNCTION ${S}.remove_entry(p_id text, p_records jsonb) RETURNS void LANGUAGE plpgsql AS $$
  DECLARE c text;
  BEGIN
    IF p_records IS NOT NULL THEN PERFORM ${S}.put_transcript(p_records); END IF;
    DELETE FROM ${S}.entries WHERE id = p_id RETURNING conversation_id INTO c;
    IF FOUND THEN PERFORM ${S}.refresh_head(c); END IF;
  END $$;

  CREATE FUNCTION ${S}.put_transcript(p jsonb) RETURNS void LANGUAGE plpgsql AS $$
  DECLARE r jsonb;
  BEGIN
    FOR r IN SELECT value FROM jsonb_array_elements(p) LOOP
      INSERT INTO ${S}.transcript (key, conversation_id, time, n, data)
        VALUES (r->>'key', r->>'conversationId', (r->>'time')::double precision,
                nextval('${S}.transcript_n'), r)
      ON CONFLICT (key) DO UPDATE SET conversation_id = EXCLUDED.conversation_id,
        time = EXCLUDED.time, data = EXCLUDED.data;
    END LOOP;
  END $$;

  CREATE FUNCTION ${S}.claim(p_owner text, p_now bigint, p_until bigint, p_limit int, p_all boolean)
  RETURNS TABLE (id text, seq bigint, data jsonb) LANGUAGE plpgsql AS $$
  BEGIN
    IF p_all THEN
      RETURN QUERY WITH c AS (
        SELECT h.conversation_id FROM ${S}.heads h
        WHERE h.owner IS NULL OR h.lease_until <= p_now
        ORDER BY h.seq LIMIT p_limit FOR UPDATE SKIP LOCKED
      ), u AS (
        UPDATE ${S}.heads h SET owner = p_owner, lease_until = p_until, due_at = p_until
        FROM c WHERE h.conversation_id = c.conversation_id RETURNING h.entry_id
      ) SELECT e.id, e.seq, e.data FROM u JOIN ${S}.entries e ON e.id = u.entry_id;
    ELSE
      -- A claimed head is due again at its lease's end: one index range (due_at, seq) finds both
      -- the due heads and the ones whose worker died.
      RETURN QUERY WITH c AS (
        SELECT h.conversation_id FROM ${S}.heads h WHERE h.due_at <= p_now
        ORDER BY h.due_at, h.seq LIMIT p_limit FOR UPDATE SKIP LOCKED
      ), u AS (
        UPDATE ${S}.heads h SET owner = p_owner, lease_until = p_until, due_at = p_until
        FROM c WHERE h.conversation_id = c.conversation_id RETURNING h.entry_id
      ) SELECT e.id, e.seq, e.data FROM u JOIN ${S}.entries e ON e.id = u.entry_id;
    END IF;
  END $$;`,
  // 2: a transcript line's place is fixed when it is first written (its `order`); lines written
  // before keep their old place (order = time × 1000, as the other stores migrate).
  (S) => `
  ALTER TABLE ${S}.transcript ADD COLUMN ord double precision;
  UPDATE ${S}.transcript SET ord = time * 1000, data = data || jsonb_build_object('order', time * 1000);
  ALTER TABLE ${S}.transcript ALTER COLUMN ord SET NOT NULL;
  CREATE INDEX transcript_by_order ON ${S}.transcript (conversation_id, ord, time, n);

  CREATE OR REPLACE FUNCTION ${S}.put_transcript(p jsonb) RETURNS void LANGUAGE plpgsql AS $$
  DECLARE r jsonb; o double precision;
  BEGIN
    FOR r IN SELECT value FROM jsonb_array_elements(p) LOOP
      -- A replaced line keeps its order and insertion number: it never moves.
      SELECT ord INTO o FROM ${S}.transcript WHERE key = r->>'key';
      IF NOT FOUND THEN
        o := COALESCE((r->>'order')::double precision, (r->>'time')::double precision * 1000);
      END IF;
      r := r || jsonb_build_object('order', o);
      INSERT INTO ${S}.transcript (key, conversation_id, time, n, ord, data)
        VALUES (r->>'key', r->>'conversationId', (r->>'time')::double precision,
                nextval('${S}.transcript_n'), o, r)
      ON CONFLICT (key) DO UPDATE SET conversation_id = EXCLUDED.conversation_id,
        time = EXCLUDED.time, data = EXCLUDED.data;
    END LOOP;
  END $$;`,
  // 3: (a) a conversation's head row is locked before its head is recomputed, and an append that
  // finds a head locks it too: a delivery's refresh and a concurrent append of the same
  // conversation no longer both miss the new entry (which left it queued without a head, to be
  // overtaken by the next append). (b) Fewer round trips per delivery: claim_due answers the next
  // due time with the claim, remove_queued answers the conversation, and an attempt starting on
  // a head this worker holds leaves the heads row alone.
  (S, channel) => `
  CREATE OR REPLACE FUNCTION ${S}.refresh_head(c text) RETURNS void LANGUAGE plpgsql AS $$
  DECLARE h record;
  BEGIN
    -- Serialises with appends and other refreshes of c; the next statement's snapshot is taken
    -- after the lock, so it sees what they committed.
    PERFORM 1 FROM ${S}.heads WHERE conversation_id = c FOR UPDATE;
    SELECT id, seq, status, COALESCE((data->>'nextAttemptAt')::bigint, 0) AS due INTO h
      FROM ${S}.entries WHERE conversation_id = c AND ${isQueuedSql} ORDER BY seq LIMIT 1;
    IF NOT FOUND THEN
      DELETE FROM ${S}.heads WHERE conversation_id = c;
      RETURN;
    END IF;
    INSERT INTO ${S}.heads AS t (conversation_id, entry_id, seq, due_at)
      VALUES (c, h.id, h.seq, h.due)
    ON CONFLICT (conversation_id) DO UPDATE SET
      entry_id = EXCLUDED.entry_id,
      seq = EXCLUDED.seq,
      owner = CASE WHEN t.entry_id = EXCLUDED.entry_id AND h.status = 'sending' THEN t.owner END,
      lease_until = CASE WHEN t.entry_id = EXCLUDED.entry_id AND h.status = 'sending'
        THEN t.lease_until END,
      due_at = CASE WHEN t.entry_id = EXCLUDED.entry_id AND h.status = 'sending'
        AND t.owner IS NOT NULL THEN t.due_at ELSE EXCLUDED.due_at END;
  END $$;

  CREATE OR REPLACE FUNCTION ${S}.append_entries(p jsonb) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
  DECLARE r jsonb; s bigint;
  BEGIN
    PERFORM pg_advisory_xact_lock(${APPEND_LOCK});
    FOR r IN SELECT value FROM jsonb_array_elements(p) LOOP
      s := nextval('${S}.entry_seq');
      INSERT INTO ${S}.entries (id, conversation_id, seq, status, data)
        VALUES (r->>'id', r->>'conversationId', s, r->>'status', r);
      IF r->>'status' IN ('pending', 'sending') THEN
        -- The new entry has the highest seq: it is the head only of a conversation without one.
        -- An existing head row is locked (DO UPDATE … WHERE false updates nothing but locks):
        -- a refresh of it waits for this commit and then sees the new entry.
        INSERT INTO ${S}.heads AS t (conversation_id, entry_id, seq, due_at)
          VALUES (r->>'conversationId', r->>'id', s, COALESCE((r->>'nextAttemptAt')::bigint, 0))
          ON CONFLICT (conversation_id) DO UPDATE SET owner = t.owner WHERE false;
      END IF;
      RETURN NEXT s;
    END LOOP;
    PERFORM pg_notify('${channel}', '');
  END $$;

  CREATE OR REPLACE FUNCTION ${S}.update_entry(p_id text, p jsonb, p_requeue boolean) RETURNS bigint
  LANGUAGE plpgsql AS $$
  DECLARE c text; s bigint;
  BEGIN
    IF p_requeue THEN PERFORM pg_advisory_xact_lock(${APPEND_LOCK}); END IF;
    UPDATE ${S}.entries SET status = p->>'status', data = p,
        seq = CASE WHEN p_requeue THEN nextval('${S}.entry_seq') ELSE seq END
      WHERE id = p_id RETURNING conversation_id, seq INTO c, s;
    IF NOT FOUND THEN RETURN NULL; END IF;
    -- An attempt starting on a claimed head: head, owner, lease and due time stay as they are.
    IF NOT p_requeue AND p->>'status' = 'sending' AND EXISTS (SELECT 1 FROM ${S}.heads
        WHERE conversation_id = c AND entry_id = p_id AND owner IS NOT NULL) THEN
      RETURN s;
    END IF;
    PERFORM ${S}.refresh_head(c);
    -- A retried entry is new work for every worker.
    IF p_requeue THEN PERFORM pg_notify('${channel}', ''); END IF;
    RETURN s;
  END $$;

  -- remove_entry, answering the removed entry's conversation (NULL: there was none).
  CREATE FUNCTION ${S}.remove_queued(p_id text, p_records jsonb) RETURNS text LANGUAGE plpgsql AS $$
  DECLARE c text;
  BEGIN
    IF p_records IS NOT NULL THEN PERFORM ${S}.put_transcript(p_records); END IF;
    DELETE FROM ${S}.entries WHERE id = p_id RETURNING conversation_id INTO c;
    IF FOUND THEN PERFORM ${S}.refresh_head(c); END IF;
    RETURN c;
  END $$;

  -- claim, then one more row (id NULL) whose next_due is the earliest due_at left, the heads just
  -- claimed (due at their lease's end) included.
  CREATE FUNCTION ${S}.claim_due(p_owner text, p_now bigint, p_until bigint, p_limit int,
    p_all boolean) RETURNS TABLE (id text, seq bigint, data jsonb, next_due bigint)
  LANGUAGE plpgsql AS $$
  BEGIN
    RETURN QUERY SELECT c.id, c.seq, c.data, NULL::bigint
      FROM ${S}.claim(p_owner, p_now, p_until, p_limit, p_all) c;
    RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::jsonb, h.due_at
      FROM ${S}.heads h ORDER BY h.due_at, h.seq LIMIT 1;
  END $$;`,
  // 4: the claim stores each claimed head as its attempt's start (status 'sending' and its
  // inDoubtSince) in the same statement, when asked (ClaimOptions.sending): one round trip less
  // per delivery. A new claim_due overload with p_codes, and release_claim, which also undoes
  // that mark. The v3 functions stay (a worker still running the previous release keeps working
  // until it is restarted); no table changes.
  (S) => `
  -- The claim, with the attempt's start written in the same statement when p_codes is given
  -- (ClaimOptions.sending): status 'sending' and inDoubtSince (kept when set; the entry's
  -- createdAt when it was 'sending' or its lastError code is one of p_codes; else p_now). The
  -- entries are answered as they were before; then one more row (id NULL) whose next_due is the
  -- earliest due_at left, the heads just claimed (due at their lease's end) included.
  CREATE FUNCTION ${S}.claim_due(p_owner text, p_now bigint, p_until bigint, p_limit int,
    p_all boolean, p_codes text[]) RETURNS TABLE (id text, seq bigint, data jsonb, next_due bigint)
  LANGUAGE plpgsql AS $$
  BEGIN
    IF p_all THEN
      RETURN QUERY ${claimSql(S, `h.owner IS NULL OR h.lease_until <= p_now`, `h.seq`)};
    ELSE
      -- A claimed head is due again at its lease's end: one index range (due_at, seq) finds both
      -- the due heads and the ones whose worker died.
      RETURN QUERY ${claimSql(S, `h.due_at <= p_now`, `h.due_at, h.seq`)};
    END IF;
    RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::jsonb, h.due_at
      FROM ${S}.heads h ORDER BY h.due_at, h.seq LIMIT 1;
  END $$;

  -- Gives a claimed head back; p_restore: the entry as it was before a claim marked it 'sending'.
  CREATE FUNCTION ${S}.release_claim(c text, p_owner text, p_restore jsonb) RETURNS void
  LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE ${S}.heads SET owner = NULL, lease_until = NULL
      WHERE conversation_id = c AND owner = p_owner;
    IF NOT FOUND THEN RETURN; END IF;
    IF p_restore IS NOT NULL THEN
      UPDATE ${S}.entries SET status = p_restore->>'status', data = p_restore
        WHERE id = p_restore->>'id' AND status = 'sending';
    END IF;
    PERFORM ${S}.refresh_head(c);
  END $$;`,
  // 5: one statement per delivery. The removal of a delivered entry (with its transcript line)
  // also claims this worker's next due heads, as claim_due would (p_limit of them; the attempt's
  // start stored when p_codes is given): a busy worker needs no claim statement of its own. The
  // rows are claim_due's, each with the removed entry's conversation (NULL: it was gone). No
  // table changes; the v3/v4 functions stay.
  (S) => `
  CREATE FUNCTION ${S}.remove_and_claim(p_id text, p_records jsonb, p_owner text, p_now bigint,
    p_until bigint, p_limit int, p_codes text[])
  RETURNS TABLE (id text, seq bigint, data jsonb, next_due bigint, removed text)
  LANGUAGE plpgsql AS $$
  DECLARE c text;
  BEGIN
    c := ${S}.remove_queued(p_id, p_records);
    RETURN QUERY SELECT d.id, d.seq, d.data, d.next_due, c
      FROM ${S}.claim_due(p_owner, p_now, p_until, p_limit, false, p_codes) d;
    -- No heads left at all (claim_due answers no row): the removal's row alone.
    IF NOT FOUND THEN
      RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::jsonb, NULL::bigint, c;
    END IF;
  END $$;`,
  // 6: an append locks the head rows of its batch in conversation_id order (it took them in the
  // batch's order): a worker's lease renewal and its close() lock the heads they hold in that
  // order too, so neither can wait on the other in a cycle (PostgreSQL's 40P01, "deadlock
  // detected", failed the append). The entries keep the batch's order (their seqs). No table
  // changes.
  (S, channel) => `
  CREATE OR REPLACE FUNCTION ${S}.append_entries(p jsonb) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
  DECLARE r jsonb; s bigint; lo bigint;
  BEGIN
    PERFORM pg_advisory_xact_lock(${APPEND_LOCK});
    FOR r IN SELECT value FROM jsonb_array_elements(p) LOOP
      s := nextval('${S}.entry_seq');
      lo := COALESCE(lo, s);
      INSERT INTO ${S}.entries (id, conversation_id, seq, status, data)
        VALUES (r->>'id', r->>'conversationId', s, r->>'status', r);
      RETURN NEXT s;
    END LOOP;
    -- Each conversation's first new queued entry is its head when it has none; an existing head
    -- row is locked (DO UPDATE … WHERE false updates nothing but locks) so that a refresh of it
    -- waits for this commit and then sees the new entries. Rows in conversation_id order. Under
    -- the lock, seqs lo..s are this batch's entries and nobody else's.
    INSERT INTO ${S}.heads AS t (conversation_id, entry_id, seq, due_at)
      SELECT DISTINCT ON (e.conversation_id) e.conversation_id, e.id, e.seq,
          COALESCE((e.data->>'nextAttemptAt')::bigint, 0)
        FROM ${S}.entries e WHERE e.seq BETWEEN lo AND s AND e.status IN ('pending', 'sending')
        ORDER BY e.conversation_id, e.seq
      ON CONFLICT (conversation_id) DO UPDATE SET owner = t.owner WHERE false;
    PERFORM pg_notify('${channel}', '');
  END $$;`,
];

/** Deadlock (40P01) and serialization failure (40001): the statement was rolled back; run it again. */
const TRANSIENT = new Set(['40P01', '40001']);

interface EntryRow {
  id: string;
  seq: string | number;
  data: Omit<StoredEntry, 'seq'>;
}

/** A row of claim_due: a claimed head, or (id NULL) the next due time. */
type ClaimRow = (EntryRow | { id: null; seq: null; data: null }) & { next_due: string | null };

/** How long a head claimed by a removal is handed out by the next claimDue without a check. */
const PREFETCH_FRESH_MS = 1000;

/** Heads a removal claimed, not handed out yet; `marked`: stored as their attempt's start. */
interface Prefetched {
  entries: StoredEntry[];
  nextDueAt: number | undefined;
  at: number;
  marked: boolean;
}
const NONE_PREFETCHED: Prefetched = { entries: [], nextDueAt: undefined, at: 0, marked: false };

const fromRow = (r: EntryRow): StoredEntry => ({ ...r.data, seq: Number(r.seq) });

function pgCode(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
  '57P01', // admin_shutdown: the server is stopping, or pg_terminate_backend ended this session
  '57P02', // crash_shutdown: another backend crashed and the server restarts
  '57P03', // cannot_connect_now (starting up / shutting down)
]);

/** Maps a pg / network error to an OutboxError with a stable code. Never includes the URL. */
export function postgresError(e: unknown): OutboxError {
  if (isOutboxError(e)) return e;
  const code = pgCode(e);
  const text = e instanceof Error ? e.message : String(e);
  // Whole words: node-postgres' "Connection terminated unexpectedly" / "… due to connection
  // timeout", never a syntax error's "unterminated quoted string" (a bug, not an outage).
  if ((code !== undefined && UNREACHABLE.has(code)) || /\btimeout\b|\bterminated\b/i.test(text)) {
    return new OutboxError(
      'storage-unreachable',
      `PostgreSQL is unreachable${code === undefined ? '' : ` (${code})`}`,
      { cause: e },
    );
  }
  if (code === '28P01' || code === '28000') {
    return new OutboxError(
      'storage-auth-failed',
      'PostgreSQL refused the credentials (wrong user or password, or no pg_hba.conf entry)',
      { cause: e },
    );
  }
  if (code === '53100') {
    return new OutboxError('storage-full', 'PostgreSQL: disk full', { cause: e });
  }
  return new OutboxError(
    'storage-failed',
    `PostgreSQL operation failed${code === undefined ? '' : `: ${code}`}`,
    { cause: e },
  );
}

/**
 * A durable store on PostgreSQL that several worker processes may share (see the top of this
 * file and docs/postgres.md). Passes the OutboxStore contract suite, and adds claims
 * (`claimDue`) and change notifications (`watch`) that the outbox uses when they are there.
 *
 * @example
 * import { postgresStore } from 'genesys-webmessaging-outbox/node';
 * const outbox = await createOutbox({
 *   transport,
 *   store: postgresStore({ connectionString: process.env.DATABASE_URL }),
 * });
 */
export function postgresStore(input: PostgresStoreOptions): OutboxStore {
  const options = readOptions(
    'postgresStore',
    input,
    'connectionString pool schema leaseMs workerId compactAfterSweep',
  );
  if (options.compactAfterSweep !== undefined && typeof options.compactAfterSweep !== 'boolean') {
    throw new OutboxError('invalid-options', 'compactAfterSweep must be a boolean');
  }
  const schemaName = options.schema ?? 'genesys_outbox';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schemaName)) {
    throw new OutboxError(
      'invalid-options',
      'schema must be a lower-case SQL identifier (letters, digits, _; at most 41 characters)',
    );
  }
  if ((options.connectionString === undefined) === (options.pool === undefined)) {
    throw new OutboxError('invalid-options', 'pass exactly one of connectionString and pool');
  }
  const leaseMs = options.leaseMs ?? 30_000;
  if (!Number.isFinite(leaseMs) || leaseMs < 100) {
    throw new OutboxError('invalid-options', 'leaseMs must be a number ≥ 100');
  }
  const S = `"${schemaName}"`;
  const channel = `${schemaName}_outbox`;
  const owner = options.workerId ?? randomUUID();

  let pool: Pg.Pool | undefined;
  let listener: Pg.PoolClient | undefined;
  let opening: Promise<Pg.Pool> | undefined;
  let closed = false;
  const watchers = new Set<() => void>();
  /** Conversations this worker has claimed and is attempting: renewed until settled. */
  const held = new Set<string>();
  /** Held conversations whose claim stored the attempt's start: the entry as it was before. */
  const marked = new Map<string, EntryRow['data']>();
  /** The claimed entries of held conversations: entry id → conversation. */
  const claimedEntries = new Map<string, string>();
  let renewTimer: ReturnType<typeof setInterval> | undefined;
  /**
   * The `sending` option of this worker's last claimDue (undefined before its first claim): a
   * removal claims the next heads only for a worker that claims (a dispatcher), the same way.
   */
  let claiming: { codes: string[] | null } | undefined;
  /**
   * Heads a removal claimed for this worker (remove_and_claim), not handed out yet: the next
   * claimDue answers them without a statement of its own. `at`: when claimed.
   */
  let prefetched: Prefetched = NONE_PREFETCHED;
  /** Removals in flight that claim (remove_and_claim): a claimDue meanwhile waits for them. */
  const removing = new Set<Promise<unknown>>();

  async function connect(): Promise<Pg.Pool> {
    const pg = await importOptionalPeer(PG_PEER, () => import('pg'));
    const Pool = (pg.default ?? pg).Pool;
    const p =
      (options.pool as unknown as Pg.Pool | undefined) ??
      new Pool({ connectionString: options.connectionString, connectionTimeoutMillis: 10_000 });
    try {
      await migrate(p);
      // One client kept for LISTEN: notifications of new entries wake this worker's outbox.
      const l = await p.connect();
      l.on('notification', () => {
        for (const w of [...watchers]) w();
      });
      l.on('error', () => {
        // The LISTEN connection broke; the next operation reports the failure.
      });
      await l.query(`LISTEN "${channel}"`);
      listener = l;
    } catch (e: unknown) {
      if (options.pool === undefined) await p.end().catch(() => {});
      throw e;
    }
    if (options.pool === undefined) {
      p.on('error', () => {
        // An idle client failed (server restarted): pg drops it; the next query reconnects.
      });
    }
    return p;
  }

  async function migrate(p: Pg.Pool): Promise<void> {
    const c = await p.connect();
    try {
      await c.query('BEGIN');
      // Several workers opening at once: one migrates, the others wait and then see it done.
      await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`genesys-outbox:${schemaName}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${S}.schema_version (version integer NOT NULL)`);
      const row = (await c.query(`SELECT max(version) AS v FROM ${S}.schema_version`)).rows[0] as
        { v: number | null } | undefined;
      const version = row?.v ?? 0;
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new OutboxError(
          'schema-too-new',
          `schema "${schemaName}" is at version ${version}, newer than this library's ` +
            `${POSTGRES_SCHEMA_VERSION}: upgrade genesys-webmessaging-outbox (nothing was changed)`,
          { details: { version, supported: POSTGRES_SCHEMA_VERSION } },
        );
      }
      for (let v = version; v < MIGRATIONS.length; v++) {
        await c.query((MIGRATIONS[v] as (S: string, channel: string) => string)(S, channel));
        await c.query(`INSERT INTO ${S}.schema_version (version) VALUES ($1)`, [v + 1]);
      }
      await c.query('COMMIT');
    } catch (e: unknown) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  /** Runs `fn` on the opened pool; failures become OutboxErrors. */
  async function run<T>(fn: (p: Pg.Pool) => Promise<T>): Promise<T> {
    if (closed) throw new OutboxError('closed', 'The store is closed');
    try {
      if (pool === undefined) {
        opening ??= connect();
        const p = await opening.catch((e: unknown) => {
          opening = undefined; // the next call tries again
          throw e;
        });
        if (closed) throw new OutboxError('closed', 'The store is closed');
        pool = p;
      }
      return await fn(pool);
    } catch (e: unknown) {
      throw postgresError(e);
    }
  }

  /**
   * One statement. A transient failure (a deadlock another client's lock order caused, a
   * serialization failure) rolled the statement back: it runs again, up to three more times.
   */
  const q = <R>(sql: string, params: unknown[] = []): Promise<R[]> =>
    run(async (p) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return (await p.query(sql, params)).rows as R[];
        } catch (e: unknown) {
          if (attempt > 3 || !TRANSIENT.has(pgCode(e) ?? '')) throw e;
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
        }
      }
    });

  const entryData = (e: StoredEntry | NewEntry): string => {
    const { seq: _seq, ...rest } = e as StoredEntry;
    return JSON.stringify(rest);
  };

  function renewSoon(): void {
    if (held.size === 0) {
      if (renewTimer !== undefined) clearInterval(renewTimer);
      renewTimer = undefined;
      return;
    }
    if (renewTimer !== undefined) return;
    renewTimer = setInterval(
      () => {
        if (held.size === 0 || closed) return renewSoon();
        const until = Date.now() + leaseMs;
        void q(
          // Locked in conversation_id order, as an append locks them (migration 6).
          `UPDATE ${S}.heads h SET lease_until = $2, due_at = $2
             FROM (SELECT conversation_id FROM ${S}.heads WHERE owner = $1
                   AND conversation_id = ANY($3) ORDER BY conversation_id FOR UPDATE) l
             WHERE h.conversation_id = l.conversation_id AND h.owner = $1`,
          [owner, until, [...held]],
        ).catch(() => {
          // Could not renew: the lease may run out and another worker take over (the
          // idempotency key makes its repeat harmless).
        });
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    renewTimer.unref?.();
  }

  /** Stops holding (renewing) a conversation's claim. */
  const letGo = (conversationId: string): void => {
    held.delete(conversationId);
    prefetched.entries = prefetched.entries.filter((e) => e.conversationId !== conversationId);
    marked.delete(conversationId);
    for (const [id, c] of claimedEntries) if (c === conversationId) claimedEntries.delete(id);
    renewSoon();
  };

  /** Takes in the rows of claim_due / remove_and_claim: the claimed heads are held from now on. */
  const claimed = (
    rows: readonly ClaimRow[],
    codes: string[] | null,
  ): { entries: StoredEntry[]; nextDueAt: number | undefined } => {
    const entries: StoredEntry[] = [];
    let nextDueAt: number | undefined;
    for (const r of rows) {
      if (r.id === null) nextDueAt = r.next_due === null ? undefined : Number(r.next_due);
      else {
        entries.push(fromRow(r as EntryRow));
        if (codes !== null) marked.set(r.data.conversationId, r.data);
      }
    }
    for (const e of entries) {
      held.add(e.conversationId);
      claimedEntries.set(e.id, e.conversationId);
    }
    renewSoon();
    return { entries, nextDueAt };
  };

  /**
   * Removes a settled entry (with its transcript records). For a worker that claims, the same
   * statement claims its next due head (remove_and_claim), kept for the next claimDue.
   */
  const removeEntry = async (id: string, records: string | null): Promise<void> => {
    const conversationId = claimedEntries.get(id);
    if (claiming === undefined || closed) {
      const rows = await q<{ c: string | null }>(`SELECT ${S}.remove_queued($1, $2::jsonb) AS c`, [
        id,
        records,
      ]).catch((e: unknown) => failedWrite(conversationId, e));
      if (typeof rows[0]?.c === 'string') settledConversation(rows[0].c);
      return;
    }
    const { codes } = claiming;
    const now = Date.now();
    const statement = q<ClaimRow & { removed: string | null }>(
      `SELECT id, seq, data, next_due, removed
         FROM ${S}.remove_and_claim($1, $2::jsonb, $3, $4, $5, 1, $6)`,
      [id, records, owner, now, now + leaseMs, codes],
    );
    removing.add(statement);
    const rows = await statement
      .catch((e: unknown) => failedWrite(conversationId, e))
      .finally(() => removing.delete(statement));
    const removed = rows[0]?.removed;
    if (typeof removed === 'string') settledConversation(removed);
    const { entries, nextDueAt } = claimed(rows, codes);
    if (closed) {
      // Closed meanwhile: give them back (close has already handed back what it knew of).
      for (const e of entries) await store.releaseClaim!(e.conversationId).catch(() => {});
      return;
    }
    if (entries.length === 0 && prefetched.entries.length === 0) return;
    prefetched = {
      entries: [...prefetched.entries, ...entries],
      nextDueAt,
      at: prefetched.entries.length > 0 ? prefetched.at : now,
      marked: codes !== null,
    };
    giveBackUnasked();
  };

  /** Gives `entries` (claimed, not attempted) back, and wakes the other workers for them. */
  const giveBack = async (entries: readonly StoredEntry[]): Promise<void> => {
    if (entries.length === 0) return;
    for (const e of entries) await store.releaseClaim!(e.conversationId).catch(() => {});
    await q(`SELECT pg_notify($1, '')`, [channel]).catch(() => {});
  };

  let giveBackTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Heads a removal claimed that no claimDue asked for within PREFETCH_FRESH_MS (this worker
   * went offline, paused on a rate limit, or stopped claiming) go back, as they were, so that
   * other workers can take them: a prefetched head is never held longer than that.
   */
  const giveBackUnasked = (): void => {
    if (giveBackTimer !== undefined || prefetched.entries.length === 0) return;
    giveBackTimer = setTimeout(
      () => {
        giveBackTimer = undefined;
        if (closed) return;
        if (Date.now() - prefetched.at <= PREFETCH_FRESH_MS) return giveBackUnasked();
        const unasked = prefetched.entries;
        prefetched = NONE_PREFETCHED;
        void giveBack(unasked);
      },
      Math.max(1, prefetched.at + PREFETCH_FRESH_MS + 1 - Date.now()),
    );
    giveBackTimer.unref?.();
  };

  const settledConversation = (conversationId: string, status?: string): void => {
    marked.delete(conversationId); // written since its claim: the mark is the attempt's now
    if (status === 'sending') return;
    letGo(conversationId);
  };

  /**
   * A write about a claimed head failed (connection lost, the server refusing clients): let the
   * claim go instead of renewing it for as long as this process lives, which left the head
   * `sending` and claimable by no worker, this one included (the conversation stuck for good).
   * The lease now runs out and the head is claimed again, in doubt: it may have gone out.
   */
  const failedWrite = (conversationId: string | undefined, error: unknown): never => {
    if (conversationId !== undefined && held.has(conversationId)) letGo(conversationId);
    throw error;
  };

  const store: OutboxStore = {
    open: async () => {
      await run(async () => undefined);
    },

    append: async (batch) => {
      if (batch.length === 0) {
        await run(async () => undefined);
        return [];
      }
      const ids = new Set(batch.map((e) => e.id));
      if (ids.size !== batch.length) {
        throw new OutboxError('invalid-id', 'An entry with this id is already stored');
      }
      try {
        const rows = await q<{ s: string }>(`SELECT s FROM ${S}.append_entries($1::jsonb) s`, [
          `[${batch.map(entryData).join(',')}]`,
        ]);
        return batch.map((e, i) => ({ ...copyEntry(e), seq: Number(rows[i]?.s) }));
      } catch (e: unknown) {
        const cause = isOutboxError(e) ? e.cause : e;
        if (pgCode(cause) === '23505') {
          throw new OutboxError('invalid-id', 'An entry with this id is already stored', {
            cause,
          });
        }
        throw e;
      }
    },

    update: async (entry, opts) => {
      const rows = await q<{ s: string | null }>(
        `SELECT ${S}.update_entry($1, $2::jsonb, $3) AS s`,
        [entry.id, entryData(entry), opts?.requeue === true],
      ).catch((e: unknown) => failedWrite(entry.conversationId, e));
      const seq = rows[0]?.s;
      if (seq === null || seq === undefined) {
        settledConversation(entry.conversationId); // discarded meanwhile: nothing left to renew
        throw new OutboxError('not-found', 'No entry with this id', { details: { id: entry.id } });
      }
      settledConversation(entry.conversationId, entry.status);
      return { ...copyEntry(entry), seq: Number(seq) };
    },

    remove: (id) => removeEntry(id, null),

    removeDelivered: (id, records) => removeEntry(id, JSON.stringify(dedupe(records))),

    get: async (id) => {
      const rows = await q<EntryRow>(`SELECT id, seq, data FROM ${S}.entries WHERE id = $1`, [id]);
      return rows[0] && fromRow(rows[0]);
    },

    list: async () =>
      (await q<EntryRow>(`SELECT id, seq, data FROM ${S}.entries ORDER BY seq`)).map(fromRow),

    heads: async (limit) => {
      const n = limit === undefined ? null : Math.max(0, Math.floor(limit));
      return (
        await q<EntryRow>(
          `SELECT e.id, e.seq, e.data FROM ${S}.heads h JOIN ${S}.entries e ON e.id = h.entry_id
           ORDER BY h.seq LIMIT $1`,
          [n],
        )
      ).map(fromRow);
    },

    headOf: async (conversationId) => {
      const rows = await q<EntryRow>(
        `SELECT e.id, e.seq, e.data FROM ${S}.heads h JOIN ${S}.entries e ON e.id = h.entry_id
         WHERE h.conversation_id = $1`,
        [conversationId],
      );
      return rows[0] && fromRow(rows[0]);
    },

    claimDue: async (o: ClaimOptions): Promise<ClaimResult> => {
      const codes = o.sending === undefined ? null : [...o.sending.inDoubtCodes];
      claiming = { codes };
      const limit = Math.max(0, Math.floor(o.limit));
      // Heads the last removal claimed for us: handed out without a statement while fresh (a
      // busy worker claims them within milliseconds). Older ones (this worker paused, or did
      // not claim for a while) are given back and claimed anew: something may have changed them.
      // A slot freed by a delivery whose removal is still running: that removal claims the
      // next head for it, so wait for it rather than claim in a statement of our own.
      if (removing.size > 0 && prefetched.entries.length < limit) {
        await Promise.allSettled([...removing]);
      }
      const got = prefetched;
      const ready = got.entries;
      const readyNext = got.nextDueAt;
      const stale = Date.now() - got.at > PREFETCH_FRESH_MS;
      const usable = !stale && o.all !== true && got.marked === (codes !== null);
      prefetched = NONE_PREFETCHED;
      if (!usable)
        for (const e of ready) await store.releaseClaim!(e.conversationId).catch(() => {});
      const taken = usable ? ready.slice(0, limit) : [];
      if (usable && ready.length > limit) {
        // More than the free slots: the rest waits for the next claimDue (while fresh).
        prefetched = { ...got, entries: ready.slice(limit) };
      }
      if (taken.length > 0 && taken.length >= limit) {
        return codes === null
          ? { entries: taken, nextDueAt: readyNext }
          : { entries: taken, nextDueAt: readyNext, sending: true };
      }
      // One round trip: the claimed heads, then a row with only the next due time.
      const rows = await q<ClaimRow>(
        `SELECT id, seq, data, next_due FROM ${S}.claim_due($1, $2, $3, $4, $5, $6)`,
        [owner, o.now, o.now + leaseMs, limit - taken.length, o.all === true, codes],
      ).catch((e: unknown) => {
        // Not handed out after all: kept for the next claimDue (or given back when stale).
        if (taken.length > 0) {
          prefetched = { ...got, entries: [...taken, ...prefetched.entries] };
          giveBackUnasked();
        }
        throw e;
      });
      const { entries, nextDueAt } = claimed(rows, codes);
      entries.unshift(...taken);
      return codes === null ? { entries, nextDueAt } : { entries, nextDueAt, sending: true };
    },

    releaseClaim: async (conversationId) => {
      // Not attempted after all: undo the claim's 'sending' mark too (it never went out).
      const before = marked.get(conversationId);
      letGo(conversationId);
      await q(`SELECT ${S}.release_claim($1, $2, $3::jsonb)`, [
        conversationId,
        owner,
        before === undefined ? null : JSON.stringify(before),
      ]);
    },

    watch: (fn) => {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },

    count: async () =>
      Number((await q<{ n: string }>(`SELECT count(*) AS n FROM ${S}.entries`))[0]?.n),

    getMeta: async (key) => {
      const rows = await q<{ value: unknown }>(`SELECT value FROM ${S}.meta WHERE key = $1`, [key]);
      return rows[0]?.value;
    },

    setMeta: async (key, value) => {
      await q(
        `INSERT INTO ${S}.meta (key, value) VALUES ($1, $2::jsonb)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [key, JSON.stringify(value)],
      );
    },

    setMetaIfAbsent: async (key, value) => {
      // Two statements: the SELECT's snapshot is taken after the INSERT (or the concurrent one
      // it waited for) committed, so it sees the winner.
      if (value !== undefined)
        await q(
          `INSERT INTO ${S}.meta (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO NOTHING`,
          [key, JSON.stringify(value)],
        );
      const rows = await q<{ value: unknown }>(`SELECT value FROM ${S}.meta WHERE key = $1`, [key]);
      return rows[0]?.value;
    },

    putTranscript: async (records) => {
      if (records.length === 0) return run(async () => undefined);
      await q(`SELECT ${S}.put_transcript($1::jsonb)`, [JSON.stringify(dedupe(records))]);
    },

    listTranscript: async (conversationId, limit) => {
      const n = limit === undefined ? null : Math.max(0, Math.floor(limit));
      const rows = await q<{ data: TranscriptRecord }>(
        `SELECT data FROM (SELECT data, ord, time, n FROM ${S}.transcript WHERE conversation_id = $1
           ORDER BY ord DESC, time DESC, n DESC LIMIT $2) t ORDER BY ord, time, n`,
        [conversationId, n],
      );
      return rows.map((r) => r.data);
    },

    // The encryption sweep (OutboxStore.sweep). compact() only with compactAfterSweep: VACUUM FULL
    // locks every worker out of each table while it rewrites it; without it the old row versions
    // stay in the table files until PostgreSQL reuses their space (plain VACUUM does not
    // overwrite them).
    sweep: async () => ({
      ...(options.compactAfterSweep === true
        ? {
            compact: async () => {
              await q(`VACUUM FULL ${S}.transcript, ${S}.meta, ${S}.entries`);
            },
          }
        : {}),
      scanTranscript: async (after, limit) =>
        (
          await q<{ data: TranscriptRecord }>(
            `SELECT data FROM ${S}.transcript WHERE key > $1 ORDER BY key LIMIT $2`,
            [after ?? '', Math.max(0, Math.floor(limit))],
          )
        ).map((r) => r.data),
      replaceTranscriptText: async (changes) => {
        if (changes.length === 0) return;
        // One statement; a line whose text changed since it was read does not match.
        await q(
          `UPDATE ${S}.transcript t SET data = jsonb_set(t.data, '{text}', to_jsonb(c.to_text))
             FROM jsonb_to_recordset($1::jsonb) AS c(key text, from_text text, to_text text)
             WHERE t.key = c.key AND t.data->>'text' = c.from_text`,
          [JSON.stringify(changes.map((c) => ({ key: c.key, from_text: c.from, to_text: c.to })))],
        );
      },
      metaKeys: async () =>
        (await q<{ key: string }>(`SELECT key FROM ${S}.meta ORDER BY key`)).map((r) => r.key),
    }),

    getTranscript: async (key) => {
      const rows = await q<{ data: TranscriptRecord }>(
        `SELECT data FROM ${S}.transcript WHERE key = $1`,
        [key],
      );
      return rows[0]?.data;
    },

    claimTranscript: async (record, staleBefore) => {
      // One statement: a concurrent claim of the same key waits on the row (the unique index)
      // and then evaluates the WHERE against what this one committed. A replaced line keeps its
      // place (ord, n).
      const ord = typeof record.order === 'number' ? record.order : record.time * 1000;
      const rows = await q<{ key: string }>(
        `INSERT INTO ${S}.transcript AS t (key, conversation_id, time, n, ord, data)
         VALUES ($1, $2, $3, nextval('${S}.transcript_n'), $4, $5::jsonb)
         ON CONFLICT (key) DO UPDATE SET conversation_id = EXCLUDED.conversation_id,
           time = EXCLUDED.time, data = EXCLUDED.data || jsonb_build_object('order', t.ord)
         WHERE t.data->'handoff'->>'state' = 'pending'
           AND (t.data->'handoff'->>'since')::double precision < $6
         RETURNING key`,
        [
          record.key,
          record.conversationId,
          record.time,
          ord,
          JSON.stringify({ ...record, order: ord }),
          staleBefore,
        ],
      );
      return rows.length > 0;
    },

    pruneTranscript: async (conversationId, keep) => {
      await q(
        `DELETE FROM ${S}.transcript WHERE key IN (
           SELECT key FROM ${S}.transcript WHERE conversation_id = $1
           ORDER BY ord DESC, time DESC, n DESC OFFSET $2)`,
        [conversationId, Math.max(0, Math.floor(keep))],
      );
    },

    wipe: async () => {
      // "This outbox" on PostgreSQL is the schema: every worker that opens it serves the same
      // integration and shares one outbox (its queue, transcript and session meta), so wipe
      // empties it for all of them. TRUNCATE, not DELETE: the tables get new, empty files and the
      // old ones (where deleted rows would linger until vacuum) are unlinked at commit. It waits
      // for the other workers' statements in flight and they wait for it. The sequences stay
      // (seq never goes backwards); schema_version stays (not data).
      await run(async (p) => {
        await p.query(`TRUNCATE ${S}.entries, ${S}.heads, ${S}.transcript, ${S}.meta`);
      });
      held.clear();
      marked.clear();
      claimedEntries.clear();
      prefetched = NONE_PREFETCHED;
      await store.close();
    },

    close: async () => {
      if (closed) return;
      const p = pool ?? (opening === undefined ? undefined : await opening.catch(() => undefined));
      // Heads a removal claimed and nobody asked for: back as they were (not 'sending').
      if (giveBackTimer !== undefined) clearTimeout(giveBackTimer);
      giveBackTimer = undefined;
      const unasked = prefetched.entries;
      prefetched = NONE_PREFETCHED;
      await giveBack(unasked);
      if (p !== undefined && held.size > 0) {
        // Hand the conversations this worker claimed but did not finish back at once.
        await p
          .query(
            // Locked in conversation_id order, as an append locks them (migration 6).
            `WITH l AS (SELECT conversation_id FROM ${S}.heads WHERE owner = $1
                 ORDER BY conversation_id FOR UPDATE),
             r AS (UPDATE ${S}.heads h SET owner = NULL, lease_until = NULL FROM l
               WHERE h.conversation_id = l.conversation_id AND h.owner = $1
               RETURNING h.conversation_id)
             SELECT ${S}.refresh_head(conversation_id) FROM r`,
            [owner],
          )
          .catch(() => {});
      }
      closed = true;
      held.clear();
      marked.clear();
      claimedEntries.clear();
      renewSoon();
      watchers.clear();
      const l = listener;
      listener = undefined;
      if (l !== undefined) {
        // Back to the pool without our LISTEN (a client of the caller's pool may be reused).
        await l.query(`UNLISTEN "${channel}"`).catch(() => {});
        l.release();
      }
      if (p !== undefined && options.pool === undefined) await p.end().catch(() => {});
    },
  };
  return store;
}

/** The last record of each key (one upsert per key in a statement). */
function dedupe(records: readonly TranscriptRecord[]): TranscriptRecord[] {
  const byKey = new Map<string, TranscriptRecord>();
  for (const r of records) {
    byKey.delete(r.key);
    byKey.set(r.key, r);
  }
  return [...byKey.values()];
}
