// Diagnostic (not part of `npm run bench`): the cost of the SQLite store's calls on the drain
// path, 1,000 each, on 1,000 entries over 10 conversations: heads(), the 'sending' update, and
// removeDelivered (transcript line + removal). Run: node bench/diagnostics/sqlite-ops.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileNode } from '../lib/compile.mjs';
const lib = await import(await compileNode());
const dir = mkdtempSync(join(tmpdir(), 'sq-'));
const store = lib.sqliteStore({ path: join(dir, 'x.sqlite') });
await store.open();
const batch = [];
for (let i = 0; i < 1000; i++)
  batch.push({
    id: crypto.randomUUID(),
    conversationId: `c${i % 10}`,
    text: 'x'.repeat(200),
    status: 'pending',
    attempts: 0,
    createdAt: Date.now(),
    metadata: { guestId: 'g' },
  });
await store.append(batch);
let t = performance.now();
for (let i = 0; i < 1000; i++) await store.heads();
console.log('heads', ((performance.now() - t) / 1000).toFixed(3), 'ms');
const hs = await store.heads();
t = performance.now();
for (let i = 0; i < 1000; i++) await store.update({ ...hs[i % 10], status: 'sending' });
console.log('update', ((performance.now() - t) / 1000).toFixed(3), 'ms');
const list = await store.list();
t = performance.now();
for (let i = 0; i < 1000; i++)
  await store.removeDelivered(list[i].id, [
    {
      key: list[i].id,
      conversationId: list[i].conversationId,
      direction: 'Inbound',
      text: list[i].text,
      time: Date.now(),
      status: 'sent',
    },
  ]);
console.log('removeDelivered', ((performance.now() - t) / 1000).toFixed(3), 'ms');
await store.close();
rmSync(dir, { recursive: true, force: true });
