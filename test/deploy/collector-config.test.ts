import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { kustomize, vigilContainer, envOf, type Deployment } from './k8s-helpers.ts';

// No otelcol binary is available here: these check the configurations' structure the way the
// Collector's own validation does (every pipeline component defined, every defined component
// used, memory_limiter first) plus the contracts with vigil and the dashboards.
interface Pipeline { receivers: string[]; processors?: string[]; exporters: string[] }
interface CollectorConfig {
  extensions?: Record<string, unknown>;
  receivers: Record<string, { protocols?: { grpc?: { endpoint: string }; http?: { endpoint: string } } }>;
  processors?: Record<string, Record<string, unknown>>;
  exporters: Record<string, Record<string, unknown>>;
  service: { extensions?: string[]; pipelines: Record<string, Pipeline> };
}

const FILES = ['gateway.yaml', 'gateway-prometheus-exporter.yaml', 'loadbalancer.yaml'];
const load = (f: string): CollectorConfig => parseYaml(readFileSync(`collector-config/${f}`, 'utf8')) as CollectorConfig;

describe('collector-config', () => {
  for (const f of FILES) {
    it(`${f}: pipelines reference defined components, all are used, memory_limiter first`, () => {
      const c = load(f);
      const used = { receivers: new Set<string>(), processors: new Set<string>(), exporters: new Set<string>() };
      for (const [name, p] of Object.entries(c.service.pipelines)) {
        expect(['traces', 'metrics', 'logs']).toContain(name.split('/')[0]);
        for (const r of p.receivers) {
          expect(c.receivers, `${name} receiver ${r}`).toHaveProperty([r]);
          used.receivers.add(r);
        }
        for (const x of p.processors ?? []) {
          expect(c.processors, `${name} processor ${x}`).toHaveProperty([x]);
          used.processors.add(x);
        }
        for (const e of p.exporters) {
          expect(c.exporters, `${name} exporter ${e}`).toHaveProperty([e]);
          used.exporters.add(e);
        }
        expect(p.processors?.[0], `${name}: memory_limiter first`).toBe('memory_limiter');
        if (p.processors?.includes('batch')) expect(p.processors.at(-1)).toBe('batch');
      }
      expect([...used.receivers].sort()).toEqual(Object.keys(c.receivers).sort());
      expect([...used.processors].sort()).toEqual(Object.keys(c.processors ?? {}).sort());
      expect([...used.exporters].sort()).toEqual(Object.keys(c.exporters).sort());
      for (const e of c.service.extensions ?? []) expect(c.extensions).toHaveProperty([e]);
      expect(c.service.pipelines).toHaveProperty(['traces']);
      expect(c.service.pipelines).toHaveProperty(['metrics']);
      // vigil pushes OTLP/HTTP on 4318.
      expect(c.receivers.otlp?.protocols?.http?.endpoint).toMatch(/:4318$/);
    });
  }

  it('the gateway sends traces to Jaeger over OTLP and metrics to Prometheus with pod labels', () => {
    const c = load('gateway.yaml');
    expect(c.service.pipelines.traces!.exporters).toEqual(['otlp/jaeger']);
    expect(c.service.pipelines.metrics!.exporters).toEqual(['prometheusremotewrite']);
    expect(c.exporters.prometheusremotewrite).toMatchObject({ resource_to_telemetry_conversion: { enabled: true }, add_metric_suffixes: false });
    const attrs = (c.processors!['resource/k8s-labels'] as { attributes: { key: string; from_attribute: string }[] }).attributes;
    // The labels the dashboards and rules select on.
    expect(Object.fromEntries(attrs.map((a) => [a.key, a.from_attribute]))).toMatchObject({ namespace: 'k8s.namespace.name', pod: 'k8s.pod.name' });
  });

  it('the load-balancing tier routes traces by trace id and metrics by resource', () => {
    const c = load('loadbalancer.yaml');
    expect(c.exporters['loadbalancing/traces']).toMatchObject({ routing_key: 'traceID' });
    expect(c.exporters['loadbalancing/metrics']).toMatchObject({ routing_key: 'resource' });
  });

  it('the example pod sends traces to the gateway and does not push metrics Prometheus already scrapes', async () => {
    const objs = await kustomize('plain');
    const dep = objs.find((o) => o.kind === 'Deployment') as Deployment;
    const { container } = vigilContainer(dep.spec.template.spec);
    expect(envOf(container, 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value).toMatch(/^http:\/\/otel-gateway[^:]*:4318$/);
    expect(envOf(container, 'OTEL_METRICS_EXPORTER')?.value).toBe('none');
    expect(dep.spec.template.metadata.annotations?.['prometheus.io/scrape']).toBe('true');
  });
});
