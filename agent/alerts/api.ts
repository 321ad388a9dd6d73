import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError, readJson, sendJson, type HttpRoutes } from '../http/routes.ts';
import type { Alert, Transition } from './types.ts';
import type { DeadLetter } from './outbox/outbox.ts';
import type { Silence, Silences } from './silences.ts';

/** What the HTTP API needs from the engine. */
export interface AlertsApiSource {
  readonly now: () => number;
  active(): readonly Alert[];
  history(limit: number): readonly Transition[];
  deadLetters(): readonly DeadLetter[];
  silencedBy(a: Alert): Silence | undefined;
  readonly silences: Silences;
  /** Notifier configs with secrets redacted, plus queue figures. */
  notifiers(): unknown;
  /** A silence was added or removed: re-check held-back notifications. */
  onSilencesChanged(): void;
  readonly apiToken: string | undefined;
}

/**
 * /api/alerts (active), /api/alerts/history, /api/alerts/deadletter, /api/alerts/notifiers,
 * /api/silences GET/POST and DELETE /api/silences/<id>; mutations need `Authorization: Bearer`.
 */
export function registerAlertsApi(http: HttpRoutes, src: AlertsApiSource): void {
  http.add('GET', '/api/alerts', (_req, res, url) => {
    const fp = url.searchParams.get('fingerprint');
    const list = src.active().filter((a) => fp === null || a.fingerprint === fp);
    sendJson(res, 200, {
      alerts: list.map((a) => {
        const s = src.silencedBy(a);
        return {
          fingerprint: a.fingerprint,
          rule: a.rule,
          type: a.ruleType,
          status: a.status,
          tier: a.tier,
          labels: a.labels,
          annotations: a.annotations,
          value: Number.isFinite(a.value) ? a.value : null,
          threshold: a.threshold ?? null,
          activeAt: iso(a.activeAt),
          startsAt: a.startsAt !== undefined ? iso(a.startsAt) : null,
          silencedBy: s?.id ?? null,
          traceId: a.trace?.traceId ?? null,
        };
      }),
    });
  });
  http.add('GET', '/api/alerts/history', (_req, res, url) => {
    const limit = clampInt(url.searchParams.get('limit'), 100, 1, 10_000);
    sendJson(res, 200, { transitions: src.history(limit).map((t) => ({ ...t, at: iso(t.at), value: Number.isFinite(t.value) ? t.value : null })) });
  });
  http.add('GET', '/api/alerts/deadletter', (_req, res) => {
    sendJson(res, 200, {
      deadLetters: src.deadLetters().map((d) => ({
        id: d.id,
        notifier: d.notifier,
        target: d.target,
        tier: d.tier,
        createdAt: iso(d.createdAt),
        deadAt: iso(d.deadAt),
        attempts: d.attempts,
        status: d.status ?? null,
        error: d.error,
        groupKey: d.message.groupKey,
        messageStatus: d.message.status,
        alerts: d.message.alerts.map((a) => ({ fingerprint: a.fingerprint, status: a.status, tier: a.tier, labels: a.labels })),
      })),
    });
  });
  http.add('GET', '/api/alerts/notifiers', (_req, res) => sendJson(res, 200, { notifiers: src.notifiers() }));
  http.add('GET', '/api/silences', (_req, res) => sendJson(res, 200, { silences: src.silences.list(src.now()).map(showSilence) }));
  http.add('POST', '/api/silences', async (req, res) => {
    authorize(req, src.apiToken);
    const body = await readJson(req);
    let s: Silence;
    try {
      s = await src.silences.create(body, src.now());
    } catch (err) {
      throw new HttpError(400, `invalid silence: ${(err as Error).message}`);
    }
    src.onSilencesChanged();
    sendJson(res, 201, showSilence(s));
  });
  http.add(
    'DELETE',
    '/api/silences',
    async (req, res, url) => {
      authorize(req, src.apiToken);
      const id = decodeURIComponent(url.pathname.replace(/^\/api\/silences\/?/, ''));
      if (!id) throw new HttpError(400, 'DELETE /api/silences/<id>');
      if (!(await src.silences.remove(id))) throw new HttpError(404, `no silence ${id}`);
      src.onSilencesChanged();
      sendJson(res, 200, { deleted: id });
    },
    { prefix: true },
  );
}

/** Bearer token check in constant time; with no token configured, mutations are refused. */
export function authorize(req: IncomingMessage, token: string | undefined): void {
  if (!token) throw new HttpError(403, 'silences are read-only: set alerts.api_token (or server.api_token) to allow changes');
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(h);
  if (!m) throw new HttpError(401, 'missing "Authorization: Bearer <token>"');
  const a = createHash('sha256').update(m[1]!.trim()).digest();
  const b = createHash('sha256').update(token).digest();
  if (!timingSafeEqual(a, b)) throw new HttpError(401, 'invalid bearer token');
}

function showSilence(s: Silence): Record<string, unknown> {
  return { ...s, startsAt: iso(s.startsAt), endsAt: iso(s.endsAt), createdAt: iso(s.createdAt) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function clampInt(v: string | null, def: number, min: number, max: number): number {
  const n = v === null ? def : Number.parseInt(v, 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : def;
}
