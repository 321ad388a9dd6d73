import http from 'node:http';
import https from 'node:https';
import type { Attributes } from '../../../agent/plugin/api.ts';
import type { Batch } from '../batch.ts';
import type { V8Target } from '../config.ts';
import { A, M } from '../metrics.ts';
import { FetchError, getText, safeUrl } from './http-get.ts';
import { parsePromText, type PromSample } from './prom-text.ts';

/** prom-client default metric names (without the app's prefix) → what we make of them. */
const PROM_CLIENT = {
  used: 'nodejs_heap_size_used_bytes',
  total: 'nodejs_heap_size_total_bytes',
  spaceUsed: 'nodejs_heap_space_size_used_bytes',
  spaceTotal: 'nodejs_heap_space_size_total_bytes',
  spaceAvailable: 'nodejs_heap_space_size_available_bytes',
  external: 'nodejs_external_memory_bytes',
  gcSum: 'nodejs_gc_duration_seconds_sum',
  gcCount: 'nodejs_gc_duration_seconds_count',
  /** Not a prom-client default: the one-line gauge the README asks apps to add. */
  limit: 'nodejs_heap_size_limit_bytes',
} as const;

/**
 * OpenTelemetry Node runtime metrics through a Prometheus exporter; the exporter appends the
 * unit (`_bytes`, `_seconds`) in recent versions and not in older ones, so both are accepted.
 * Note OTel's `v8js.memory.heap.limit` is each space's committed size (space_size), not the
 * heap limit: it maps to the per-space size here.
 */
const OTEL: Readonly<Record<string, string>> = {
  v8js_memory_heap_used: 'spaceUsed',
  v8js_memory_heap_used_bytes: 'spaceUsed',
  v8js_memory_heap_limit: 'spaceTotal',
  v8js_memory_heap_limit_bytes: 'spaceTotal',
  v8js_memory_heap_space_available_size: 'spaceAvailable',
  v8js_memory_heap_space_available_size_bytes: 'spaceAvailable',
  v8js_memory_heap_space_physical_size: 'spacePhysical',
  v8js_memory_heap_space_physical_size_bytes: 'spacePhysical',
  v8js_gc_duration_sum: 'gcSum',
  v8js_gc_duration_seconds_sum: 'gcSum',
  v8js_gc_duration_count: 'gcCount',
  v8js_gc_duration_seconds_count: 'gcCount',
  v8js_heap_size_limit: 'limit',
  v8js_heap_size_limit_bytes: 'limit',
};

type Field =
  | 'used'
  | 'total'
  | 'spaceUsed'
  | 'spaceTotal'
  | 'spaceAvailable'
  | 'spacePhysical'
  | 'external'
  | 'gcSum'
  | 'gcCount'
  | 'limit';

/** prom-client names spaces `old`, `new`...; OTel and V8 say `old_space`, `new_space`. */
function spaceName(raw: string): string {
  return raw.endsWith('_space') ? raw : `${raw}_space`;
}

/** What one scrape says about the heap, summed over duplicate series. */
export interface HeapReading {
  used?: number;
  total?: number;
  external?: number;
  limit?: number;
  spaceUsed: Map<string, number>;
  spaceTotal: Map<string, number>;
  spaceAvailable: Map<string, number>;
  spacePhysical: Map<string, number>;
  gcSum: Map<string, number>;
  gcCount: Map<string, number>;
}

/** Maps scraped samples (prom-client or OTel names) to a HeapReading. */
export function readHeap(samples: readonly PromSample[], prefix: string): HeapReading {
  const r: HeapReading = {
    spaceUsed: new Map(),
    spaceTotal: new Map(),
    spaceAvailable: new Map(),
    spacePhysical: new Map(),
    gcSum: new Map(),
    gcCount: new Map(),
  };
  const byPromClient = new Map<string, Field>(Object.entries(PROM_CLIENT).map(([f, n]) => [prefix + n, f as Field]));
  const addTo = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (const s of samples) {
    const field = byPromClient.get(s.name) ?? (OTEL[s.name] as Field | undefined);
    if (field === undefined || !Number.isFinite(s.value)) continue;
    switch (field) {
      case 'used':
      case 'total':
      case 'external':
      case 'limit':
        r[field] = (r[field] ?? 0) + s.value;
        break;
      case 'gcSum':
      case 'gcCount':
        addTo(r[field], s.labels['kind'] ?? s.labels['v8js_gc_type'] ?? 'unknown', s.value);
        break;
      default: {
        const space = s.labels['space'] ?? s.labels['v8js_heap_space_name'];
        if (space !== undefined) addTo(r[field], spaceName(space), s.value);
      }
    }
  }
  const sum = (m: Map<string, number>) => (m.size ? [...m.values()].reduce((a, b) => a + b, 0) : undefined);
  r.used ??= sum(r.spaceUsed);
  r.total ??= sum(r.spaceTotal);
  return r;
}

function wanted(prefix: string): (name: string) => boolean {
  const names = new Set<string>([...Object.values(PROM_CLIENT).map((n) => prefix + n), ...Object.keys(OTEL)]);
  return (name) => names.has(name);
}

function looksLikeHtml(contentType: string, body: string): boolean {
  if (contentType.includes('html')) return true;
  const head = body.trimStart().slice(0, 15).toLowerCase();
  return head.startsWith('<!doctype') || head.startsWith('<html') || head.startsWith('<');
}

/** One v8 target: the app's Prometheus endpoint. */
class V8Scraper {
  readonly name: string;
  private readonly attrs: Attributes;
  private readonly want: (name: string) => boolean;
  private readonly agent: http.Agent;

  constructor(private readonly t: V8Target) {
    this.name = t.name ?? new URL(t.url).host;
    this.attrs = { [A.target]: this.name };
    this.want = wanted(t.prefix);
    this.agent = t.url.startsWith('https:')
      ? new https.Agent({ keepAlive: true, maxSockets: 1 })
      : new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  async collect(batch: Batch, signal: AbortSignal): Promise<void> {
    const shown = safeUrl(this.t.url);
    try {
      const res = await getText(this.t.url, {
        timeoutMs: this.t.timeout,
        signal,
        agent: this.agent,
        headers: { accept: 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1', ...this.t.headers },
      });
      if (res.status < 200 || res.status > 299) throw new FetchError(`GET ${shown}: HTTP ${res.status}`);
      if (looksLikeHtml(res.contentType, res.body)) {
        const start = JSON.stringify(res.body.trimStart().slice(0, 30));
        throw new FetchError(
          `GET ${shown}: expected Prometheus text format, got ${res.contentType || 'no content type'} starting ${start}`,
        );
      }
      const { samples, malformed } = parsePromText(res.body, this.want);
      if (malformed > 0) batch.warn(`v8:${this.name}:garbage`, `${malformed} malformed line(s) in ${shown} skipped`);
      const h = readHeap(samples, this.t.prefix);
      if (h.used === undefined) {
        throw new FetchError(
          `GET ${shown}: no V8 heap metrics (${this.t.prefix}${PROM_CLIENT.used} or v8js_memory_heap_used) in the response`,
        );
      }
      this.emit(batch, h);
      batch.ok('v8', this.name);
    } catch (err) {
      const e = err instanceof FetchError ? err : new FetchError(`GET ${shown}: ${(err as Error).message}`);
      batch.fail('v8', this.name, e.message, e.unavailable);
    }
  }

  private emit(batch: Batch, h: HeapReading): void {
    const a = this.attrs;
    batch.add(M.heapUsed, h.used, a);
    batch.add(M.heapTotal, h.total, a);
    batch.add(M.external, h.external, a);
    const spaces: [string, Map<string, number>][] = [
      [M.heapSpaceUsed, h.spaceUsed],
      [M.heapSpaceSize, h.spaceTotal],
      [M.heapSpaceAvailable, h.spaceAvailable],
      [M.heapSpacePhysical, h.spacePhysical],
    ];
    for (const [metric, m] of spaces) for (const [space, v] of m) batch.add(metric, v, { ...a, [A.space]: space });
    for (const [kind, v] of h.gcSum) batch.add(M.gcDuration, v, { ...a, [A.gcType]: kind });
    for (const [kind, v] of h.gcCount) batch.add(M.gcCount, v, { ...a, [A.gcType]: kind });
    const limit = this.t.heap_limit ?? h.limit;
    batch.scope({ scope: 'v8_heap', attributes: a, usage: h.used!, limit });
  }

  stop(): void {
    this.agent.destroy();
  }
}

/** The v8 source: every configured endpoint, scraped concurrently. */
export class V8Source {
  private readonly scrapers: V8Scraper[];
  constructor(targets: readonly V8Target[]) {
    this.scrapers = targets.map((t) => new V8Scraper(t));
  }
  async collect(batch: Batch, signal: AbortSignal): Promise<void> {
    await Promise.all(this.scrapers.map((s) => s.collect(batch, signal)));
  }
  stop(): void {
    for (const s of this.scrapers) s.stop();
  }
}
