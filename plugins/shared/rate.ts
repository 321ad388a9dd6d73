/**
 * Rates over the last interval from cumulative counters, shared by the cache and queue
 * plugins. A counter that goes down (server restart, queue recreated) or whose epoch
 * changes (Redis run_id, memcached pid) yields no delta for that interval instead of a
 * negative rate, or a spike computed against a stale baseline.
 */

export interface Delta {
  /** Increase since the previous reading (never negative). */
  readonly delta: number;
  /** Seconds between the two readings (always > 0). */
  readonly seconds: number;
}

interface Reading {
  value: number;
  at: number;
  epoch: string | undefined;
}

export class CounterDeltas {
  private readonly last = new Map<string, Reading>();

  /**
   * Records `value` (a cumulative counter) under `key` at `at` (ms) and returns the increase
   * since the previous reading; undefined on the first reading, after a reset (the value
   * went down or the epoch changed) and when no time passed.
   */
  observe(key: string, value: number, at: number, epoch?: string): Delta | undefined {
    const prev = this.last.get(key);
    if (prev === undefined) {
      this.last.set(key, { value, at, epoch });
      return undefined;
    }
    const reset = prev.epoch !== epoch || value < prev.value;
    const delta = value - prev.value;
    const seconds = (at - prev.at) / 1000;
    prev.value = value;
    prev.at = at;
    prev.epoch = epoch;
    if (reset || !(seconds > 0) || !Number.isFinite(delta)) return undefined;
    return { delta, seconds };
  }

  /** Drops readings not refreshed since `before` (ms), so vanished queues/nodes free memory. */
  sweep(before: number): void {
    for (const [k, r] of this.last) if (r.at < before) this.last.delete(k);
  }

  get size(): number {
    return this.last.size;
  }
}

export interface Change {
  /** Signed change since the previous reading. */
  readonly change: number;
  readonly seconds: number;
}

/** Previous value of gauges (a backlog), for signed changes over the interval. */
export class GaugeChanges {
  private readonly last = new Map<string, { value: number; at: number }>();

  observe(key: string, value: number, at: number): Change | undefined {
    const prev = this.last.get(key);
    if (prev === undefined) {
      this.last.set(key, { value, at });
      return undefined;
    }
    const change = value - prev.value;
    const seconds = (at - prev.at) / 1000;
    prev.value = value;
    prev.at = at;
    if (!(seconds > 0) || !Number.isFinite(change)) return undefined;
    return { change, seconds };
  }

  forget(key: string): void {
    this.last.delete(key);
  }

  sweep(before: number): void {
    for (const [k, r] of this.last) if (r.at < before) this.last.delete(k);
  }
}

/** Hit ratio over an interval; undefined when there were no lookups or a delta is missing. */
export function intervalHitRatio(hits: Delta | undefined, misses: Delta | undefined): number | undefined {
  if (!hits || !misses) return undefined;
  const lookups = hits.delta + misses.delta;
  return lookups > 0 ? hits.delta / lookups : undefined;
}
