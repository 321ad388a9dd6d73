/**
 * Metrics produced by the core and its subsystems (not by plugins), known before those
 * subsystems start, so config checks (alert rules naming a metric) can accept them.
 */
import { ALERT_METRIC_SPECS } from '../alerts/metrics.ts';

export const CORE_METRIC_NAMES: readonly string[] = [
  ...ALERT_METRIC_SPECS.map((m) => m.name),
  'vigil.plugin.up',
  'vigil.plugin.collection.duration',
  'vigil.plugin.errors',
  'vigil.plugin.samples',
  'vigil.plugin.samples.malformed',
  'vigil.store.series',
  'vigil.store.series.refused',
  'vigil.anomaly.score',
  'vigil.forecast.time_to_exhaustion',
  'vigil.forecast.trend',
  'vigil.forecast.confidence',
];
