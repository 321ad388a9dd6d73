import type { Series, SeriesStore } from '../store/series-store.ts';
import type { MetricRegistry } from '../telemetry/metric-registry.ts';

/**
 * Which series the live page charts. A person opening the page mid-incident wants the few
 * series that say "how close to the edge": utilizations, pressures, backlogs, hit ratios,
 * forecasts and anomaly scores — not every counter a plugin emits. The choice is a
 * ranking by name, so plugins added later get sensible charts without UI changes.
 */
const PRIORITY: readonly RegExp[] = [
  /utilization$/,
  /(^|\.)pressure(\.level)?$/,
  /time_to_exhaustion$/,
  /hit_ratio$/,
  /backlog|\.pending$|waiting$|ready$/,
  /time_to_drain$/,
  /working_set$|memory\.usage$|heap\.used$|memory\.used$/,
  /anomaly\.score$/,
  /limit$/,
  /temperature|power\.draw|\.power$/,
  /imbalance$/,
  /cpu\.utilization|load/,
];

export interface KeySeriesLimits {
  /** Charts (metrics) per source. */
  readonly metricsPerSource: number;
  /** Series per chart. */
  readonly seriesPerMetric: number;
  /** Hard cap over everything (bounds the page's payload whatever plugins emit). */
  readonly total: number;
}

export const DEFAULT_LIMITS: KeySeriesLimits = { metricsPerSource: 6, seriesPerMetric: 8, total: 120 };

function rank(metric: string): number {
  for (let i = 0; i < PRIORITY.length; i++) if (PRIORITY[i]!.test(metric)) return i;
  return PRIORITY.length;
}

/**
 * Picks the charted series: per source (plugin instance or core module), its best-ranked
 * metrics; counters are skipped (a running total says little on a 5-minute chart).
 */
export function selectKeySeries(store: SeriesStore, registry: MetricRegistry, limits: KeySeriesLimits = DEFAULT_LIMITS): Series[] {
  // source -> metric -> series
  const bySource = new Map<string, Map<string, Series[]>>();
  for (const metric of store.metrics()) {
    const spec = registry.get(metric);
    if (spec && spec.kind === 'counter') continue;
    for (const s of store.byMetric(metric)) {
      if (s.ended) continue;
      let metrics = bySource.get(s.source);
      if (!metrics) bySource.set(s.source, (metrics = new Map()));
      let list = metrics.get(metric);
      if (!list) metrics.set(metric, (list = []));
      if (list.length < limits.seriesPerMetric) list.push(s);
    }
  }
  const out: Series[] = [];
  const sources = [...bySource.keys()].sort();
  for (const source of sources) {
    const metrics = bySource.get(source)!;
    const names = [...metrics.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const ranked = names.filter((n) => rank(n) < PRIORITY.length);
    // A source with no recognised metric still gets a few charts, so nothing is invisible.
    const chosen = (ranked.length > 0 ? ranked : names).slice(0, limits.metricsPerSource);
    for (const name of chosen) {
      for (const s of metrics.get(name)!) {
        if (out.length >= limits.total) return out;
        out.push(s);
      }
    }
  }
  return out;
}
