import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag, DiagLogLevel, type Meter, type Tracer } from '@opentelemetry/api';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Logger } from 'pino';
import type { SeriesStore } from '../store/series-store.ts';
import type { MetricRegistry } from './metric-registry.ts';
import { sendJson } from '../http/routes.ts';
import type { TelemetrySettings } from './settings.ts';
import { StoreMetricProducer } from './store-producer.ts';
import { installStoreSerializer } from './store-serializer.ts';

export type { TelemetrySettings, OtlpExportSettings } from './settings.ts';
export { resolveTelemetrySettings, K8S_ENV } from './settings.ts';

export interface Telemetry {
  /** The agent's meter (scope `vigil`): self-metrics created here reach /metrics and OTLP. */
  readonly meter: Meter;
  /** The agent's tracer; spans are exported over OTLP/HTTP when traces are enabled. */
  readonly tracer: Tracer;
  readonly settings: TelemetrySettings;
  /** Serves /metrics through the Prometheus exporter's request handler. */
  handleMetrics(req: IncomingMessage, res: ServerResponse): void;
  /** Pushes pending spans and a metrics export now (OTLP); resolves even when the push fails. */
  forceFlush(): Promise<void>;
  /** Flushes and stops the exporters, giving up after `deadlineMs`; never rejects. */
  shutdown(deadlineMs: number): Promise<void>;
}

export interface TelemetryDeps {
  readonly store: SeriesStore;
  readonly metrics: MetricRegistry;
  readonly logger: Logger;
}

/**
 * Assembles OpenTelemetry from the SDK packages directly (sdk-metrics, sdk-trace-base) rather
 * than through sdk-node: the issue measured ~17 MiB less RSS that way, and vigil needs none of
 * sdk-node's auto-instrumentation or resource detectors. Every metric in the registry is
 * exported from the series store (see StoreMetricProducer), to Prometheus (pull, served on
 * the agent's own HTTP port) and, when enabled, to OTLP/HTTP (push).
 */
export async function startTelemetry(settings: TelemetrySettings, deps: TelemetryDeps): Promise<Telemetry> {
  const log = deps.logger.child({ component: 'telemetry' });
  routeDiagnostics(log);

  const resource = defaultResource().merge(resourceFromAttributes(settings.resource));
  const producer = new StoreMetricProducer(deps.store, deps.metrics, resource, log);

  // The exporter never opens its own port: /metrics lives on the agent's server.
  const prometheus = new PrometheusExporter({
    preventServerStart: true,
    // One scope (`vigil`) exports everything, so otel_scope_name on every series is noise.
    withoutScopeInfo: true,
    metricProducers: [producer],
  });
  // exporter-prometheus 0.223.0 pins sdk-metrics 2.12.0 while the app resolves 2.12.1, so the
  // two MetricReader declarations differ in private members only; the reader contract is the same.
  const readers: MetricReader[] = [prometheus as unknown as MetricReader];
  if (!installStoreSerializer(prometheus, producer.scope)) {
    log.info('this exporter version has no replaceable serializer; /metrics uses the stock one (slower with many series)');
  }
  const m = settings.otlp.metrics;
  if (m.enabled && m.url) {
    // Loaded only when used: an agent that is only scraped does not carry the OTLP stack.
    const { OTLPMetricExporter, AggregationTemporalityPreference } = await import('@opentelemetry/exporter-metrics-otlp-http');
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({
          url: m.url,
          headers: { ...m.headers },
          timeoutMillis: m.timeoutMs,
          temporalityPreference: AggregationTemporalityPreference.CUMULATIVE,
        }),
        exportIntervalMillis: m.intervalMs,
        exportTimeoutMillis: m.timeoutMs,
        metricProducers: [producer],
      }),
    );
  }
  const meterProvider = new MeterProvider({ resource, readers });

  const t = settings.otlp.traces;
  const spanProcessors: SpanProcessor[] = [];
  if (t.enabled && t.url) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    spanProcessors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: t.url, headers: { ...t.headers }, timeoutMillis: t.timeoutMs }), {
        exportTimeoutMillis: t.timeoutMs,
      }),
    );
  }
  // Without an exporter, spans are not recorded at all (the tracer still hands out
  // contexts, so parent/child wiring in the host works the same either way).
  const sampler = spanProcessors.length === 0 ? new AlwaysOffSampler() : new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) });
  const tracerProvider = new BasicTracerProvider({ resource, sampler, spanProcessors });

  log.info(
    {
      serviceName: settings.serviceName,
      prometheus: settings.prometheus.enabled,
      otlpTraces: t.enabled ? { url: t.url, from: t.urlFrom } : false,
      otlpMetrics: m.enabled ? { url: m.url, from: m.urlFrom, intervalMs: m.intervalMs } : false,
    },
    'telemetry started',
  );

  let stopped = false;
  return {
    meter: meterProvider.getMeter('vigil'),
    tracer: tracerProvider.getTracer('vigil'),
    settings,
    handleMetrics(req, res) {
      if (!settings.prometheus.enabled) {
        sendJson(res, 404, { error: 'Prometheus export is disabled (telemetry.prometheus.enabled: false)' });
        return;
      }
      prometheus.getMetricsRequestHandler(req, res);
    },
    async forceFlush() {
      if (stopped) return;
      const results = await Promise.allSettled([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
      for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason }, 'telemetry flush failed');
    },
    async shutdown(deadlineMs) {
      if (stopped) return;
      stopped = true;
      producer.close();
      const work = Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown({ timeoutMillis: deadlineMs })]).then((results) => {
        for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason }, 'telemetry shutdown: an exporter failed to flush');
        return true;
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
        timer.unref();
      });
      const finished = await Promise.race([work, deadline]);
      clearTimeout(timer);
      if (!finished) log.warn({ deadlineMs }, 'telemetry shutdown: exporters did not finish within the deadline; pending data dropped');
    },
  };
}

let diagRouted = false;

/** Sends the SDK's own warnings (failed exports, invalid names) to the agent log, once per process. */
function routeDiagnostics(log: Logger): void {
  if (diagRouted) return;
  diagRouted = true;
  const l = log.child({ component: 'otel-sdk' });
  diag.setLogger(
    {
      error: (msg, ...args) => l.warn({ args: args.map(String) }, msg),
      warn: (msg, ...args) => l.warn({ args: args.map(String) }, msg),
      info: (msg) => l.debug(msg),
      debug: (msg) => l.debug(msg),
      verbose: (msg) => l.trace(msg),
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}
