import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type MetricData, type MetricDescriptor, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { InstrumentationScope } from '@opentelemetry/core';

/** What the Prometheus exporter calls on its serializer (a private member, see installStoreSerializer). */
export interface MetricsSerializer {
  serialize(resourceMetrics: ResourceMetrics): string;
}

const NO_REGISTERED_METRICS = '# no registered metrics';

/**
 * Serialises the store's metrics for /metrics byte-for-byte as the exporter's own
 * PrometheusSerializer does, but with each series' label block built once and cached
 * (keyed by the series' frozen attributes object) instead of re-sanitising and re-escaping
 * every label on every scrape. Measured with 1,000 series: the stock serializer spends ~8 ms
 * and ~1 MB of garbage per scrape on this, which is most of a scrape's cost. Everything not
 * produced by the store (the SDK's own instruments, target_info) still goes through the stock
 * serializer.
 */
export class StoreSerializer implements MetricsSerializer {
  private readonly labels = new WeakMap<Attributes, string>();
  private readonly headers = new WeakMap<MetricDescriptor, { name: string; monotonic: boolean; header: string }>();

  constructor(
    private readonly stock: MetricsSerializer,
    private readonly storeScope: InstrumentationScope,
  ) {}

  serialize(resourceMetrics: ResourceMetrics): string {
    let others = 0;
    let store: MetricData[] | undefined;
    for (const sm of resourceMetrics.scopeMetrics) {
      if (sm.scope === this.storeScope) store = sm.metrics;
      else others++;
    }
    // Only gauges and sums come from the store; anything else takes the stock path whole.
    if (!store || store.some((m) => m.dataPointType !== DataPointType.GAUGE && m.dataPointType !== DataPointType.SUM)) return this.stock.serialize(resourceMetrics);
    const rest = others === 0 ? [] : resourceMetrics.scopeMetrics.filter((sm) => sm.scope !== this.storeScope);
    let head = this.stock.serialize({ resource: resourceMetrics.resource, scopeMetrics: rest });
    const body = this.serializeStore(store);
    if (body === '') return head;
    if (head.endsWith(NO_REGISTERED_METRICS)) head = head.slice(0, -NO_REGISTERED_METRICS.length);
    return head + body;
  }

  private serializeStore(metrics: readonly MetricData[]): string {
    let out = '';
    for (const m of metrics) {
      if (m.dataPointType !== DataPointType.GAUGE && m.dataPointType !== DataPointType.SUM) continue; // excluded by serialize()
      const monotonic = m.dataPointType === DataPointType.SUM && m.isMonotonic;
      let h = this.headers.get(m.descriptor);
      if (!h || h.monotonic !== monotonic) {
        h = header(m.descriptor, monotonic, m.dataPointType === DataPointType.SUM && monotonic ? 'counter' : 'gauge');
        this.headers.set(m.descriptor, h);
      }
      out += h.header;
      const name = h.name;
      for (const p of m.dataPoints) {
        let l = this.labels.get(p.attributes);
        if (l === undefined) {
          l = labelBlock(p.attributes);
          if (Object.isFrozen(p.attributes)) this.labels.set(p.attributes, l); // only immutable objects are safe keys
        }
        out += `${name}${l} ${valueString(p.value)}\n`;
      }
    }
    return out;
  }
}

// The helpers below mirror @opentelemetry/exporter-prometheus 0.223's PrometheusSerializer;
// a test compares the two outputs on random data.

function escapeString(str: string): string {
  return str.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeAttributeValue(v: unknown): string {
  const s = typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
  return escapeString(s).replace(/"/g, '\\"');
}

function sanitizeName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

function valueString(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}

function labelBlock(attributes: Attributes): string {
  let s = '';
  for (const [k, v] of Object.entries(attributes)) s += `${s.length > 0 ? ',' : ''}${sanitizeName(k)}="${escapeAttributeValue(v)}"`;
  return s === '' ? '' : `{${s}}`;
}

function header(d: MetricDescriptor, monotonic: boolean, type: 'counter' | 'gauge'): { name: string; monotonic: boolean; header: string } {
  let name = sanitizeName(escapeString(d.name));
  if (name[0] !== undefined && name[0] >= '0' && name[0] <= '9') name = `_${name}`;
  if (monotonic && !name.endsWith('_total')) name += '_total';
  const help = `# HELP ${name} ${escapeString(d.description || 'description missing')}`;
  const unit = d.unit ? `\n# UNIT ${name} ${escapeString(d.unit)}` : '';
  return { name, monotonic, header: `${help}${unit}\n# TYPE ${name} ${type}\n` };
}

/**
 * Puts a StoreSerializer in the exporter's place, behind its request handler. The member is
 * private, so this checks its shape first: on an exporter version without it, /metrics keeps
 * the stock serializer (correct, only slower) and the caller logs that.
 */
export function installStoreSerializer(exporter: object, storeScope: InstrumentationScope): boolean {
  const holder = exporter as { _serializer?: unknown };
  const stock = holder._serializer;
  if (!stock || typeof (stock as MetricsSerializer).serialize !== 'function') return false;
  holder._serializer = new StoreSerializer(stock as MetricsSerializer, storeScope);
  return true;
}
