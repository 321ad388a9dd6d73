import type { HttpRoutes } from '../http/routes.ts';
import { HttpError } from '../http/routes.ts';
import type { AgentServices, Subsystem } from '../services.ts';
import { registerAlertsApi, type AlertsApiSource } from './api.ts';
import type { AlertsConfig } from './config.ts';
import { AlertEngine, type EngineOptions } from './engine.ts';

export { AlertEngine } from './engine.ts';
export { ALERT_METRIC_SPECS, ALERT_METRICS } from './metrics.ts';

/**
 * Routes can be registered once per server, but a config reload builds a new engine: the API
 * is registered on first start and then serves whichever engine is current.
 */
const bindings = new WeakMap<HttpRoutes, { current: AlertsApiSource | undefined }>();

/**
 * The alert subsystem: evaluates rules after every collection cycle, tracks alert lifecycles,
 * groups, silences and routes notifications, and delivers them from a durable outbox under
 * `<data_dir>/alerts/`. Registers its HTTP API on the agent's port. `opts.apiToken` is the
 * fallback bearer token for silences (e.g. `server.api_token`) when `alerts.api_token` is unset.
 */
export function createAlerts(config: AlertsConfig, services: AgentServices, opts: EngineOptions = {}): Subsystem & { readonly engine: AlertEngine | undefined } {
  if (!config.enabled) return { engine: undefined, start: async () => {}, stop: async () => {} };
  const engine = new AlertEngine(config, services, opts);
  const source: AlertsApiSource = {
    now: engine.now,
    active: () => engine.active(),
    history: (limit) => engine.history(limit),
    deadLetters: () => engine.outbox.deadLetters(),
    silencedBy: (a) => engine.silences.silencedBy(a.labels, engine.now()),
    silences: engine.silences,
    notifiers: () => engine.notifierInfo(),
    onSilencesChanged: () => engine.silencesChanged(),
    apiToken: engine.apiToken,
  };
  return {
    engine,
    async start() {
      await engine.start();
      let b = bindings.get(services.http);
      if (!b) {
        b = { current: undefined };
        bindings.set(services.http, b);
        registerAlertsApi(services.http, delegate(b));
      }
      b.current = source;
    },
    async stop() {
      const b = bindings.get(services.http);
      if (b?.current === source) b.current = undefined;
      await engine.stop();
    },
  };
}

/** An API source forwarding to the current engine; 503 between a stop and the next start. */
function delegate(b: { current: AlertsApiSource | undefined }): AlertsApiSource {
  const cur = (): AlertsApiSource => {
    if (!b.current) throw new HttpError(503, 'alert engine not running (starting or reloading)');
    return b.current;
  };
  return {
    now: () => cur().now(),
    active: () => cur().active(),
    history: (limit) => cur().history(limit),
    deadLetters: () => cur().deadLetters(),
    silencedBy: (a) => cur().silencedBy(a),
    get silences() {
      return cur().silences;
    },
    notifiers: () => cur().notifiers(),
    onSilencesChanged: () => cur().onSilencesChanged(),
    get apiToken() {
      return cur().apiToken;
    },
  };
}
