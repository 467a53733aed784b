// Browser chaos page: `window.c` for test/chaos/browser-chaos.mjs to drive. Every resolved send
// is reported at once through `window.committed(text, id)` (exposed by the harness), so a tab
// killed a moment later has already told which of its messages were durable. Unhandled errors
// are counted by the harness (Playwright's 'pageerror').
import * as lib from '/dist/browser/genesys-webmessaging-outbox.js';

/**
 * The transport's fetch, reporting every message request as this document sees it (start, end
 * with the status or 'error') through `window.req` (exposed by the harness).
 */
let requestNo = 0;
let issuedNo = 0;
const tracingFetch = async (url, init) => {
  let key;
  try {
    key = JSON.parse(String(init?.body ?? '')).externalId;
  } catch {
    key = undefined;
  }
  const n = ++requestNo;
  window.req?.({ proc: c.me, n, key, start: Date.now() });
  try {
    const res = await fetch(url, init);
    window.req?.({ proc: c.me, n, key, end: Date.now(), status: res.status });
    return res;
  } catch (error) {
    window.req?.({ proc: c.me, n, key, end: Date.now(), status: 'error' });
    throw error;
  }
};

const c = {
  /** This document: a reload is another one. */
  me: crypto.randomUUID(),
  outbox: undefined,
  async start({ url, token, name, guest, retry }) {
    const transport = guest
      ? lib.guestTransport({
          webSocketUrl: guest.wsUrl,
          apiBaseUrl: guest.apiBaseUrl,
          deploymentId: 'sim-deployment',
          conversationId: 'c0',
          reconnect: { baseDelayMs: 50, maxDelayMs: 500 },
          echoTimeoutMs: guest.echoTimeoutMs,
          connectWaitMs: guest.connectWaitMs,
        })
      : lib.httpTransport({
          url,
          getAccessToken: () => token,
          timeoutMs: 1500,
          fetch: tracingFetch,
        });
    c.outbox = await lib.createOutbox({
      name,
      transport,
      retry,
      logger: { debug() {}, warn() {}, error() {} },
    });
    // an attempt this tab saw fail (timeout, network, 5xx...): a repeat after it is needed
    c.outbox.subscribe((e) => {
      if (e.type === 'status' && e.entry.status === 'pending' && e.entry.lastError) {
        window.attemptFailed?.(e.entry.id, Date.now());
      }
    });
  },
  /**
   * Issues every send at once, in this order, none awaited: in one task (one group commit), or
   * with `spread` each in its own task (separate commits racing each other).
   */
  burst(messages, spread = false) {
    const one = (m) => {
      // the call order: this document's count, and a time that orders documents (reloads)
      window.issued?.(m.text, performance.timeOrigin + performance.now(), ++issuedNo);
      c.outbox.send({ text: m.text, conversationId: 'c0', metadata: { guestId: 'g' } }).then(
        (entry) => window.committed?.(m.text, entry.id),
        (error) => window.rejected?.(m.text, String(error?.code ?? error)),
      );
    };
    if (!spread) for (const m of messages) one(m);
    else for (const m of messages) setTimeout(() => one(m), 0);
  },
  async list() {
    // lastError: the judge tells a failed-by-design entry (conversation-ended) from a stuck one
    return (await c.outbox.list()).map((e) => ({
      id: e.id,
      text: e.text,
      status: e.status,
      lastError: e.lastError,
    }));
  },
};
window.c = c;
