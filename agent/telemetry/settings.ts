import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { VigilConfig } from '../config/schema.ts';
import type { ConfigIssue } from '../config/issues.ts';
import { parseKeyValueList } from './env-lists.ts';
import { VERSION } from '../version.ts';

/** Where one OTLP signal (traces or metrics) is pushed, fully resolved. */
export interface OtlpExportSettings {
  readonly enabled: boolean;
  /** Full URL the exporter posts to (`.../v1/traces`, `.../v1/metrics`). */
  readonly url: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** Push interval (metrics only), ms. */
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** What set the URL (`OTEL_EXPORTER_OTLP_ENDPOINT`, `telemetry.otlp.endpoint`...), for the start-up log. */
  readonly urlFrom: string | undefined;
}

export interface TelemetrySettings {
  readonly serviceName: string;
  /** Every resource attribute, service.name included. */
  readonly resource: Readonly<Record<string, string>>;
  readonly prometheus: { readonly enabled: boolean };
  /** The single HTTP port (/metrics, /api, UI): server.host/port overridden by OTEL_EXPORTER_PROMETHEUS_HOST/PORT. */
  readonly server: { readonly host: string; readonly port: number };
  readonly otlp: { readonly traces: OtlpExportSettings; readonly metrics: OtlpExportSettings };
  /** Head sampling ratio for traces (parent-based), 0..1. */
  readonly sampleRatio: number;
}

/**
 * Environment variables read for Kubernetes resource attributes. Set them with the Downward
 * API (see deploy/): `valueFrom.fieldRef.fieldPath: metadata.name` for K8S_POD_NAME, etc.
 */
export const K8S_ENV: Readonly<Record<string, string>> = {
  K8S_POD_NAME: 'k8s.pod.name',
  K8S_POD_UID: 'k8s.pod.uid',
  K8S_NAMESPACE_NAME: 'k8s.namespace.name',
  K8S_NODE_NAME: 'k8s.node.name',
  K8S_CONTAINER_NAME: 'k8s.container.name',
};

/** One per process, so a SIGHUP reload keeps the identity backends key series on. */
const INSTANCE_ID = randomUUID();

export interface TelemetryMeta {
  /** service.version; defaults to vigil's own version. */
  readonly version?: string;
  /** Defaults to os.hostname(); tests pin it. */
  readonly hostName?: string;
}

/**
 * Resolves telemetry settings from the config and the standard OpenTelemetry environment
 * variables. Environment wins over the file (a pod's env is per-instance, the file is shared):
 * OTEL_SERVICE_NAME > OTEL_RESOURCE_ATTRIBUTES > telemetry.service_name > telemetry.resource_attributes
 * > detected attributes; signal-specific endpoints > the base endpoint (+ /v1/<signal>) > config.
 * Never throws: every problem is returned as an issue, with its config path, or with an
 * empty path and a message naming the variable for environment problems.
 */
export function resolveTelemetrySettings(
  cfg: VigilConfig['telemetry'],
  server: VigilConfig['server'],
  env: NodeJS.ProcessEnv,
  meta: TelemetryMeta = {},
): { settings: TelemetrySettings; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  // Both signals read the shared variables and keys; report each problem once.
  const report = (issue: ConfigIssue): void => {
    const key = `${issue.path.join('.')}\u0000${issue.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push(issue);
  };
  const envIssue = (message: string): void => report({ path: [], message });

  // --- resource ---
  const resource: Record<string, string> = {};
  resource['host.name'] = meta.hostName ?? hostname();
  resource['service.instance.id'] = INSTANCE_ID;
  resource['service.version'] = meta.version ?? VERSION;
  for (const [variable, attr] of Object.entries(K8S_ENV)) {
    const v = env[variable]?.trim();
    if (v) resource[attr] = v;
  }
  // In a pod the hostname is the pod name unless the spec overrides it: a fair default.
  if (!resource['k8s.pod.name'] && env.KUBERNETES_SERVICE_HOST) resource['k8s.pod.name'] = resource['host.name'];
  Object.assign(resource, cfg.resource_attributes);
  // service_name defaults to "vigil"; an explicit resource_attributes service.name beats that default.
  if (cfg.service_name !== 'vigil' || !cfg.resource_attributes['service.name']) resource['service.name'] = cfg.service_name;
  const envAttrs = parseKeyValueList('OTEL_RESOURCE_ATTRIBUTES', env.OTEL_RESOURCE_ATTRIBUTES);
  for (const p of envAttrs.problems) envIssue(p);
  Object.assign(resource, envAttrs.values);
  const envService = env.OTEL_SERVICE_NAME?.trim();
  if (envService) resource['service.name'] = envService;
  const serviceName = resource['service.name'] ?? 'vigil';
  resource['service.name'] = serviceName;

  // --- HTTP listen address ---
  let host = server.host;
  let port = server.port;
  const envHost = env.OTEL_EXPORTER_PROMETHEUS_HOST?.trim();
  if (envHost) host = envHost;
  const envPort = env.OTEL_EXPORTER_PROMETHEUS_PORT?.trim();
  if (envPort) {
    const n = Number(envPort);
    if (/^\d+$/.test(envPort) && n >= 0 && n <= 65535) port = n;
    else envIssue(`OTEL_EXPORTER_PROMETHEUS_PORT ${JSON.stringify(envPort)} is not a port number (0-65535)`);
  }

  // --- OTLP ---
  const baseHeaders = parseKeyValueList('OTEL_EXPORTER_OTLP_HEADERS', env.OTEL_EXPORTER_OTLP_HEADERS);
  for (const p of baseHeaders.problems) envIssue(p);
  const signal = (name: 'traces' | 'metrics'): OtlpExportSettings => {
    const SIG = name.toUpperCase();
    const c = cfg.otlp[name];
    const cfgPath = ['telemetry', 'otlp'];
    let url: string | undefined;
    let urlFrom: string | undefined;
    let fromEnv = false;

    const envSignalVar = `OTEL_EXPORTER_OTLP_${SIG}_ENDPOINT`;
    const envSignal = env[envSignalVar]?.trim();
    const envBase = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
    if (envSignal) {
      if (checkUrl(envSignal)) {
        url = envSignal;
        urlFrom = envSignalVar;
        fromEnv = true;
      } else envIssue(`${envSignalVar} ${JSON.stringify(envSignal)} is not an http(s) URL`);
    }
    if (!url && envBase) {
      if (checkUrl(envBase)) {
        url = appendSignalPath(envBase, name);
        urlFrom = 'OTEL_EXPORTER_OTLP_ENDPOINT';
        fromEnv = true;
      } else if (!envSignal) envIssue(`OTEL_EXPORTER_OTLP_ENDPOINT ${JSON.stringify(envBase)} is not an http(s) URL`);
    }
    if (!url && c.endpoint) {
      if (checkUrl(c.endpoint)) {
        url = c.endpoint;
        urlFrom = `telemetry.otlp.${name}.endpoint`;
      } else report({ path: [...cfgPath, name, 'endpoint'], message: `expected an http(s) URL, got ${JSON.stringify(c.endpoint)}` });
    }
    if (!url && cfg.otlp.endpoint) {
      if (checkUrl(cfg.otlp.endpoint)) {
        url = appendSignalPath(cfg.otlp.endpoint, name);
        urlFrom = 'telemetry.otlp.endpoint';
      } else if (!c.endpoint) report({ path: [...cfgPath, 'endpoint'], message: `expected an http(s) URL, got ${JSON.stringify(cfg.otlp.endpoint)}` });
    }

    // An endpoint in the environment turns the signal on (that is what setting it means in
    // every other OTel SDK); OTEL_<SIGNAL>_EXPORTER=none turns it off whatever else says.
    let enabled = c.enabled || fromEnv;
    const exporterVar = name === 'traces' ? 'OTEL_TRACES_EXPORTER' : 'OTEL_METRICS_EXPORTER';
    const exporterChoice = env[exporterVar]?.trim().toLowerCase();
    if (exporterChoice === 'none') enabled = false;
    if (enabled && !url) {
      report({
        path: [...cfgPath, name, 'enabled'],
        message: `OTLP ${name} export is enabled but no endpoint is set (telemetry.otlp.endpoint, telemetry.otlp.${name}.endpoint, OTEL_EXPORTER_OTLP_ENDPOINT or ${envSignalVar})`,
      });
      enabled = false;
    }

    const signalHeaderVar = `OTEL_EXPORTER_OTLP_${SIG}_HEADERS`;
    const signalHeaders = parseKeyValueList(signalHeaderVar, env[signalHeaderVar]);
    for (const p of signalHeaders.problems) envIssue(p);
    const headers = { ...cfg.otlp.headers, ...c.headers, ...baseHeaders.values, ...signalHeaders.values };

    let timeoutMs = c.timeout;
    const t = envMs(env, `OTEL_EXPORTER_OTLP_${SIG}_TIMEOUT`, envIssue) ?? envMs(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', envIssue);
    if (t !== undefined) timeoutMs = t;
    let intervalMs = c.interval;
    if (name === 'metrics') {
      const i = envMs(env, 'OTEL_METRIC_EXPORT_INTERVAL', envIssue);
      if (i !== undefined && i > 0) intervalMs = i;
      const mt = envMs(env, 'OTEL_METRIC_EXPORT_TIMEOUT', envIssue);
      if (mt !== undefined) timeoutMs = mt;
    }
    // The SDK refuses an export timeout longer than the interval.
    if (name === 'metrics' && timeoutMs > intervalMs) timeoutMs = intervalMs;
    return { enabled, url, headers, intervalMs, timeoutMs, urlFrom };
  };
  const traces = signal('traces');
  const metrics = signal('metrics');

  // --- sampling ---
  let sampleRatio = cfg.traces.sample_ratio;
  const sampler = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  if (sampler) {
    if (sampler === 'always_on' || sampler === 'parentbased_always_on') sampleRatio = 1;
    else if (sampler === 'always_off' || sampler === 'parentbased_always_off') sampleRatio = 0;
    else if (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio') {
      const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
      const r = arg === undefined || arg === '' ? 1 : Number(arg);
      if (Number.isFinite(r) && r >= 0 && r <= 1) sampleRatio = r;
      else envIssue(`OTEL_TRACES_SAMPLER_ARG ${JSON.stringify(arg)} is not a ratio between 0 and 1`);
    } else envIssue(`OTEL_TRACES_SAMPLER ${JSON.stringify(sampler)} is not supported (use always_on, always_off, traceidratio or their parentbased_ forms)`);
  }

  return {
    settings: {
      serviceName,
      resource,
      prometheus: { enabled: cfg.prometheus.enabled },
      server: { host, port },
      otlp: { traces, metrics },
      sampleRatio,
    },
    issues,
  };
}

function checkUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** OTLP/HTTP spec: the base endpoint gets `v1/<signal>` appended, with exactly one slash. */
export function appendSignalPath(base: string, signal: 'traces' | 'metrics'): string {
  return `${base.endsWith('/') ? base : `${base}/`}v1/${signal}`;
}

function envMs(env: NodeJS.ProcessEnv, variable: string, report: (m: string) => void): number | undefined {
  const raw = env[variable]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (/^\d+$/.test(raw) && Number.isSafeInteger(n)) return n;
  report(`${variable} ${JSON.stringify(raw)} is not a whole number of milliseconds`);
  return undefined;
}
