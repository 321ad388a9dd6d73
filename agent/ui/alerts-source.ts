/**
 * Where the live page gets the active alerts from. The alert engine serves them at
 * `/api/alerts` on the agent's own port; the UI reads that endpoint (only while someone
 * has the page open), so it depends on the alert engine's HTTP contract and nothing else.
 */
export interface UiAlert {
  readonly rule: string;
  readonly severity: string;
  readonly state: string;
  readonly summary: string;
  readonly since?: number;
  readonly value?: number;
  readonly labels: Readonly<Record<string, string>>;
}

export type AlertsProvider = () => Promise<readonly UiAlert[]>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

function time(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  return undefined;
}

function record(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const s = str(x);
      if (s !== undefined) out[k] = s;
    }
  }
  return out;
}

/**
 * Normalises an `/api/alerts` body into UiAlerts. Accepts a bare array or `{ alerts: [...] }`,
 * and both vigil-style (`rule`, `severity`/`tier`, `state`) and Alertmanager-style
 * (`labels.alertname`, `labels.severity`, `annotations.summary`, `startsAt`) entries, so the
 * page keeps working if the alert engine's shape grows.
 */
export function normaliseAlerts(body: unknown): UiAlert[] {
  const list = Array.isArray(body)
    ? body
    : body && typeof body === 'object' && Array.isArray((body as { alerts?: unknown }).alerts)
      ? ((body as { alerts: unknown[] }).alerts)
      : [];
  const out: UiAlert[] = [];
  for (const raw of list) {
    if (!raw || typeof raw !== 'object') continue;
    const a = raw as Record<string, unknown>;
    const labels = { ...record(a.labels), ...record(a.attributes) };
    const annotations = record(a.annotations);
    const rule = str(a.rule) ?? str(a.ruleName) ?? str(a.name) ?? labels.alertname ?? 'alert';
    const severity = str(a.severity) ?? str(a.tier) ?? str(a.level) ?? labels.severity ?? 'unknown';
    const state = str(a.state) ?? str(a.status) ?? 'firing';
    const summary = str(a.summary) ?? str(a.message) ?? str(a.description) ?? annotations.summary ?? annotations.description ?? '';
    const since = time(a.since) ?? time(a.activeAt) ?? time(a.startsAt) ?? time(a.firingSince) ?? time(a.startedAt);
    const value = typeof a.value === 'number' && Number.isFinite(a.value) ? a.value : undefined;
    out.push({ rule, severity: severity.toLowerCase(), state: state.toLowerCase(), summary, since, value, labels });
  }
  return out;
}

/** Reads active alerts from the agent's own `/api/alerts`; an absent engine (404) means none. */
export function httpAlertsProvider(baseUrl: string, timeoutMs = 800): AlertsProvider {
  const url = new URL('/api/alerts', baseUrl).href;
  return async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (res.status === 404) {
      await res.body?.cancel();
      return [];
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`GET ${url}: HTTP ${res.status}`);
    }
    return normaliseAlerts(await res.json());
  };
}
