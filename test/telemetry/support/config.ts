import type { VigilConfig } from '../../../agent/config/schema.ts';

type TelemetryConfig = VigilConfig['telemetry'];
type ServerConfig = VigilConfig['server'];

/**
 * The `telemetry` and `server` sections with the schema's defaults, built by hand so these
 * tests do not load the whole config schema (and every subsystem's config module).
 */
export function telemetryConfig(over: {
  service_name?: string;
  resource_attributes?: Record<string, string>;
  prometheus?: boolean;
  endpoint?: string;
  headers?: Record<string, string>;
  traces?: Partial<TelemetryConfig['otlp']['traces']>;
  metrics?: Partial<TelemetryConfig['otlp']['metrics']>;
  sample_ratio?: number;
} = {}): TelemetryConfig {
  const signal = (o: Partial<TelemetryConfig['otlp']['traces']> | undefined) => ({ enabled: false, headers: {}, interval: 30_000, timeout: 10_000, ...o });
  return {
    service_name: over.service_name ?? 'vigil',
    resource_attributes: over.resource_attributes ?? {},
    prometheus: { enabled: over.prometheus ?? true },
    otlp: { endpoint: over.endpoint, headers: over.headers ?? {}, traces: signal(over.traces), metrics: signal(over.metrics) },
    traces: { sample_ratio: over.sample_ratio ?? 1 },
  };
}

export function serverConfig(over: Partial<ServerConfig> = {}): ServerConfig {
  return { enabled: true, host: '0.0.0.0', port: 9464, ...over };
}
