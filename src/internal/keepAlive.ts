/**
 * Design rule 12: a Node program awaiting `whenSettled()` or `flush()` is kept alive until the
 * answer comes (every library timer is unref'd, so without this a retry in backoff lets the
 * process exit with nothing sent). While at least one hold is taken, one ref'd interval that
 * never does anything keeps the event loop alive; it wakes nothing, so nothing polls. Browsers
 * (timers without `unref`) get nothing.
 */
export function keepAlive(): () => () => void {
  let holds = 0;
  let handle: ReturnType<typeof setInterval> | undefined;
  return () => {
    // Only where timers can be unref'd (Node); a browser tab needs nothing of this.
    if (holds++ === 0 && typeof (handle = setInterval(() => {}, 1 << 30)) === 'number') {
      clearInterval(handle);
      handle = undefined;
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--holds === 0) clearInterval(handle);
    };
  };
}
