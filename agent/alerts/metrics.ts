import type { MetricSpec } from '../plugin/api.ts';

/** Metrics the alert engine emits (registered with the metric registry, recorded in the store). */
export const ALERT_METRICS = {
  active: 'vigil.alerts.active',
  pending: 'vigil.alerts.pending',
  sent: 'vigil.alerts.notifications.sent',
  failed: 'vigil.alerts.notifications.failed',
  retried: 'vigil.alerts.notifications.retried',
  deadLettered: 'vigil.alerts.notifications.dead_lettered',
  dropped: 'vigil.alerts.notifications.dropped',
  deduplicated: 'vigil.alerts.notifications.deduplicated',
  queued: 'vigil.alerts.outbox.queued',
  silences: 'vigil.alerts.silences.active',
  /** OpenTelemetry histogram (through the meter, not the store). */
  latency: 'vigil.alerts.delivery.duration',
} as const;

const N = ['vigil.alert.notifier'];

export const ALERT_METRIC_SPECS: readonly MetricSpec[] = [
  { name: ALERT_METRICS.active, kind: 'gauge', unit: '{alert}', description: 'Firing alerts by tier.', attributes: ['vigil.alert.tier'] },
  { name: ALERT_METRICS.pending, kind: 'gauge', unit: '{alert}', description: 'Alerts pending (condition true, `for` not yet elapsed).', attributes: [] },
  { name: ALERT_METRICS.sent, kind: 'counter', unit: '{notification}', description: 'Notifications delivered.', attributes: N },
  { name: ALERT_METRICS.failed, kind: 'counter', unit: '{attempt}', description: 'Delivery attempts that failed (each retry counts).', attributes: N },
  { name: ALERT_METRICS.retried, kind: 'counter', unit: '{attempt}', description: 'Failed attempts scheduled for a retry.', attributes: N },
  { name: ALERT_METRICS.deadLettered, kind: 'counter', unit: '{notification}', description: 'Notifications moved to the dead-letter list (rejected or expired).', attributes: N },
  { name: ALERT_METRICS.dropped, kind: 'counter', unit: '{notification}', description: 'Notifications dropped because the outbox was full (oldest INFO first).', attributes: N },
  { name: ALERT_METRICS.deduplicated, kind: 'counter', unit: '{notification}', description: 'Notifications not queued again because an identical one was queued or sent within the dedup window.', attributes: [] },
  { name: ALERT_METRICS.queued, kind: 'gauge', unit: '{notification}', description: 'Notifications waiting in the outbox.', attributes: N },
  { name: ALERT_METRICS.silences, kind: 'gauge', unit: '{silence}', description: 'Active silences.', attributes: [] },
];
