// Design rule 12 in a real child process: a Node program awaiting whenSettled() gets its answer
// (issue 10 #4: it used to exit with code 13, nothing sent), and an outbox nobody awaits keeps
// nothing alive.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { sqliteStore } from '../../src/store/sqlite.js';
import { nodeScript, type ScriptRun } from '../helpers/nodeScript.js';
import { json, startTestHttpServer, type TestHttpServer } from '../unit/support/testHttpServer.js';

let server: TestHttpServer;
let run: (args?: string[]) => Promise<ScriptRun>;
let dir: string;
/** The first POST fails with 503; the ones after it are delivered. */
let failFirst = true;

beforeAll(async () => {
  server = await startTestHttpServer((_req, res) => {
    if (failFirst) {
      failFirst = false;
      json(res, 503, { message: 'try later' });
    } else json(res, 200, { id: 'server-1' });
  });
  run = await nodeScript('test/fixtures/await-settled.ts');
  dir = mkdtempSync(join(tmpdir(), 'keep-alive-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  failFirst = true;
  server.requests.length = 0;
});

it('send(); await whenSettled() with a failing first attempt: exit 0 and the message delivered', async () => {
  const r = await run(['memory', server.url]);
  expect({ code: r.code, killed: r.killed, stderr: r.stderr }).toEqual({
    code: 0,
    killed: false,
    stderr: '',
  });
  expect(JSON.parse(r.stdout)).toEqual({ status: 'sent', attempts: 2 });
  expect(server.requests).toHaveLength(2);
});

it('a crashed SQLite outbox reopened with its entry in backoff: whenSettled() gets the answer', async () => {
  failFirst = false;
  const path = join(dir, 'crashed.db');
  // What a process left behind when it died: one entry, one failed attempt, next try in 1.5 s.
  const store = sqliteStore({ path });
  await store.open();
  const now = Date.now();
  const [stored] = await store.append([
    {
      id: '6f1c4e0a-1b2c-4d3e-8f40-5a6b7c8d9e0f',
      conversationId: 'default',
      text: 'left behind',
      metadata: { guestId: 'g' },
      status: 'pending',
      attempts: 0,
      createdAt: now,
    },
  ]);
  await store.update({
    ...stored!,
    attempts: 1,
    nextAttemptAt: now + 1500,
    lastError: { code: 'server-error', message: 'HTTP 503', status: 503 },
  });
  await store.close();
  const r = await run(['sqlite', server.url, path]);
  expect({ code: r.code, killed: r.killed, stderr: r.stderr }).toEqual({
    code: 0,
    killed: false,
    stderr: '',
  });
  expect(JSON.parse(r.stdout)).toEqual({ status: 'sent', attempts: 2 });
  expect(server.requests).toHaveLength(1);
});

it('an outbox nobody awaits keeps nothing alive: the process exits while its entry waits in backoff', async () => {
  const r = await run(['no-wait', server.url]);
  expect({ code: r.code, killed: r.killed, stdout: r.stdout.trim() }).toEqual({
    code: 0,
    killed: false,
    stdout: 'backing off',
  });
  expect(server.requests).toHaveLength(1);
});
