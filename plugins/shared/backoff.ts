/**
 * Reconnect pacing for one connection: after a failure, no new attempt before an
 * exponentially growing (jittered) delay. A connection that worked and then dropped is
 * retried at once, so a CLIENT KILL or a broker restart costs one interval at most.
 */
export class Backoff {
  private failures = 0;
  private notBefore = 0;

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 60_000,
  ) {}

  /** True when a (re)connect may be attempted now. */
  ready(now: number): boolean {
    return now >= this.notBefore;
  }

  /** Milliseconds until the next attempt is allowed (0 when allowed now). */
  waitMs(now: number): number {
    return Math.max(0, this.notBefore - now);
  }

  fail(now: number): void {
    this.failures++;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(16, this.failures - 1));
    this.notBefore = now + delay * (0.8 + Math.random() * 0.4);
  }

  succeed(): void {
    this.failures = 0;
    this.notBefore = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
