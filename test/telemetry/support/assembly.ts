import { pino, type Logger } from 'pino';
import { serverConfig, telemetryConfig } from './config.ts';
import { SeriesStore } from '../../../agent/store/series-store.ts';
import { MetricRegistry } from '../../../agent/telemetry/metric-registry.ts';
import { resolveTelemetrySettings, startTelemetry, type Telemetry, type TelemetrySettings } from '../../../agent/telemetry/index.ts';
import { createHttpServer, type HttpServer } from '../../../agent/http/server.ts';
import { registerCoreRoutes } from '../../../agent/http/core-routes.ts';
import type { PluginStatus } from '../../../agent/plugin/status.ts';

export interface MiniAgent {
  readonly store: SeriesStore;
  readonly metrics: MetricRegistry;
  readonly telemetry: Telemetry;
  readonly settings: TelemetrySettings;
  readonly http: HttpServer;
  readonly baseUrl: string;
  readonly port: number;
  statuses: PluginStatus[];
  ready: boolean;
  stop(): Promise<void>;
}

/**
 * The telemetry and HTTP pieces wired the way agent/agent.ts wires them, minus the plugin
 * host: tests record into the store directly.
 */
export async function startMiniAgent(opts: { telemetry?: Parameters<typeof telemetryConfig>[0]; env?: NodeJS.ProcessEnv; logger?: Logger } = {}): Promise<MiniAgent> {
  const { settings, issues } = resolveTelemetrySettings(telemetryConfig(opts.telemetry), serverConfig({ host: '127.0.0.1', port: 0 }), opts.env ?? {}, { version: '0.0.0-test' });
  if (issues.length > 0) throw new Error(`telemetry settings: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const logger = opts.logger ?? pino({ level: 'silent' });
  const store = new SeriesStore({ retentionMs: 600_000, maxSeries: 10_000 });
  const metrics = new MetricRegistry();
  const telemetry = await startTelemetry(settings, { store, metrics, logger });
  const http = createHttpServer({ host: settings.server.host, port: settings.server.port, logger });
  registerCoreRoutes(http, {
    telemetry,
    store,
    statuses: () => agent.statuses,
    ready: () => agent.ready,
    startedAt: Date.now(),
    version: '0.0.0-test',
  });
  const addr = await http.listen();
  const agent: MiniAgent = {
    store,
    metrics,
    telemetry,
    settings,
    http,
    baseUrl: `http://127.0.0.1:${addr.port}`,
    port: addr.port,
    statuses: [],
    ready: true,
    async stop() {
      await http.close();
      await telemetry.shutdown(2000);
    },
  };
  return agent;
}
