// A claim that answers the next head of a conversation whose previous attempt has written its
// verdict (the store moved on) but has not settled in this process yet: the dispatcher skipped
// that head and never gave it back, so it stayed claimed, 'sending' and unattempted until the
// lease ran out (60 s here), and the conversation stood still. Seen as a flaky timeout in
// postgres-encrypted.test.ts once sealing in Node became synchronous (timings shifted).
import { afterAll, describe, expect, it } from 'vitest';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import { postgresStore } from '../../src/store/postgres.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { silentLogger } from '../../src/internal/logger.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/waitFor.js';

const cluster = await startPostgres();
afterAll(() => cluster.stop());

describe('postgresStore claims: the next head of a conversation still settling here', () => {
  it('is given back once that attempt settles and delivered, not held until the lease ends', async () => {
    const store = postgresStore({
      connectionString: cluster.url,
      schema: `claim_behind_${process.pid}`,
      leaseMs: 60_000,
    });
    /** Filled in below; read by the hooks. */
    const at: { outbox?: Outbox; firstId?: string; secondId?: string } = {};
    let claimedNext!: () => void;
    const nextClaimed = new Promise<void>((r) => (claimedNext = r));
    const hooked: OutboxStore = {
      ...store,
      claimDue: async (options) => {
        const result = await store.claimDue!(options);
        if (result.entries.some((e) => e.id === at.secondId)) claimedNext();
        return result;
      },
      removeDelivered: async (id, records) => {
        await store.removeDelivered!(id, records);
        if (id !== at.firstId) return;
        // The verdict is committed; before this attempt settles, another pass claims (a wake:
        // NOTIFY from another worker, a send, flush) and gets the conversation's next head.
        void at.outbox?.flush();
        await nextClaimed;
      },
    };
    const transport = new ScriptedTransport();
    let open!: () => void;
    transport.gate = new Promise<void>((r) => (open = r)); // both stored before the first goes
    const outbox = await createOutbox({ transport, store: hooked, logger: silentLogger });
    at.outbox = outbox;
    const first = await outbox.send({ text: 'one', conversationId: 'c1' });
    at.firstId = first.id;
    const second = await outbox.send({ text: 'two', conversationId: 'c1' });
    at.secondId = second.id;
    open();
    await waitFor(() => transport.delivered.length >= 2, { what: 'both delivered' });
    expect(transport.delivered.map((e) => e.id)).toEqual([first.id, second.id]);
    await outbox.close();
  });
});
