#!/usr/bin/env node
/**
 * `genesys-outbox <status|list|show ID|retry ID|discard ID|export> (--sqlite PATH | --postgres URL)
 *   [--schema NAME] [--json] [--text] [--stale-after SECONDS]`
 *
 * The operator's view of an outbox store. Works on the store directly (it never sends anything).
 * Message text is never printed unless `--text` is given. Exit codes (for cron):
 *   0 ok · 1 usage error · 2 no such entry / not in a state for that command
 *   3 status: failed entries exist · 4 status: a queued entry is older than --stale-after
 *   5 the store could not be opened or read
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isOutboxError } from '../errors/OutboxError.js';
import type { StoredEntry } from '../outbox/entry.js';
import type { OutboxStore } from '../store/OutboxStore.js';
import { postgresStore } from '../store/postgres.js';
import { sqliteStore } from '../store/sqlite.js';

export const EXIT = { ok: 0, usage: 1, notFound: 2, failed: 3, stale: 4, storage: 5 } as const;

const USAGE = `usage: genesys-outbox <status|list|show ID|retry ID|discard ID|export>
       (--sqlite PATH | --postgres URL) [--schema NAME] [--json] [--text] [--stale-after SECONDS]`;

class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  now: () => number;
}

/** What an entry shows without `--text`: everything but the message text (its length instead). */
function view(e: StoredEntry, withText: boolean, now: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: e.id,
    conversationId: e.conversationId,
    status: e.status,
    attempts: e.attempts,
    createdAt: new Date(e.createdAt).toISOString(),
    ageSeconds: Math.max(0, Math.round((now - e.createdAt) / 1000)),
  };
  if (e.nextAttemptAt !== undefined) out['nextAttemptAt'] = new Date(e.nextAttemptAt).toISOString();
  if (e.lastError !== undefined)
    out['lastError'] = { code: e.lastError.code, message: e.lastError.message };
  if (withText) out['text'] = e.text;
  else out['textLength'] = e.text.length;
  if (withText && e.metadata !== undefined) out['metadata'] = e.metadata;
  return out;
}

const line = (e: Record<string, unknown>): string =>
  [
    e['id'],
    e['status'],
    `conv=${String(e['conversationId'])}`,
    `attempts=${String(e['attempts'])}`,
    `age=${String(e['ageSeconds'])}s`,
    ...(e['lastError'] === undefined ? [] : [`error=${(e['lastError'] as { code: string }).code}`]),
    ...(e['text'] === undefined ? [] : [JSON.stringify(e['text'])]),
  ].join('  ');

/** Runs one command; returns the exit code. Exported for tests. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let store: OutboxStore | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        sqlite: { type: 'string' },
        postgres: { type: 'string' },
        schema: { type: 'string' },
        json: { type: 'boolean', default: false },
        text: { type: 'boolean', default: false },
        'stale-after': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.out(USAGE);
      return EXIT.ok;
    }
    const [command, id, ...rest] = positionals;
    const needsId = command === 'show' || command === 'retry' || command === 'discard';
    const known = ['status', 'list', 'show', 'retry', 'discard', 'export'];
    if (
      command === undefined ||
      !known.includes(command) ||
      rest.length > 0 ||
      needsId !== (id !== undefined)
    ) {
      throw new CliError(EXIT.usage, USAGE);
    }
    if ((values.sqlite === undefined) === (values.postgres === undefined)) {
      throw new CliError(EXIT.usage, 'give exactly one of --sqlite PATH and --postgres URL');
    }
    const staleAfter = Number(values['stale-after'] ?? 3600);
    if (!Number.isFinite(staleAfter) || staleAfter < 0) {
      throw new CliError(EXIT.usage, '--stale-after must be a number of seconds');
    }
    if (values.sqlite !== undefined) {
      // An operator's typo must not create an empty database and report "all fine".
      if (!existsSync(values.sqlite))
        throw new CliError(EXIT.storage, `no such file: ${values.sqlite}`);
      store = sqliteStore({ path: values.sqlite });
    } else {
      store = postgresStore({
        connectionString: values.postgres as string,
        ...(values.schema === undefined ? {} : { schema: values.schema }),
      });
    }
    await store.open();
    const now = io.now();
    const json = values.json === true;
    const withText = values.text === true;

    switch (command) {
      case 'status': {
        const entries = await store.list();
        const byStatus: Record<string, number> = { pending: 0, sending: 0, failed: 0 };
        const byConversation = new Map<string, Record<string, number>>();
        for (const e of entries) {
          byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
          const c = byConversation.get(e.conversationId) ?? {};
          c[e.status] = (c[e.status] ?? 0) + 1;
          byConversation.set(e.conversationId, c);
        }
        const queued = entries.filter((e) => e.status === 'pending' || e.status === 'sending');
        const oldest = queued.reduce<number | undefined>(
          (m, e) => (m === undefined ? e.createdAt : Math.min(m, e.createdAt)),
          undefined,
        );
        const oldestPendingSeconds =
          oldest === undefined ? null : Math.max(0, Math.round((now - oldest) / 1000));
        const failed = entries
          .filter((e) => e.status === 'failed')
          .map((e) => view(e, withText, now));
        const report = {
          total: entries.length,
          byStatus,
          conversations: byConversation.size,
          byConversation: Object.fromEntries(byConversation),
          oldestPendingSeconds,
          failed,
        };
        if (json) io.out(JSON.stringify(report));
        else {
          io.out(
            `entries ${report.total}: pending ${byStatus['pending']}, sending ${byStatus['sending']}, failed ${byStatus['failed']}; conversations ${report.conversations}`,
          );
          io.out(
            `oldest queued: ${oldestPendingSeconds === null ? 'none' : `${oldestPendingSeconds} s`}`,
          );
          for (const f of failed) io.out(`failed: ${line(f)}`);
        }
        if (failed.length > 0) return EXIT.failed;
        if (oldestPendingSeconds !== null && oldestPendingSeconds > staleAfter) return EXIT.stale;
        return EXIT.ok;
      }
      case 'list':
      case 'export': {
        const entries = (await store.list()).map((e) => view(e, withText, now));
        // export: one JSON object per line (NDJSON), for other tools; list: a table or a JSON array.
        if (command === 'export') for (const e of entries) io.out(JSON.stringify(e));
        else if (json) io.out(JSON.stringify(entries));
        else for (const e of entries) io.out(line(e));
        return EXIT.ok;
      }
      case 'show': {
        const e = await store.get(id as string);
        if (e === undefined) throw new CliError(EXIT.notFound, `no entry ${id}`);
        const v = view(e, withText, now);
        io.out(json ? JSON.stringify(v) : line(v));
        return EXIT.ok;
      }
      case 'retry': {
        const e = await store.get(id as string);
        if (e === undefined) throw new CliError(EXIT.notFound, `no entry ${id}`);
        if (e.status !== 'failed')
          throw new CliError(EXIT.notFound, `entry ${id} is ${e.status}, not failed`);
        // What Outbox.retry() does: back of its conversation's line, attempts and age from now.
        const next: StoredEntry = {
          ...e,
          status: 'pending',
          attempts: 0,
          offlineAttempts: 0,
          retriedAt: now,
        };
        delete next.nextAttemptAt;
        await store.update(next, { requeue: true });
        io.out(json ? JSON.stringify({ id, status: 'pending' }) : `${id} pending again`);
        return EXIT.ok;
      }
      case 'discard': {
        const e = await store.get(id as string);
        if (e === undefined) throw new CliError(EXIT.notFound, `no entry ${id}`);
        await store.remove(e.id);
        io.out(json ? JSON.stringify({ id, discarded: true }) : `${id} discarded`);
        return EXIT.ok;
      }
    }
    throw new CliError(EXIT.usage, USAGE);
  } catch (error: unknown) {
    if (error instanceof CliError) {
      io.err(error.message);
      return error.exitCode;
    }
    if (isOutboxError(error)) {
      // Never the URL (it may hold a password): code and message only.
      io.err(`genesys-outbox: ${error.code}: ${error.message}`);
      return error.code === 'invalid-options' ? EXIT.usage : EXIT.storage;
    }
    if (
      error instanceof TypeError &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE_ARGS')
    ) {
      io.err(`${error.message}\n${USAGE}`);
      return EXIT.usage;
    }
    io.err(`genesys-outbox: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.storage;
  } finally {
    await store?.close().catch(() => {});
  }
}

// Run when executed (not when imported by a test).
const invoked = process.argv[1] ?? '';
if (/genesys-outbox$|cli[\\/]outbox\.(js|mjs|ts)$/.test(invoked)) {
  const code = await runCli(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    now: () => Date.now(),
  });
  process.exitCode = code;
}
