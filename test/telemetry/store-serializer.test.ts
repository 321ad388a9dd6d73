import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, MeterProvider, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { StoreSerializer, installStoreSerializer } from '../../agent/telemetry/store-serializer.ts';

const storeScope = { name: 'vigil' };
const sdkScope = { name: 'vigil' }; // same name, other object: the SDK's own instruments
const stockOf = () => new PrometheusSerializer(undefined, false, undefined, false, true);

const otelName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.\-/]{0,20}$/);
const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '_', '.', '-', ' ', '"', '\\', '\n', '=', ',', '{', 'é', '✓'), maxLength: 12 });
const attrValue = fc.oneof(text, fc.integer({ min: -1000, max: 1000 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());
const attributes = fc.dictionary(fc.oneof(otelName, text.filter((s) => s.length > 0)), attrValue, { maxKeys: 4 }).map((a) => Object.freeze(a));
const value = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -0, 1e21, 5e-324));

interface GenMetric {
  name: string;
  description: string;
  unit: string;
  kind: 'gauge' | 'counter' | 'updowncounter';
  points: Array<{ attributes: Readonly<Record<string, string | number | boolean>>; value: number }>;
}

const metric: fc.Arbitrary<GenMetric> = fc.record({
  name: otelName,
  description: fc.oneof(text, fc.constant('')),
  unit: fc.oneof(fc.constantFrom('', 'By', 's', '1', '{job}', '%'), text),
  kind: fc.constantFrom<GenMetric['kind']>('gauge', 'counter', 'updowncounter'),
  points: fc.array(fc.record({ attributes, value }), { minLength: 0, maxLength: 5 }),
});

function toMetricData(m: GenMetric): MetricData {
  const t: [number, number] = [1_700_000_000, 0];
  const descriptor = { name: m.name, description: m.description, unit: m.unit, valueType: ValueType.DOUBLE };
  const dataPoints = m.points.map((p) => ({ startTime: t, endTime: t, attributes: p.attributes, value: p.value }));
  if (m.kind === 'gauge') return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints };
  return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: m.kind === 'counter', dataPoints };
}

describe('StoreSerializer', () => {
  it('writes exactly what the exporter’s own PrometheusSerializer writes, on random data', () => {
    const resource = resourceFromAttributes({ 'service.name': 'vigil', 'host.name': 'h"1\\' });
    fc.assert(
      fc.property(fc.array(metric, { maxLength: 5 }), fc.array(metric, { maxLength: 2 }), (store, sdk) => {
        const rm: ResourceMetrics = {
          resource,
          scopeMetrics: [
            { scope: sdkScope, metrics: sdk.map(toMetricData) },
            { scope: storeScope, metrics: store.map(toMetricData) },
          ],
        };
        const fast = new StoreSerializer(stockOf(), storeScope);
        const expected = stockOf().serialize(rm);
        expect(fast.serialize(rm)).toBe(expected);
        expect(fast.serialize(rm)).toBe(expected); // second pass: from the label/header caches
      }),
      { numRuns: 300 },
    );
  });

  it('matches with no SDK scope at all, and with the store scope empty', () => {
    const resource = resourceFromAttributes({ 'service.name': 'x' });
    const m = toMetricData({ name: 'a.b', description: 'd', unit: 'By', kind: 'gauge', points: [{ attributes: Object.freeze({ k: 'v' }), value: 1 }] });
    for (const rm of [
      { resource, scopeMetrics: [{ scope: storeScope, metrics: [m] }] },
      { resource, scopeMetrics: [{ scope: storeScope, metrics: [] }] },
      { resource, scopeMetrics: [] },
      { resource, scopeMetrics: [{ scope: sdkScope, metrics: [m] }] },
    ]) {
      expect(new StoreSerializer(stockOf(), storeScope).serialize(rm)).toBe(stockOf().serialize(rm));
    }
  });

  it('does not cache labels of mutable attribute objects', () => {
    const resource = resourceFromAttributes({});
    const attrs: Record<string, string> = { k: 'one' };
    const fast = new StoreSerializer(stockOf(), storeScope);
    const rm = (): ResourceMetrics => ({
      resource,
      scopeMetrics: [{ scope: storeScope, metrics: [toMetricData({ name: 'm', description: '', unit: '', kind: 'gauge', points: [{ attributes: attrs as never, value: 1 }] })] }],
    });
    expect(fast.serialize(rm())).toContain('m{k="one"} 1');
    attrs.k = 'two';
    expect(fast.serialize(rm())).toContain('m{k="two"} 1');
  });

  it('installs itself behind a real exporter’s request handler', async () => {
    const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    expect(installStoreSerializer(exporter, storeScope)).toBe(true);
    expect((exporter as unknown as { _serializer: unknown })._serializer).toBeInstanceOf(StoreSerializer);
    expect(installStoreSerializer({}, storeScope)).toBe(false);
    const mp = new MeterProvider({ readers: [exporter as never] });
    mp.getMeter('t').createCounter('c').add(2);
    await mp.shutdown();
  });
});
