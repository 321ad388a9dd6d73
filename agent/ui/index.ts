import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import type { AgentServices, Subsystem } from '../services.ts';
import { HttpError } from '../http/routes.ts';
import { AssetCache } from './static-assets.ts';
import { LiveModel } from './live-model.ts';
import { LiveHub, DEFAULT_HUB_OPTIONS, type LiveHubOptions } from './live-hub.ts';
import { httpAlertsProvider, type AlertsProvider } from './alerts-source.ts';

export type { AlertsProvider, UiAlert } from './alerts-source.ts';

export interface UiOptions {
  /**
   * Active alerts for the page; default: the agent's own `/api/alerts` read over HTTP at
   * `services.externalUrl` while somebody watches.
   */
  readonly alerts?: AlertsProvider;
  readonly hub?: Partial<LiveHubOptions>;
}

export interface UiSubsystem extends Subsystem {
  /** Exposed for tests and diagnostics. */
  readonly hub: LiveHub;
}

/**
 * The live page: `/` (and `/ui`) serve a small page, `/ui/*` its assets, `/api/live` a
 * Server-Sent Events stream with a snapshot then one update per second of the key series,
 * pressure levels, forecasts, plugin states and active alerts.
 */
export function createUi(services: AgentServices, options: UiOptions = {}): UiSubsystem {
  const assets = new AssetCache();
  // By default the alerts come from the agent's own /api/alerts, reached at the local address
  // the viewer's connection arrived on: agent.external_url may be an ingress the pod itself
  // cannot (or should not) call.
  let selfBase = services.externalUrl;
  let selfProvider: { base: string; get: AlertsProvider } | undefined;
  const alerts: AlertsProvider =
    options.alerts ??
    (() => {
      if (!selfProvider || selfProvider.base !== selfBase) selfProvider = { base: selfBase, get: httpAlertsProvider(selfBase) };
      return selfProvider.get();
    });
  const hub = new LiveHub(new LiveModel(services, alerts), services.logger.child({ module: 'ui' }), {
    ...DEFAULT_HUB_OPTIONS,
    ...options.hub,
  });

  const serve = async (name: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!assets.has(name)) throw new HttpError(404, `no such page asset: ${name}`);
    const a = await assets.get(name);
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, { etag: a.etag });
      res.end();
      return;
    }
    res.writeHead(200, {
      'content-type': a.type,
      'content-length': a.body.length,
      etag: a.etag,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      // The page loads only its own files and talks only to its own origin.
      'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  };

  const page = (req: IncomingMessage, res: ServerResponse): Promise<void> => serve('index.html', req, res);
  services.http.add('GET', '/', page);
  services.http.add('GET', '/ui', (req, res, url) => {
    const rest = url.pathname.replace(/^\/ui\/?/, '');
    return rest === '' ? page(req, res) : serve(rest, req, res);
  }, { prefix: true });
  services.http.add('GET', '/api/live', (req, res) => {
    const local = localBaseUrl(req);
    if (local) selfBase = local;
    hub.connect(req, res);
  });

  return {
    hub,
    start: async () => hub.open(),
    stop: async () => hub.close(),
  };
}

/** `http://<local address>:<port>` of the connection a request came in on (TLS is not served). */
function localBaseUrl(req: IncomingMessage): string | undefined {
  let host = req.socket.localAddress;
  const port = req.socket.localPort;
  if (!host || !port) return undefined;
  if (host.startsWith('::ffff:')) host = host.slice(7);
  return `http://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}
