import { describe, expect, it } from 'vitest';
import { resolveTelemetrySettings, appendSignalPath } from '../../agent/telemetry/settings.ts';
import { parseKeyValueList } from '../../agent/telemetry/env-lists.ts';
import { serverConfig, telemetryConfig } from './support/config.ts';

const resolve = (env: NodeJS.ProcessEnv, over: Parameters<typeof telemetryConfig>[0] = {}, server = serverConfig()) =>
  resolveTelemetrySettings(telemetryConfig(over), server, env, { version: '1.2.3', hostName: 'box-1' });

describe('resolveTelemetrySettings: resource', () => {
  it('defaults: service.name vigil, instance id, version, host.name, no k8s', () => {
    const { settings, issues } = resolve({});
    expect(issues).toEqual([]);
    expect(settings.serviceName).toBe('vigil');
    expect(settings.resource).toMatchObject({ 'service.name': 'vigil', 'service.version': '1.2.3', 'host.name': 'box-1' });
    expect(settings.resource['service.instance.id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(Object.keys(settings.resource).filter((k) => k.startsWith('k8s.'))).toEqual([]);
  });

  it('keeps service.instance.id stable across calls in one process (SIGHUP reloads)', () => {
    expect(resolve({}).settings.resource['service.instance.id']).toBe(resolve({ OTEL_SERVICE_NAME: 'x' }).settings.resource['service.instance.id']);
  });

  it('takes k8s attributes from Downward API variables', () => {
    const { settings } = resolve({ K8S_POD_NAME: 'p', K8S_POD_UID: 'u-1', K8S_NAMESPACE_NAME: 'ns', K8S_NODE_NAME: 'n', K8S_CONTAINER_NAME: 'c' });
    expect(settings.resource).toMatchObject({ 'k8s.pod.name': 'p', 'k8s.pod.uid': 'u-1', 'k8s.namespace.name': 'ns', 'k8s.node.name': 'n', 'k8s.container.name': 'c' });
  });

  it('falls back to the hostname as pod name inside Kubernetes', () => {
    expect(resolve({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }).settings.resource['k8s.pod.name']).toBe('box-1');
  });

  it('orders precedence: OTEL_SERVICE_NAME > OTEL_RESOURCE_ATTRIBUTES > service_name > resource_attributes', () => {
    const cfg = { service_name: 'cfg-name', resource_attributes: { 'service.name': 'attr-name', team: 'a', region: 'cfg' } };
    expect(resolve({}, cfg).settings.serviceName).toBe('cfg-name');
    expect(resolve({}, { resource_attributes: { 'service.name': 'attr-name' } }).settings.serviceName).toBe('attr-name');
    const env = resolve({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=env-attr,region=eu' }, cfg).settings;
    expect(env.serviceName).toBe('env-attr');
    expect(env.resource).toMatchObject({ team: 'a', region: 'eu' });
    expect(resolve({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=env-attr', OTEL_SERVICE_NAME: 'env-name' }, cfg).settings.resource['service.name']).toBe('env-name');
  });

  it('percent-decodes OTEL_RESOURCE_ATTRIBUTES keys and values', () => {
    const { settings, issues } = resolve({ OTEL_RESOURCE_ATTRIBUTES: ' a=x%2Cy , b%3D=1%3D2,c=%E2%9C%93 ,,' });
    expect(issues).toEqual([]);
    expect(settings.resource).toMatchObject({ a: 'x,y', 'b=': '1=2', c: '✓' });
  });

  it('names each malformed OTEL_RESOURCE_ATTRIBUTES entry and keeps the good ones', () => {
    const { settings, issues } = resolve({ OTEL_RESOURCE_ATTRIBUTES: 'team=core,foo,=x,bad=%zz,zone=b' });
    expect(issues.map((i) => i.message)).toEqual([
      'OTEL_RESOURCE_ATTRIBUTES entry "foo" is not key=value',
      'OTEL_RESOURCE_ATTRIBUTES entry "=x" has an empty key',
      'OTEL_RESOURCE_ATTRIBUTES entry "bad=%zz" has an invalid percent-encoding',
    ]);
    for (const i of issues) expect(i.path).toEqual([]);
    expect(settings.resource).toMatchObject({ team: 'core', zone: 'b' });
    expect(settings.resource.foo).toBeUndefined();
  });
});

describe('resolveTelemetrySettings: listen address', () => {
  it('uses server.host/port unless OTEL_EXPORTER_PROMETHEUS_HOST/PORT are set', () => {
    expect(resolve({}, {}, serverConfig({ host: '10.1.1.1', port: 9000 })).settings.server).toEqual({ host: '10.1.1.1', port: 9000 });
    expect(resolve({}).settings.server).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(resolve({ OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: '9999' }).settings.server).toEqual({ host: '127.0.0.1', port: 9999 });
  });

  it('reports a bad OTEL_EXPORTER_PROMETHEUS_PORT and keeps the configured port', () => {
    const { settings, issues } = resolve({ OTEL_EXPORTER_PROMETHEUS_PORT: '94a64' });
    expect(settings.server.port).toBe(9464);
    expect(issues).toEqual([{ path: [], message: 'OTEL_EXPORTER_PROMETHEUS_PORT "94a64" is not a port number (0-65535)' }]);
    expect(resolve({ OTEL_EXPORTER_PROMETHEUS_PORT: '70000' }).issues).toHaveLength(1);
  });
});

describe('resolveTelemetrySettings: OTLP', () => {
  it('is off by default', () => {
    const { settings } = resolve({});
    expect(settings.otlp.traces.enabled).toBe(false);
    expect(settings.otlp.metrics.enabled).toBe(false);
  });

  it('appends /v1/<signal> to a base endpoint, with exactly one slash', () => {
    expect(appendSignalPath('http://c:4318', 'traces')).toBe('http://c:4318/v1/traces');
    expect(appendSignalPath('http://c:4318/otlp/', 'metrics')).toBe('http://c:4318/otlp/v1/metrics');
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT enables both signals', () => {
    const { settings, issues } = resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
    expect(issues).toEqual([]);
    expect(settings.otlp.traces).toMatchObject({ enabled: true, url: 'http://collector:4318/v1/traces', urlFrom: 'OTEL_EXPORTER_OTLP_ENDPOINT' });
    expect(settings.otlp.metrics).toMatchObject({ enabled: true, url: 'http://collector:4318/v1/metrics' });
  });

  it('uses signal endpoints as-is and only enables that signal', () => {
    const { settings } = resolve({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/custom' });
    expect(settings.otlp.traces).toMatchObject({ enabled: true, url: 'http://jaeger:4318/custom' });
    expect(settings.otlp.metrics.enabled).toBe(false);
  });

  it('signal env beats base env beats config signal beats config base', () => {
    const cfg = { endpoint: 'http://cfg-base:4318', traces: { enabled: true, endpoint: 'http://cfg-traces:4318/t' }, metrics: { enabled: true } };
    expect(resolve({}, cfg).settings.otlp.traces.url).toBe('http://cfg-traces:4318/t');
    expect(resolve({}, cfg).settings.otlp.metrics.url).toBe('http://cfg-base:4318/v1/metrics');
    const env = resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env-base:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://env-m/x' }, cfg).settings;
    expect(env.otlp.traces.url).toBe('http://env-base:4318/v1/traces');
    expect(env.otlp.metrics.url).toBe('http://env-m/x');
  });

  it('does not enable a signal from a config endpoint alone', () => {
    expect(resolve({}, { endpoint: 'http://c:4318' }).settings.otlp.traces.enabled).toBe(false);
  });

  it('reports an enabled signal without an endpoint, with its config path', () => {
    const { settings, issues } = resolve({}, { traces: { enabled: true } });
    expect(settings.otlp.traces.enabled).toBe(false);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toEqual(['telemetry', 'otlp', 'traces', 'enabled']);
    expect(issues[0]!.message).toContain('no endpoint');
  });

  it('reports malformed endpoints, naming the variable or the config path', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }).issues.map((i) => i.message)).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT "collector:4318" is not an http(s) URL',
    ]);
    const cfg = resolve({}, { endpoint: 'ftp://x' });
    expect(cfg.issues).toEqual([{ path: ['telemetry', 'otlp', 'endpoint'], message: 'expected an http(s) URL, got "ftp://x"' }]);
    const sig = resolve({}, { metrics: { enabled: true, endpoint: 'ftp://m' } });
    expect(sig.issues.map((i) => i.path)).toEqual([
      ['telemetry', 'otlp', 'metrics', 'endpoint'],
      ['telemetry', 'otlp', 'metrics', 'enabled'],
    ]);
  });

  it('OTEL_TRACES_EXPORTER=none turns traces off whatever else is set', () => {
    const { settings } = resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' });
    expect(settings.otlp.traces.enabled).toBe(false);
    expect(settings.otlp.metrics.enabled).toBe(true);
  });

  it('merges headers: config < config signal < env < env signal, percent-decoded', () => {
    const { settings, issues } = resolve(
      { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20env,x-a=env', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=trace-env,broken' },
      { endpoint: 'http://c:4318', headers: { 'x-a': 'cfg', 'x-b': 'cfg' }, traces: { enabled: true, headers: { 'x-b': 'cfg-trace' } }, metrics: { enabled: true } },
    );
    expect(settings.otlp.traces.headers).toEqual({ 'x-a': 'trace-env', 'x-b': 'cfg-trace', authorization: 'Bearer env' });
    expect(settings.otlp.metrics.headers).toEqual({ 'x-a': 'env', 'x-b': 'cfg', authorization: 'Bearer env' });
    expect(issues.map((i) => i.message)).toEqual(['OTEL_EXPORTER_OTLP_TRACES_HEADERS entry "broken" is not key=value']);
  });

  it('takes export interval and timeouts from the environment, capping the timeout at the interval', () => {
    const { settings } = resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRIC_EXPORT_INTERVAL: '5000', OTEL_EXPORTER_OTLP_TIMEOUT: '7000' });
    expect(settings.otlp.metrics).toMatchObject({ intervalMs: 5000, timeoutMs: 5000 });
    expect(settings.otlp.traces.timeoutMs).toBe(7000);
    expect(resolve({ OTEL_METRIC_EXPORT_INTERVAL: '5s' }).issues[0]!.message).toBe('OTEL_METRIC_EXPORT_INTERVAL "5s" is not a whole number of milliseconds');
  });

  it('maps OTEL_TRACES_SAMPLER/_ARG onto the sample ratio', () => {
    expect(resolve({}, { sample_ratio: 0.5 }).settings.sampleRatio).toBe(0.5);
    expect(resolve({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).settings.sampleRatio).toBe(0.25);
    expect(resolve({ OTEL_TRACES_SAMPLER: 'always_off' }).settings.sampleRatio).toBe(0);
    expect(resolve({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }).issues).toHaveLength(1);
    expect(resolve({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }).issues[0]!.message).toContain('OTEL_TRACES_SAMPLER "jaeger_remote"');
  });
});

describe('parseKeyValueList', () => {
  it('ignores an unset or blank variable', () => {
    expect(parseKeyValueList('V', undefined)).toEqual({ values: {}, problems: [] });
    expect(parseKeyValueList('V', '  ')).toEqual({ values: {}, problems: [] });
  });

  it('keeps "=" inside an undecoded value after the first one', () => {
    expect(parseKeyValueList('V', 'k=a=b').values).toEqual({ k: 'a=b' });
  });
});
