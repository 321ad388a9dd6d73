import type { MetricSpec } from '../../plugin/api.ts';

export const ANOMALY_SCORE_METRIC = 'vigil.anomaly.score';

/** The one metric the anomaly detector emits (declaredBy `detect`). */
export const ANOMALY_METRIC_SPECS: readonly MetricSpec[] = [
  {
    name: ANOMALY_SCORE_METRIC,
    kind: 'gauge',
    unit: '1',
    description:
      'Calibrated anomaly score (0..1) of a series or group: 0.5 ≈ a 1-in-100,000 surprise given the recent past. Carries `metric` plus the scored series\' attributes, or `group` plus the group instance\'s attributes.',
    attributes: ['metric', 'group'],
  },
];
