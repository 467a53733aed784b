import type { Simulator } from '../../simulator/index.js';
import { clientCredentials } from '../../src/auth/clientCredentials.js';
import { silentLogger } from '../../src/internal/logger.js';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import type { Outbox, OutboxOptions } from '../../src/outbox/createOutbox.js';
import { TUTORIAL_MESSAGES_PATH } from '../../src/outbox/OfflineMessageQueue.js';
import { memoryStore } from '../../src/store/memory.js';
import { httpTransport } from '../../src/transport/http.js';
import type { HttpTransportOptions } from '../../src/transport/http.js';

/**
 * An outbox posting to the simulator's tutorial endpoint with a client-credentials token, fast
 * retries, and no multi-tab coordination. `transport.fetch` is used for the token requests too.
 */
export function tutorialOutbox(
  sim: Simulator,
  extra: Partial<OutboxOptions> = {},
  transport: Partial<HttpTransportOptions> = {},
): Promise<Outbox> {
  return createOutbox({
    store: memoryStore(),
    coordinator: false,
    logger: silentLogger,
    retry: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 5 },
    transport: httpTransport({
      url: sim.url + TUTORIAL_MESSAGES_PATH,
      getAccessToken: clientCredentials({
        loginUrl: sim.url,
        clientId: 'sim-client',
        clientSecret: 'sim-secret',
        ...(transport.fetch === undefined ? {} : { fetch: transport.fetch }),
      }),
      timeoutMs: 2000,
      ...transport,
    }),
    ...extra,
  });
}
