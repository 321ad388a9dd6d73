/**
 * Generates the Grafana dashboards in deploy/grafana/dashboards/ (committed JSON, so Grafana
 * provisioning needs nothing but the files). Edit this, then:
 *
 *   npx tsx deploy/grafana/build-dashboards.ts
 *
 * test/deploy/grafana.test.ts fails when the JSON files and this generator disagree, and runs
 * every query against a real Prometheus that scraped a running agent.
 *
 * Prometheus names are the OpenTelemetry names with dots as underscores (counters + _total);
 * `namespace` and `pod` come from the scrape (deploy/prometheus/scrape-config.yaml relabels).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  format?: 'table' | 'time_series';
  datasource: { type: 'prometheus'; uid: string };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: 'prometheus'; uid: string };
  targets?: Target[];
  fieldConfig?: unknown;
  options?: unknown;
  links?: { title: string; url: string; targetBlank?: boolean }[];
  collapsed?: boolean;
  panels?: Panel[];
  transformations?: unknown[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: unknown[] };
  [k: string]: unknown;
}

const DS = { type: 'prometheus' as const, uid: '${datasource}' };
/** The label selector every vigil query carries. */
const POD = 'namespace=~"$namespace", pod=~"$pod"';
const sel = (extra = ''): string => `{${POD}${extra ? `, ${extra}` : ''}}`;

type Unit = 'bytes' | 'percentunit' | 's' | 'short' | 'watt' | 'celsius' | 'hertz' | 'ops' | 'none' | 'dtdurations';

interface PanelSpec {
  title: string;
  description?: string;
  type?: 'timeseries' | 'stat' | 'table' | 'state-timeline' | 'bargauge';
  unit?: Unit;
  w?: number;
  h?: number;
  min?: number;
  max?: number;
  thresholds?: { value: number | null; color: string }[];
  targets: { expr: string; legend?: string; instant?: boolean; format?: 'table' }[];
  links?: Panel['links'];
  overrides?: unknown[];
  mappings?: unknown[];
  stack?: boolean;
}

class Builder {
  private id = 1;
  private x = 0;
  private y = 0;
  private rowH = 0;
  readonly panels: Panel[] = [];

  row(title: string): void {
    this.newLine();
    this.panels.push({ id: this.id++, type: 'row', title, collapsed: false, gridPos: { x: 0, y: this.y, w: 24, h: 1 }, panels: [] });
    this.y += 1;
  }

  private newLine(): void {
    if (this.x > 0) {
      this.y += this.rowH;
      this.x = 0;
      this.rowH = 0;
    }
  }

  add(p: PanelSpec): void {
    const w = p.w ?? 12;
    const h = p.h ?? 8;
    if (this.x + w > 24) this.newLine();
    const type = p.type ?? 'timeseries';
    const defaults: Record<string, unknown> = { unit: p.unit ?? 'short' };
    if (p.min !== undefined) defaults.min = p.min;
    if (p.max !== undefined) defaults.max = p.max;
    if (p.thresholds) defaults.thresholds = { mode: 'absolute', steps: p.thresholds };
    if (p.mappings) defaults.mappings = p.mappings;
    if (type === 'timeseries') {
      defaults.custom = { lineWidth: 1, fillOpacity: p.stack ? 30 : 8, showPoints: 'never', spanNulls: true, ...(p.stack ? { stacking: { mode: 'normal' } } : {}) };
    }
    const panel: Panel = {
      id: this.id++,
      type,
      title: p.title,
      gridPos: { x: this.x, y: this.y, w, h },
      datasource: DS,
      targets: p.targets.map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        expr: t.expr,
        ...(t.legend !== undefined ? { legendFormat: t.legend } : {}),
        ...(t.instant ? { instant: true } : {}),
        ...(t.format ? { format: t.format } : {}),
        datasource: DS,
      })),
      fieldConfig: { defaults, overrides: p.overrides ?? [] },
      options:
        type === 'timeseries'
          ? { legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } }
          : type === 'stat'
            ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'none', textMode: 'value_and_name' }
            : {},
    };
    if (p.description) panel.description = p.description;
    if (p.links) panel.links = p.links;
    this.panels.push(panel);
    this.x += w;
    this.rowH = Math.max(this.rowH, h);
  }
}

const TIER_THRESHOLDS = [
  { value: null, color: 'green' },
  { value: 0.7, color: 'yellow' },
  { value: 0.8, color: 'orange' },
  { value: 0.9, color: 'red' },
];
const PRESSURE_MAPPINGS = [
  {
    type: 'value',
    options: {
      '0': { text: 'low', color: 'green' },
      '1': { text: 'medium', color: 'yellow' },
      '2': { text: 'high', color: 'orange' },
      '3': { text: 'critical', color: 'red' },
    },
  },
];

const JAEGER_POD = '${jaeger_url}/search?service=${service}&tags=%7B%22k8s.pod.name%22%3A%22${pod}%22%7D';
const JAEGER_ALERTS = '${jaeger_url}/search?service=${service}&operation=alert.evaluate';

function variables(extra: unknown[] = []): { list: unknown[] } {
  const q = (name: string, query: string, label: string): unknown => ({
    name,
    label,
    type: 'query',
    datasource: DS,
    query: { query, refId: name },
    definition: query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 1,
  });
  return {
    list: [
      { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1 },
      q('namespace', 'label_values(vigil_plugin_up, namespace)', 'Namespace'),
      q('pod', 'label_values(vigil_plugin_up{namespace=~"$namespace"}, pod)', 'Pod'),
      ...extra,
      { name: 'jaeger_url', label: 'Jaeger URL', type: 'textbox', query: 'http://jaeger-query.observability.svc:16686', current: { text: 'http://jaeger-query.observability.svc:16686', value: 'http://jaeger-query.observability.svc:16686' }, hide: 0 },
      { name: 'service', label: 'Trace service', type: 'constant', query: 'vigil', hide: 2 },
    ],
  };
}

function dashboard(uid: string, title: string, description: string, panels: Panel[], extraVars: unknown[] = []): Dashboard {
  return {
    uid,
    title,
    description,
    tags: ['vigil'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timezone: '',
    templating: variables(extraVars),
    annotations: {
      list: [
        {
          name: 'Prometheus alerts',
          datasource: DS,
          enable: true,
          iconColor: 'red',
          expr: `ALERTS{alertstate="firing", ${POD}}`,
          titleFormat: '{{alertname}} {{severity}}',
          textFormat: '{{namespace}}/{{pod}}',
          step: '60s',
        },
      ],
    },
    links: [
      { title: 'Traces of this pod (Jaeger)', type: 'link', url: JAEGER_POD, targetBlank: true, icon: 'external link' },
      { title: 'Alert traces (Jaeger)', type: 'link', url: JAEGER_ALERTS, targetBlank: true, icon: 'external link' },
      { title: 'vigil dashboards', type: 'dashboards', tags: ['vigil'], asDropdown: true, includeVars: true, keepTime: true },
    ],
    panels,
  };
}

const traceLink = [{ title: 'Traces of this pod in Jaeger', url: JAEGER_POD, targetBlank: true }];

export function podDashboard(): Dashboard {
  const b = new Builder();
  b.row('Overview');
  b.add({
    title: 'Memory utilization by scope', type: 'stat', unit: 'percentunit', w: 6, h: 5, thresholds: TIER_THRESHOLDS, min: 0, max: 1,
    targets: [{ expr: `max by (pod, vigil_memory_scope) (vigil_memory_utilization${sel()})`, legend: '{{pod}} {{vigil_memory_scope}}', instant: true }],
  });
  b.add({
    title: 'Soonest memory exhaustion (vigil forecast)', type: 'stat', unit: 's', w: 6, h: 5,
    description: 'vigil.forecast.time_to_exhaustion: time until 95 % of the limit at the current trend (GC sawtooth filtered). Empty = nothing heading to a limit.',
    thresholds: [{ value: null, color: 'red' }, { value: 300, color: 'orange' }, { value: 1800, color: 'green' }],
    targets: [{ expr: `min by (pod, metric) (vigil_forecast_time_to_exhaustion${sel()})`, legend: '{{pod}} {{metric}}', instant: true }],
    links: traceLink,
  });
  b.add({
    title: 'Active vigil alerts', type: 'stat', w: 6, h: 5,
    thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
    targets: [{ expr: `sum by (vigil_alert_tier) (vigil_alerts_active${sel()})`, legend: '{{vigil_alert_tier}}', instant: true }],
    links: [{ title: 'Alert traces (Jaeger)', url: JAEGER_ALERTS, targetBlank: true }],
  });
  b.add({
    title: 'OOM kills (1 h)', type: 'stat', w: 6, h: 5,
    thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
    targets: [{ expr: `sum by (pod) (increase(vigil_container_memory_oom_kills_total${sel()}[1h]))`, legend: '{{pod}}', instant: true }],
  });

  b.row('Memory vs limit');
  b.add({
    title: 'Container working set vs limit, with forecast', unit: 'bytes', w: 16, h: 9,
    description: 'Working set (what the kubelet evicts on), the limit from the Downward API, 95 % of it (the forecast threshold), and the predict_linear projection 30 min ahead for comparison.',
    targets: [
      { expr: `max by (pod) (container_memory_working_set${sel()})`, legend: '{{pod}} working set' },
      { expr: `max by (pod) (vigil_memory_limit${sel('vigil_memory_scope="container"')})`, legend: '{{pod}} limit' },
      { expr: `0.95 * max by (pod) (vigil_memory_limit${sel('vigil_memory_scope="container"')})`, legend: '{{pod}} 95 % (forecast threshold)' },
      { expr: `max by (pod) (predict_linear(container_memory_working_set${sel()}[15m], 1800))`, legend: '{{pod}} predict_linear +30 min' },
    ],
    overrides: [
      { matcher: { id: 'byRegexp', options: '.* limit' }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }, { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }] },
      { matcher: { id: 'byRegexp', options: '.*predict_linear.*' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dot', dash: [2, 6] } }] },
    ],
    links: traceLink,
  });
  b.add({
    title: 'Time to exhaustion, trend and confidence', unit: 's', w: 8, h: 9,
    targets: [
      { expr: `vigil_forecast_time_to_exhaustion${sel()}`, legend: '{{pod}} {{metric}} {{vigil_memory_scope}}{{hw_id}}' },
    ],
  });
  b.add({
    title: 'Memory utilization by scope', unit: 'percentunit', w: 8, min: 0, max: 1, thresholds: TIER_THRESHOLDS,
    targets: [{ expr: `vigil_memory_utilization${sel()}`, legend: '{{pod}} {{vigil_memory_scope}} {{vigil_target}}' }],
  });
  b.add({
    title: 'Pressure level', type: 'state-timeline', w: 8, mappings: PRESSURE_MAPPINGS,
    targets: [{ expr: `max by (pod, vigil_memory_scope) (vigil_memory_pressure_level${sel()})`, legend: '{{pod}} {{vigil_memory_scope}}' }],
  });
  b.add({
    title: 'Forecast trend (1 degrading, 0 stable, -1 improving) and confidence', unit: 'short', w: 8,
    targets: [
      { expr: `vigil_forecast_trend${sel()}`, legend: 'trend {{metric}}' },
      { expr: `vigil_forecast_confidence${sel()}`, legend: 'confidence {{metric}}' },
    ],
  });
  b.add({
    title: 'Process resident memory (RSS) by type', unit: 'bytes', w: 8, stack: true,
    targets: [{ expr: `sum by (pod, vigil_target, vigil_memory_type) (vigil_process_memory_rss${sel()})`, legend: '{{pod}} {{vigil_target}} {{vigil_memory_type}}' }],
  });
  b.add({
    title: 'Memory stall (PSI) and cgroup events', unit: 'short', w: 8,
    targets: [
      { expr: `vigil_container_memory_pressure_stall${sel('vigil_psi_window="avg10"')}`, legend: 'stall {{vigil_psi_stall}} avg10' },
      { expr: `sum by (pod, vigil_memory_event) (increase(vigil_container_memory_events_total${sel()}[$__rate_interval]))`, legend: '{{pod}} {{vigil_memory_event}} events' },
    ],
  });
  b.add({
    title: 'OOM kills', unit: 'short', w: 8,
    targets: [{ expr: `sum by (pod) (increase(vigil_container_memory_oom_kills_total${sel()}[$__rate_interval]))`, legend: '{{pod}}' }],
  });

  b.row('V8 heap and GC');
  b.add({
    title: 'V8 heap used vs limit', unit: 'bytes', w: 8,
    targets: [
      { expr: `v8js_memory_heap_used${sel()}`, legend: '{{pod}} {{vigil_target}} used' },
      { expr: `vigil_v8_memory_heap_total${sel()}`, legend: '{{pod}} {{vigil_target}} committed' },
      { expr: `vigil_memory_limit${sel('vigil_memory_scope="v8_heap"')}`, legend: '{{pod}} {{vigil_target}} limit' },
    ],
  });
  b.add({
    title: 'V8 heap spaces (used)', unit: 'bytes', w: 8, stack: true,
    targets: [{ expr: `sum by (pod, v8js_heap_space_name) (vigil_v8_memory_heap_space_used${sel()})`, legend: '{{pod}} {{v8js_heap_space_name}}' }],
  });
  b.add({
    title: 'GC time per second, by type', unit: 'percentunit', w: 8,
    description: 'Share of wall time spent in garbage collection (rate of v8js.gc.duration).',
    targets: [
      { expr: `sum by (pod, v8js_gc_type) (rate(v8js_gc_duration_total${sel()}[$__rate_interval]))`, legend: '{{pod}} {{v8js_gc_type}}' },
    ],
  });
  b.add({
    title: 'GC runs per second', unit: 'ops', w: 8,
    targets: [{ expr: `sum by (pod, v8js_gc_type) (rate(vigil_v8_gc_count_total${sel()}[$__rate_interval]))`, legend: '{{pod}} {{v8js_gc_type}}' }],
  });
  b.add({
    title: 'External memory (C++ objects bound to JS)', unit: 'bytes', w: 8,
    targets: [{ expr: `vigil_v8_memory_external${sel()}`, legend: '{{pod}} {{vigil_target}}' }],
  });

  b.row('Cache');
  b.add({
    title: 'Hit ratio (last interval)', unit: 'percentunit', w: 8, min: 0, max: 1,
    thresholds: [{ value: null, color: 'red' }, { value: 0.5, color: 'yellow' }, { value: 0.8, color: 'green' }],
    targets: [{ expr: `vigil_cache_hit_ratio${sel()}`, legend: '{{vigil_cache_node}}' }],
  });
  b.add({
    title: 'Node imbalance (0 = even)', unit: 'short', w: 8,
    description: 'Largest relative deviation of a node from an even share of keys or commands in its group: a hot shard.',
    targets: [
      { expr: `vigil_cache_node_imbalance${sel()}`, legend: '{{vigil_cache_group}} {{kind}}' },
      { expr: `vigil_cache_node_share${sel('kind="keys"')}`, legend: 'share of keys {{vigil_cache_node}}' },
    ],
  });
  b.add({
    title: 'Memory vs maxmemory, evictions', unit: 'percentunit', w: 8,
    targets: [
      { expr: `vigil_cache_memory_utilization${sel()}`, legend: '{{vigil_cache_node}} memory' },
      { expr: `vigil_cache_evictions_rate${sel()}`, legend: '{{vigil_cache_node}} evictions/s' },
    ],
    overrides: [{ matcher: { id: 'byRegexp', options: '.*evictions/s' }, properties: [{ id: 'unit', value: 'ops' }, { id: 'custom.axisPlacement', value: 'right' }] }],
  });

  b.row('Queues');
  b.add({
    title: 'Backlog', unit: 'short', w: 8,
    targets: [
      { expr: `vigil_queue_backlog${sel()}`, legend: '{{messaging_system}} {{messaging_destination_name}} {{messaging_consumer_group_name}}' },
      { expr: `vigil_queue_backlog_limit${sel()}`, legend: '{{messaging_destination_name}} ceiling' },
    ],
  });
  b.add({
    title: 'Time to drain', unit: 's', w: 8,
    description: 'Backlog / net drain rate; absent while the backlog is not shrinking.',
    targets: [
      { expr: `vigil_queue_time_to_drain${sel()}`, legend: '{{messaging_destination_name}}' },
      { expr: `vigil_forecast_time_to_drain${sel()}`, legend: 'forecast {{messaging_destination_name}}' },
    ],
  });
  b.add({
    title: 'Enqueue / dequeue rate and backlog growth', unit: 'ops', w: 8,
    targets: [
      { expr: `vigil_queue_enqueue_rate${sel()}`, legend: 'in {{messaging_destination_name}}' },
      { expr: `vigil_queue_dequeue_rate${sel()}`, legend: 'out {{messaging_destination_name}}' },
      { expr: `vigil_queue_backlog_growth${sel()}`, legend: 'growth {{messaging_destination_name}}' },
    ],
  });

  b.row('Anomalies and alerts');
  b.add({
    title: 'Anomaly scores', unit: 'short', w: 12, min: 0, max: 1,
    thresholds: [{ value: null, color: 'green' }, { value: 0.75, color: 'red' }],
    targets: [{ expr: `max by (pod, metric, group) (vigil_anomaly_score${sel()})`, legend: '{{pod}} {{metric}}{{group}}' }],
  });
  b.add({
    title: 'Active alerts by tier (vigil)', unit: 'short', w: 12, stack: true,
    targets: [
      { expr: `sum by (vigil_alert_tier) (vigil_alerts_active${sel()})`, legend: '{{vigil_alert_tier}}' },
      { expr: `sum(vigil_alerts_pending${sel()})`, legend: 'pending' },
    ],
    links: [{ title: 'Alert traces (Jaeger)', url: JAEGER_ALERTS, targetBlank: true }],
  });
  b.add({
    title: 'Firing Prometheus alerts (deploy/prometheus rules)', type: 'table', w: 24, h: 7,
    targets: [{ expr: `ALERTS{alertstate="firing", ${POD}}`, instant: true, format: 'table' }],
  });
  return dashboard('vigil-pod', 'vigil / Pod memory, forecasts, cache and queues', 'One pod watched by its vigil sidecar.', b.panels);
}

export function gpuDashboard(): Dashboard {
  const b = new Builder();
  const g = (extra = ''): string => sel(`hw_id=~"$gpu"${extra ? `, ${extra}` : ''}`);
  b.row('Memory');
  b.add({
    title: 'GPU memory used vs total', unit: 'bytes', w: 12,
    targets: [
      { expr: `hw_gpu_memory_usage${g()}`, legend: 'GPU {{vigil_gpu_index}} {{hw_name}} used' },
      { expr: `hw_gpu_memory_limit${g()}`, legend: 'GPU {{vigil_gpu_index}} total' },
    ],
  });
  b.add({
    title: 'Memory utilization and pressure', unit: 'percentunit', w: 6, min: 0, max: 1,
    thresholds: [{ value: null, color: 'green' }, { value: 0.85, color: 'orange' }, { value: 0.95, color: 'red' }],
    targets: [{ expr: `hw_gpu_memory_utilization${g()}`, legend: 'GPU {{vigil_gpu_index}}' }],
  });
  b.add({
    title: 'Memory pressure level', type: 'state-timeline', w: 6, mappings: PRESSURE_MAPPINGS,
    targets: [{ expr: `vigil_gpu_memory_pressure${g()}`, legend: 'GPU {{vigil_gpu_index}}' }],
  });
  b.add({
    title: 'GPU memory per process', unit: 'bytes', w: 12, stack: true,
    targets: [{ expr: `sum by (vigil_gpu_index, process_pid, process_executable_name) (vigil_gpu_process_memory_usage${g()})`, legend: 'GPU {{vigil_gpu_index}} {{process_executable_name}} ({{process_pid}})' }],
  });
  b.add({
    title: 'Time to exhaustion (GPU memory)', unit: 's', w: 6,
    targets: [{ expr: `vigil_forecast_time_to_exhaustion${g('metric="hw.gpu.memory.usage"')}`, legend: 'GPU {{vigil_gpu_index}}' }],
  });
  b.add({
    title: 'Free headroom', unit: 'bytes', w: 6,
    targets: [{ expr: `vigil_gpu_memory_free${g()}`, legend: 'GPU {{vigil_gpu_index}}' }],
  });
  b.add({
    title: 'MIG device memory utilization', unit: 'percentunit', w: 12,
    targets: [{ expr: `vigil_gpu_mig_memory_utilization${g()}`, legend: 'GPU {{vigil_gpu_index}} MIG {{nvidia_gpu_mig_index}}' }],
  });
  b.row('Compute, power, temperature');
  b.add({
    title: 'Utilization by engine', unit: 'percentunit', w: 8, min: 0, max: 1,
    targets: [{ expr: `hw_gpu_utilization${g()}`, legend: 'GPU {{vigil_gpu_index}} {{hw_gpu_task}}' }],
  });
  b.add({
    title: 'Power draw vs limit', unit: 'watt', w: 8,
    targets: [
      { expr: `vigil_gpu_power_draw${g()}`, legend: 'GPU {{vigil_gpu_index}} draw' },
      { expr: `vigil_gpu_power_limit${g()}`, legend: 'GPU {{vigil_gpu_index}} limit' },
    ],
  });
  b.add({
    title: 'Temperature', unit: 'celsius', w: 8,
    targets: [{ expr: `vigil_gpu_temperature${g()}`, legend: 'GPU {{vigil_gpu_index}} {{hw_sensor_location}}' }],
  });
  b.add({
    title: 'Throttle (clock-event) reasons active', type: 'state-timeline', w: 12,
    mappings: [{ type: 'value', options: { '0': { text: 'inactive', color: 'green' }, '1': { text: 'active', color: 'red' } } }],
    targets: [{ expr: `max by (vigil_gpu_index, nvidia_gpu_clock_event_reason) (nvidia_gpu_clock_event_active${g()})`, legend: 'GPU {{vigil_gpu_index}} {{nvidia_gpu_clock_event_reason}}' }],
  });
  b.add({
    title: 'Clocks', unit: 'hertz', w: 12,
    targets: [{ expr: `vigil_gpu_clock_frequency${g()}`, legend: 'GPU {{vigil_gpu_index}} {{vigil_gpu_clock}}' }],
  });
  b.row('Health');
  b.add({
    title: 'ECC errors (volatile)', unit: 'short', w: 8,
    targets: [{ expr: `sum by (vigil_gpu_index, nvidia_gpu_ecc_type) (nvidia_gpu_ecc_errors_total${g('nvidia_gpu_ecc_scope="volatile"')})`, legend: 'GPU {{vigil_gpu_index}} {{nvidia_gpu_ecc_type}}' }],
  });
  b.add({
    title: 'Retired pages / remapped rows', unit: 'short', w: 8,
    targets: [
      { expr: `nvidia_gpu_retired_pages${g()}`, legend: 'GPU {{vigil_gpu_index}} retired {{nvidia_gpu_retirement_cause}}' },
      { expr: `nvidia_gpu_remapped_rows${g()}`, legend: 'GPU {{vigil_gpu_index}} remapped {{nvidia_gpu_remap_cause}}' },
    ],
  });
  b.add({
    title: 'nvidia-smi failures and restarts', unit: 'short', w: 8,
    targets: [
      { expr: `sum by (pod, vigil_gpu_failure) (increase(vigil_gpu_smi_failures_total${sel()}[$__rate_interval]))`, legend: '{{pod}} {{vigil_gpu_failure}}' },
      { expr: `sum by (pod) (increase(vigil_gpu_smi_restarts_total${sel()}[$__rate_interval]))`, legend: '{{pod}} loop restarts' },
    ],
  });
  const gpuVar = {
    name: 'gpu', label: 'GPU', type: 'query', datasource: DS,
    query: { query: 'label_values(hw_gpu_memory_usage{namespace=~"$namespace", pod=~"$pod"}, hw_id)', refId: 'gpu' },
    definition: 'label_values(hw_gpu_memory_usage{namespace=~"$namespace", pod=~"$pod"}, hw_id)',
    refresh: 2, includeAll: true, multi: true, allValue: '.*', current: { selected: true, text: ['All'], value: ['$__all'] }, sort: 1,
  };
  return dashboard('vigil-gpu', 'vigil / GPUs', 'NVIDIA GPUs per device, as the vigil gpu plugin reads them from nvidia-smi.', b.panels, [gpuVar]);
}

export function agentDashboard(): Dashboard {
  const b = new Builder();
  b.row('Plugins');
  b.add({
    title: 'Plugin up (1 ok, 0 failing / unavailable / pending)', type: 'state-timeline', w: 24, h: 7,
    mappings: [{ type: 'value', options: { '0': { text: 'down', color: 'red' }, '1': { text: 'ok', color: 'green' } } }],
    targets: [{ expr: `vigil_plugin_up${sel()}`, legend: '{{pod}} {{plugin}}' }],
    links: traceLink,
  });
  b.add({
    title: 'Collection duration p95', unit: 's', w: 12,
    targets: [{ expr: `histogram_quantile(0.95, sum by (le, plugin) (rate(vigil_plugin_collection_duration_bucket${sel()}[$__rate_interval])))`, legend: '{{plugin}}' }],
    links: traceLink,
  });
  b.add({
    title: 'Collection errors per second', unit: 'ops', w: 12,
    targets: [{ expr: `sum by (plugin) (rate(vigil_plugin_errors_total${sel()}[$__rate_interval]))`, legend: '{{plugin}}' }],
  });
  b.add({
    title: 'Samples accepted / malformed per second', unit: 'ops', w: 12,
    targets: [
      { expr: `sum by (plugin) (rate(vigil_plugin_samples_total${sel()}[$__rate_interval]))`, legend: '{{plugin}}' },
      { expr: `sum by (plugin) (rate(vigil_plugin_samples_malformed_total${sel()}[$__rate_interval]))`, legend: '{{plugin}} malformed' },
    ],
  });
  b.row('Store and export');
  b.add({
    title: 'Series in store / dropped (cardinality cap)', unit: 'short', w: 12,
    targets: [
      { expr: `sum by (pod) (vigil_store_series${sel()})`, legend: '{{pod}} series' },
      { expr: `sum by (pod) (increase(vigil_store_series_refused_total${sel()}[$__rate_interval]))`, legend: '{{pod}} refused samples' },
    ],
  });
  b.add({
    title: 'Scrape duration and samples', unit: 's', w: 12,
    targets: [
      { expr: `scrape_duration_seconds{job="vigil", ${POD}}`, legend: '{{pod}} scrape' },
      { expr: `scrape_samples_scraped{job="vigil", ${POD}}`, legend: '{{pod}} samples' },
    ],
    overrides: [{ matcher: { id: 'byRegexp', options: '.* samples' }, properties: [{ id: 'unit', value: 'short' }, { id: 'custom.axisPlacement', value: 'right' }] }],
  });
  b.row('Alert delivery');
  b.add({
    title: 'Notifications sent / failed / dead-lettered per minute', unit: 'short', w: 12,
    targets: [
      { expr: `sum by (vigil_alert_notifier) (increase(vigil_alerts_notifications_sent_total${sel()}[$__rate_interval]))`, legend: 'sent {{vigil_alert_notifier}}' },
      { expr: `sum by (vigil_alert_notifier) (increase(vigil_alerts_notifications_failed_total${sel()}[$__rate_interval]))`, legend: 'failed {{vigil_alert_notifier}}' },
      { expr: `sum by (vigil_alert_notifier) (increase(vigil_alerts_notifications_dead_lettered_total${sel()}[$__rate_interval]))`, legend: 'dead-lettered {{vigil_alert_notifier}}' },
    ],
    links: [{ title: 'Alert delivery traces (Jaeger)', url: JAEGER_ALERTS, targetBlank: true }],
  });
  b.add({
    title: 'Outbox queue', unit: 'short', w: 12,
    targets: [{ expr: `sum by (pod, vigil_alert_notifier) (vigil_alerts_outbox_queued${sel()})`, legend: '{{pod}} {{vigil_alert_notifier}}' }],
  });
  return dashboard('vigil-agent', 'vigil / Agent health', "vigil's own health: plugin states, collection time, store, alert delivery.", b.panels);
}

export const DASHBOARDS: Readonly<Record<string, () => Dashboard>> = {
  'vigil-pod.json': podDashboard,
  'vigil-gpu.json': gpuDashboard,
  'vigil-agent.json': agentDashboard,
};

export function render(d: Dashboard): string {
  return JSON.stringify(d, null, 2) + '\n';
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\u0000')) {
  const dir = join(import.meta.dirname, 'dashboards');
  for (const [file, make] of Object.entries(DASHBOARDS)) {
    writeFileSync(join(dir, file), render(make()));
    console.log(`wrote ${join(dir, file)}`);
  }
}
