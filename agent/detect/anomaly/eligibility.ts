import type { Series } from '../../store/series-store.ts';
import type { MetricRegistry } from '../../telemetry/metric-registry.ts';

/** Producers inside the agent; their metrics are the agent's own, not the app's. */
const CORE_PRODUCERS = new Set(['vigil', 'detect', 'forecast', 'alerts', 'ui', 'telemetry', 'agent']);

/** Compiles `*` globs (`process.memory.*`, `*gpu*`) to one matcher. */
export function globMatcher(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => false;
  const re = new RegExp(
    `^(?:${patterns.map((p) => p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')).join('|')})$`,
  );
  return (name) => re.test(name);
}

/**
 * Which series get a per-series detector: numeric gauges declared by plugins, matching the
 * include patterns and none of the exclude ones. Counters are cumulative totals (their level
 * always grows), the agent's own metrics (vigil.anomaly.score...) would feed back on
 * themselves, and limits named by another metric's `limit` (memory limits, maxmemory) are
 * configuration rather than behaviour, so all three are skipped unless named in `include`
 * explicitly (a pattern without `*`).
 */
function isLimit(registry: MetricRegistry, metric: string): boolean {
  for (const m of registry.all()) if (m.limit === metric) return true;
  return false;
}

export function seriesEligibility(registry: MetricRegistry, include: readonly string[], exclude: readonly string[]): (s: Series) => boolean {
  const inc = globMatcher(include);
  const exc = globMatcher(exclude);
  const cache = new Map<string, boolean>();
  return (s) => {
    if (CORE_PRODUCERS.has(s.source)) return false;
    let ok = cache.get(s.metric);
    if (ok === undefined) {
      const spec = registry.get(s.metric);
      const named = include.includes(s.metric);
      ok = spec !== undefined && spec.kind === 'gauge' && !CORE_PRODUCERS.has(spec.declaredBy) && inc(s.metric) && !exc(s.metric) && (named || !isLimit(registry, s.metric));
      // the registry only grows, so an eligible metric stays eligible; an unknown one may be registered later
      if (spec !== undefined) cache.set(s.metric, ok);
    }
    return ok;
  };
}
