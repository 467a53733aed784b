// The tutorial's scheduler, re-implemented minimally and faithfully for Node: every 5 seconds,
// `processQueue()` reads the whole queue (`getAll()`; an in-memory array stands in for
// IndexedDB here) and looks for due messages. Timers go through the given clock so they can be
// counted exactly like the library's.
export function startTutorialPolling(clock, queue = []) {
  const RETRY_INTERVAL_MS = 5000;
  const processQueue = async () => {
    const all = [...queue]; // getAll()
    const now = clock.now();
    for (const msg of all) {
      if (msg.timestamp + msg.nextRetryAt <= now) {
        // attemptSend(msg): never reached, the queue is empty
      }
    }
  };
  const handle = clock.setInterval(() => void processQueue(), RETRY_INTERVAL_MS);
  return () => clock.clearInterval(handle);
}
