/**
 * The `inin-ratelimit-*` headers Genesys adds to Platform responses (genesys-api.md §3). The
 * simulator counts requests per access token in fixed 60 s windows of its clock and reports them;
 * it does not enforce the limit (use `fail429` to get a 429).
 */
export class PlatformRateCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly now: () => number,
    private readonly allowed = 300,
    private readonly windowMs = 60_000,
  ) {}

  hit(token: string): Record<string, string> {
    const now = this.now();
    let window = this.windows.get(token);
    if (window === undefined || now - window.start >= this.windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(token, window);
    }
    window.count += 1;
    const resetSeconds = Math.max(0, Math.ceil((window.start + this.windowMs - now) / 1000));
    return {
      'inin-ratelimit-count': String(window.count),
      'inin-ratelimit-allowed': String(this.allowed),
      'inin-ratelimit-reset': String(resetSeconds),
    };
  }
}
