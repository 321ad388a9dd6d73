import type { MetricSpec } from '../../plugin/api.ts';

/**
 * The forecast module's outputs. Each series carries the watched series' own attributes plus
 * `metric` = the watched metric's name (e.g. `container.memory.working_set`), so alert rules
 * and dashboards can select by either.
 */
export const FORECAST_METRICS = {
  timeToExhaustion: 'vigil.forecast.time_to_exhaustion',
  timeToDrain: 'vigil.forecast.time_to_drain',
  trend: 'vigil.forecast.trend',
  confidence: 'vigil.forecast.confidence',
  utilization: 'vigil.forecast.utilization',
} as const;

/** Attribute naming the watched metric on every forecast series. */
export const WATCHED_METRIC_ATTRIBUTE = 'metric';

const ATTRS = [WATCHED_METRIC_ATTRIBUTE] as const;

export const FORECAST_METRIC_SPECS: readonly MetricSpec[] = [
  {
    name: FORECAST_METRICS.timeToExhaustion,
    kind: 'gauge',
    unit: 's',
    description:
      'Seconds until the watched series reaches detect.forecast.threshold (default 95 %) of its limit at the current trend. Absent when it is not heading there.',
    attributes: ATTRS,
  },
  {
    name: FORECAST_METRICS.timeToDrain,
    kind: 'gauge',
    unit: 's',
    description: 'Seconds until a falling series with a configured ceiling (a queue backlog) reaches zero. Absent unless it is draining.',
    attributes: ATTRS,
  },
  {
    name: FORECAST_METRICS.trend,
    kind: 'gauge',
    unit: '1',
    description: 'Trend of the watched series toward its limit: 1 degrading (heading to exhaustion), 0 stable (or levelling off below the threshold), -1 improving.',
    attributes: ATTRS,
  },
  {
    name: FORECAST_METRICS.confidence,
    kind: 'gauge',
    unit: '1',
    description: 'Confidence of the trend (0..1): how monotone it is (Kendall tau of the post-GC floor) times how much of the window has data; halved while growth is slowing.',
    attributes: ATTRS,
  },
  {
    name: FORECAST_METRICS.utilization,
    kind: 'gauge',
    unit: '1',
    description: 'Current level of the forecast envelope (sawtooth peak or floor) divided by the limit.',
    attributes: ATTRS,
  },
];
