// The outbox of the lazy-chunk tests: IndexedDB (fake-indexeddb) database `name`, a scripted
// transport, no coordinator. createOutbox is imported when called, not at the top of the test
// file: the test's vi.mock of a chunk (gated or failing) must be in place first, and with the
// mocked module in the first load that import itself would wait for the gate.
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { silentLogger } from '../../src/internal/logger.js';
import { ScriptedTransport } from './scriptedTransport.js';

export async function lazyOutbox(name: string) {
  const { createOutbox } = await import('../../src/outbox/createOutbox.js');
  const transport = new ScriptedTransport();
  const outbox = await createOutbox({
    transport,
    store: indexedDbStore({ name }),
    coordinator: false,
    logger: silentLogger,
  });
  return { outbox, transport, name };
}
