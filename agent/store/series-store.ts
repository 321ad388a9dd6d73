import type { Attributes } from '../plugin/api.ts';

/**
 * One time series: a metric plus a fixed attribute set, kept in a ring buffer that grows
 * on demand up to `capacity` points, so idle or short-lived series cost little.
 */
export class Series {
  readonly id: number;
  readonly key: string;
  readonly metric: string;
  readonly attributes: Attributes;
  /** Who writes it: a plugin instance name, or `detect`, `forecast`... */
  readonly source: string;
  /** Expected spacing of points, ms; staleness is judged against it. */
  intervalMs: number;
  readonly capacity: number;
  /** Unix ms of the newest point; 0 before the first. */
  lastUpdate = 0;
  /** Newest value (NaN before the first), kept outside the ring for cheap reads. */
  lastValue = Number.NaN;
  /** The source's last collection did not include it (process gone, queue deleted...). */
  ended = false;
  /** Collection generation that last wrote it (set by the plugin host; see endMissing). */
  generation = 0;
  private t: Float64Array;
  private v: Float64Array;
  private head = 0; // index of the next write
  private count = 0;

  constructor(id: number, key: string, metric: string, attributes: Attributes, source: string, intervalMs: number, capacity: number) {
    this.id = id;
    this.key = key;
    this.metric = metric;
    this.attributes = attributes;
    this.source = source;
    this.intervalMs = intervalMs;
    this.capacity = capacity;
    const initial = Math.min(capacity, 16);
    this.t = new Float64Array(initial);
    this.v = new Float64Array(initial);
  }

  get length(): number {
    return this.count;
  }

  push(t: number, v: number): void {
    this.ended = false;
    // Points stay in time order (window() relies on it): a repeat of the newest timestamp
    // replaces its value, an older one is dropped.
    if (this.count > 0 && t <= this.lastUpdate) {
      if (t === this.lastUpdate) {
        this.v[(this.head - 1 + this.t.length) % this.t.length] = v;
        this.lastValue = v;
      }
      return;
    }
    if (this.count === this.t.length && this.t.length < this.capacity) this.grow();
    this.t[this.head] = t;
    this.v[this.head] = v;
    this.head = (this.head + 1) % this.t.length;
    if (this.count < this.t.length) this.count++;
    this.lastUpdate = t;
    this.lastValue = v;
  }

  /** The i-th oldest retained point (0 = oldest). */
  timeAt(i: number): number {
    return this.t[this.physical(i)]!;
  }

  valueAt(i: number): number {
    return this.v[this.physical(i)]!;
  }

  /** Points with from <= t <= to, oldest first, as fresh arrays. */
  window(fromMs: number, toMs = Number.POSITIVE_INFINITY): { t: Float64Array; v: Float64Array } {
    let first = this.count;
    for (let i = 0; i < this.count; i++) {
      if (this.timeAt(i) >= fromMs) {
        first = i;
        break;
      }
    }
    let last = first;
    while (last < this.count && this.timeAt(last) <= toMs) last++;
    const n = last - first;
    const t = new Float64Array(n);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      t[i] = this.timeAt(first + i);
      v[i] = this.valueAt(first + i);
    }
    return { t, v };
  }

  /** Approximate bytes held by the point buffers. */
  get bytes(): number {
    return this.t.byteLength + this.v.byteLength;
  }

  private physical(i: number): number {
    const len = this.t.length;
    const start = this.count < len ? 0 : this.head;
    return (start + i) % len;
  }

  private grow(): void {
    const n = Math.min(this.capacity, this.t.length * 2);
    const t = new Float64Array(n);
    const v = new Float64Array(n);
    for (let i = 0; i < this.count; i++) {
      t[i] = this.timeAt(i);
      v[i] = this.valueAt(i);
    }
    this.t = t;
    this.v = v;
    this.head = this.count % n;
  }
}

export interface SeriesStoreOptions {
  /** How long points are kept, ms. */
  retentionMs: number;
  /** Hard cap on live series (the cardinality limit); new series beyond it are refused. */
  maxSeries: number;
  /** Upper bound on points per series whatever the interval (memory guard). */
  maxPointsPerSeries?: number;
}

export type SeriesListener = (series: Series) => void;

/**
 * Bounded in-memory store of recent samples. Memory is bounded by
 * maxSeries × maxPointsPerSeries × 16 bytes whatever plugins emit.
 */
export class SeriesStore {
  readonly retentionMs: number;
  readonly maxSeries: number;
  readonly maxPointsPerSeries: number;
  /** Samples refused because the series cap was reached (a counter). */
  refused = 0;
  private readonly byKey = new Map<string, Series>();
  private readonly byId = new Map<number, Series>();
  /**
   * Series by frozen attribute object, then metric: plugins that keep one frozen attribute
   * object per series skip building the canonical key (a string per sample) on every point.
   */
  private readonly byFrozenAttributes = new WeakMap<Attributes, Map<string, Series>>();
  private readonly byMetricIndex = new Map<string, Series[]>();
  private readonly bySourceIndex = new Map<string, Series[]>();
  private nextId = 1;
  private readonly added = new Set<SeriesListener>();
  private readonly removed = new Set<SeriesListener>();

  constructor(opts: SeriesStoreOptions) {
    this.retentionMs = opts.retentionMs;
    this.maxSeries = opts.maxSeries;
    this.maxPointsPerSeries = opts.maxPointsPerSeries ?? 7200;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Canonical key: metric plus attributes sorted by name. */
  static keyOf(metric: string, attributes: Attributes | undefined): string {
    if (!attributes) return metric;
    const names = Object.keys(attributes);
    if (names.length === 0) return metric;
    names.sort();
    let key = metric;
    for (const n of names) key += `\u0000${n}=${String(attributes[n])}`;
    return key;
  }

  /**
   * Appends a point, creating the series on first sight. Returns undefined (and counts a
   * refusal) when creating it would exceed the series cap.
   */
  record(source: string, metric: string, attributes: Attributes | undefined, value: number, t: number, intervalMs: number): Series | undefined {
    // A frozen object cannot change between calls, so its identity stands for its key.
    const frozen = attributes !== undefined && Object.isFrozen(attributes) ? attributes : undefined;
    let byMetric = frozen ? this.byFrozenAttributes.get(frozen) : undefined;
    let s = byMetric?.get(metric);
    if (s !== undefined && this.byId.get(s.id) === s) {
      if (s.intervalMs !== intervalMs) s.intervalMs = intervalMs;
      s.push(t, value);
      return s;
    }
    const key = SeriesStore.keyOf(metric, attributes);
    s = this.byKey.get(key);
    if (!s) {
      if (this.byId.size >= this.maxSeries) {
        this.refused++;
        return undefined;
      }
      const capacity = Math.max(2, Math.min(this.maxPointsPerSeries, Math.ceil(this.retentionMs / Math.max(1, intervalMs)) + 1));
      s = new Series(this.nextId++, key, metric, Object.freeze({ ...(attributes ?? {}) }), source, intervalMs, capacity);
      this.byKey.set(key, s);
      this.byId.set(s.id, s);
      pushIndex(this.byMetricIndex, metric, s);
      pushIndex(this.bySourceIndex, source, s);
      for (const l of this.added) l(s);
    } else if (s.intervalMs !== intervalMs) {
      s.intervalMs = intervalMs;
    }
    if (frozen) {
      if (!byMetric) this.byFrozenAttributes.set(frozen, (byMetric = new Map()));
      byMetric.set(metric, s);
    }
    s.push(t, value);
    return s;
  }

  get(id: number): Series | undefined {
    return this.byId.get(id);
  }

  lookup(metric: string, attributes?: Attributes): Series | undefined {
    return this.byKey.get(SeriesStore.keyOf(metric, attributes));
  }

  all(): IterableIterator<Series> {
    return this.byId.values();
  }

  /** Every series of a metric (the array is the store's own: do not modify). */
  byMetric(metric: string): readonly Series[] {
    return this.byMetricIndex.get(metric) ?? EMPTY;
  }

  bySource(source: string): readonly Series[] {
    return this.bySourceIndex.get(source) ?? EMPTY;
  }

  /** Series of a metric whose attributes include all of `match`. */
  find(metric: string, match?: Attributes): Series[] {
    const out: Series[] = [];
    for (const s of this.byMetric(metric)) if (!match || attributesMatch(s.attributes, match)) out.push(s);
    return out;
  }

  metrics(): IterableIterator<string> {
    return this.byMetricIndex.keys();
  }

  /** A series is fresh while it is not ended and its last point is within 2.5 intervals. */
  isFresh(s: Series, now: number): boolean {
    return !s.ended && s.lastUpdate > 0 && now - s.lastUpdate <= s.intervalMs * 2.5 + 1000;
  }

  /**
   * Ends the source's series that its latest collection (`generation`) did not write, among
   * the metrics that collection did report: a process that exited drops out while its peers
   * are still reported. A metric with no sample at all this time (a sub-sampled query, a
   * stream with nothing new) is left to go stale on its own after 2.5 intervals.
   */
  endMissing(source: string, generation: number, reportedMetrics: ReadonlySet<string>): void {
    for (const s of this.bySource(source)) if (s.generation !== generation && reportedMetrics.has(s.metric)) s.ended = true;
  }

  /** Drops series with no point within the retention window; call periodically. */
  prune(now: number): number {
    let dropped = 0;
    for (const s of this.byId.values()) {
      if (now - s.lastUpdate > this.retentionMs) {
        this.remove(s);
        dropped++;
      }
    }
    return dropped;
  }

  /** Drops every series of a source (a plugin removed on reload). */
  removeSource(source: string): void {
    for (const s of [...this.bySource(source)]) this.remove(s);
  }

  onSeriesAdded(l: SeriesListener): () => void {
    this.added.add(l);
    return () => this.added.delete(l);
  }

  onSeriesRemoved(l: SeriesListener): () => void {
    this.removed.add(l);
    return () => this.removed.delete(l);
  }

  /** Approximate bytes held by point buffers. */
  bytes(): number {
    let b = 0;
    for (const s of this.byId.values()) b += s.bytes;
    return b;
  }

  private remove(s: Series): void {
    this.byKey.delete(s.key);
    this.byId.delete(s.id);
    dropIndex(this.byMetricIndex, s.metric, s);
    dropIndex(this.bySourceIndex, s.source, s);
    for (const l of this.removed) l(s);
  }
}

const EMPTY: readonly Series[] = Object.freeze([]);

export function attributesMatch(attrs: Attributes, match: Attributes): boolean {
  for (const k in match) if (attrs[k] !== match[k]) return false;
  return true;
}

function pushIndex(index: Map<string, Series[]>, k: string, s: Series): void {
  const list = index.get(k);
  if (list) list.push(s);
  else index.set(k, [s]);
}

function dropIndex(index: Map<string, Series[]>, k: string, s: Series): void {
  const list = index.get(k);
  if (!list) return;
  const i = list.indexOf(s);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) index.delete(k);
}
