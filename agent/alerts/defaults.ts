import type { RuleConfig } from './config.ts';

/*
 * Built-in rules, on unless `alerts.default_rules.enabled: false` (or listed in
 * `default_rules.disable`, or replaced by a configured rule of the same name). A built-in rule
 * whose metric no enabled plugin emits simply never sees a series: inactive, not an error.
 * Written out in full (not parsed through the schema) to keep config.ts ↔ defaults.ts acyclic.
 */

const common = { enabled: true, keep_firing_for: 0, labels: {}, annotations: {} } as const;

/** Metric names the defaults watch (declared by plugins/<name>/metrics.ts). */
export const DEFAULT_METRICS = {
  memoryUtilization: 'vigil.memory.utilization',
  oomKills: 'vigil.container.memory.oom_kills',
  gpuMemoryUtilization: 'hw.gpu.memory.utilization',
  cpuBusy: 'vigil.system.cpu.busy',
  cacheHitRatio: 'vigil.cache.hit_ratio',
  queueBacklog: 'vigil.queue.backlog',
} as const;

export const DEFAULT_RULES: readonly RuleConfig[] = [
  {
    ...common,
    name: 'memory-utilization',
    type: 'threshold',
    metric: DEFAULT_METRICS.memoryUtilization,
    match: {},
    above: { info: 0.7, warning: 0.8, critical: 0.9 },
    clear: 0.67,
    aggregate: 'last',
    window: 60_000,
    for: 60_000,
    annotations: { summary: 'Memory utilization high ({{labels.vigil.memory.scope}})' },
  },
  {
    ...common,
    name: 'gpu-memory-utilization',
    type: 'threshold',
    metric: DEFAULT_METRICS.gpuMemoryUtilization,
    match: {},
    above: { warning: 0.85, critical: 0.95 },
    clear: 0.82,
    aggregate: 'last',
    window: 60_000,
    for: 60_000,
    annotations: { summary: 'GPU memory nearly full' },
  },
  {
    ...common,
    name: 'cpu-utilization',
    type: 'threshold',
    metric: DEFAULT_METRICS.cpuBusy,
    match: {},
    above: { warning: 0.9 },
    clear: 0.85,
    aggregate: 'last',
    window: 60_000,
    for: 300_000,
    annotations: { summary: 'CPU busy above 90%' },
  },
  {
    ...common,
    name: 'cache-hit-ratio',
    type: 'threshold',
    metric: DEFAULT_METRICS.cacheHitRatio,
    match: {},
    below: { warning: 0.5 },
    clear: 0.55,
    aggregate: 'last',
    window: 60_000,
    for: 300_000,
    annotations: { summary: 'Cache hit ratio below 50%' },
  },
  {
    ...common,
    name: 'queue-backlog-growing',
    type: 'threshold',
    metric: DEFAULT_METRICS.queueBacklog,
    match: {},
    // Least-squares slope of the backlog over the last 5 minutes (messages/s), above a small
    // epsilon so an idle queue at 0–1 message never counts; held 1 min so one burst does not.
    above: { warning: 0.01 },
    clear: 0,
    aggregate: 'rate',
    window: 300_000,
    for: 60_000,
    annotations: { summary: 'Queue backlog growing for 5 minutes' },
  },
  {
    ...common,
    name: 'oom-kills',
    type: 'threshold',
    metric: DEFAULT_METRICS.oomKills,
    match: {},
    above: { warning: 1, critical: 3 },
    aggregate: 'increase',
    window: 3_600_000,
    for: 0,
    annotations: { summary: 'OOM-killed {{value}} times in the last hour' },
  },
  {
    ...common,
    name: 'memory-exhaustion-forecast',
    type: 'forecast',
    match: {},
    within: { warning: 1_800_000, critical: 300_000 },
    // No hold: a fast leak's whole life can be shorter than the 30-minute horizon, and a held
    // alert would skip its WARNING. The minute of grace bridges a forecast that drops out for
    // a moment in the middle of a real leak.
    for: 0,
    keep_firing_for: 60_000,
    annotations: { summary: 'Resource forecast to run out in {{eta}}' },
  },
  {
    ...common,
    name: 'anomaly',
    type: 'anomaly',
    match: {},
    // The detector's calibrated score: 0.5 ≈ a 1-in-100,000 surprise; 3 in a row is worth a look.
    // INFO by default: "unlike the recent past" is not yet trouble (a swap page-in on a healthy
    // app is unusual but harmless); forecasts and thresholds carry the WARNINGs. Raise it per
    // rule where an anomaly on a metric is known to matter.
    sensitivity: 0.5,
    samples: 3,
    severity: 'info',
    for: 0,
    annotations: { summary: 'Anomalous behaviour of {{metric}}' },
  },
  {
    ...common,
    name: 'plugin-absent',
    type: 'absent',
    plugin: '*',
    match: {},
    severity: 'warning',
    for: 300_000,
    annotations: { summary: 'Plugin {{labels.plugin}} not collecting' },
  },
];
