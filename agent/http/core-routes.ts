import type { SeriesStore } from '../store/series-store.ts';
import type { PluginStatus } from '../plugin/status.ts';
import type { Telemetry } from '../telemetry/index.ts';
import { sendJson, type HttpRoutes } from './routes.ts';
import { handleSeries } from './series-api.ts';

export interface CoreRouteDeps {
  /** Undefined when telemetry is off: /metrics answers 404. */
  readonly telemetry: Pick<Telemetry, 'handleMetrics'> | undefined;
  readonly store: SeriesStore;
  readonly statuses: () => readonly PluginStatus[];
  /** True once every enabled plugin has collected once or been marked unavailable. */
  readonly ready: () => boolean;
  /** Unix ms the agent started. */
  readonly startedAt: number;
  readonly version: string;
}

/** /metrics, /healthz, /readyz, /api/status and /api/series. */
export function registerCoreRoutes(http: HttpRoutes, deps: CoreRouteDeps): void {
  http.add('GET', '/metrics', (req, res) => {
    if (!deps.telemetry) {
      sendJson(res, 404, { error: 'telemetry is not running, so there are no metrics to scrape' });
      return;
    }
    deps.telemetry.handleMetrics(req, res);
  });

  // Liveness: answering at all is the signal; it must not depend on plugins or exporters.
  http.add('GET', '/healthz', (_req, res) => {
    sendJson(res, 200, { status: 'ok' });
  });

  http.add('GET', '/readyz', (_req, res) => {
    if (deps.ready()) {
      sendJson(res, 200, { status: 'ready' });
      return;
    }
    const waiting = deps
      .statuses()
      .filter((p) => p.state === 'pending')
      .map((p) => ({ name: p.name, use: p.use, state: p.state }));
    sendJson(res, 503, { status: 'not ready', waiting });
  });

  http.add('GET', '/api/status', (_req, res) => {
    const now = Date.now();
    const plugins = deps.statuses();
    const states: Record<string, number> = {};
    for (const p of plugins) states[p.state] = (states[p.state] ?? 0) + 1;
    sendJson(res, 200, {
      version: deps.version,
      ready: deps.ready(),
      startedAt: deps.startedAt,
      uptimeSeconds: Math.round((now - deps.startedAt) / 1000),
      series: { count: deps.store.size, max: deps.store.maxSeries, refused: deps.store.refused },
      pluginStates: states,
      plugins,
    });
  });

  http.add('GET', '/api/series', (_req, res, url) => handleSeries(deps.store, res, url), { prefix: true });
}
