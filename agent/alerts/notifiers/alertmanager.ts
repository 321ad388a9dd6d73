import type { AlertmanagerNotifierConfig } from '../config.ts';
import type { AlertSnapshot, NotificationMessage } from '../types.ts';
import { postJson, safeOrigin } from './http.ts';
import type { Notifier, SendResult } from './types.ts';
import { generatorUrl } from './webhook.ts';

/** One alert as `POST /api/v2/alerts` takes it (postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/**
 * Pushes alerts to Alertmanager's v2 API, every URL of an HA cluster (one outbox queue each).
 * Firing alerts carry endsAt = now + 4 × resend_interval (as Prometheus does) and are re-sent
 * every resend_interval, so Alertmanager resolves them itself if the agent dies.
 */
export function alertmanagerNotifier(cfg: AlertmanagerNotifierConfig, externalUrl: string): Notifier {
  return {
    name: cfg.name,
    type: 'alertmanager',
    targets: cfg.urls.length,
    minIntervalMs: 0,
    repeatIntervalMs: cfg.repeat_interval ?? cfg.resend_interval,
    send(target: number, message: NotificationMessage, signal: AbortSignal, now: number): Promise<SendResult> {
      const base = cfg.urls[target]!.replace(/\/+$/, '');
      const body = JSON.stringify(renderAlertmanager(message, externalUrl, now, cfg.resend_interval));
      const headers: Record<string, string> = cfg.bearer_token ? { authorization: `Bearer ${cfg.bearer_token}` } : {};
      return postJson({ url: `${base}/api/v2/alerts`, body, headers, timeoutMs: cfg.timeout, signal, now });
    },
    describe: () => ({ ...cfg, urls: cfg.urls.map(safeOrigin), bearer_token: cfg.bearer_token ? '<redacted>' : undefined }),
    targetLabel: (target: number) => safeOrigin(cfg.urls[target] ?? ''),
  };
}

/** Rendered at send time, so a late delivery still carries a future endsAt for firing alerts. */
export function renderAlertmanager(msg: NotificationMessage, externalUrl: string, now: number, resendMs: number): PostableAlert[] {
  const out: PostableAlert[] = [];
  for (const a of msg.alerts) {
    const labels = sanitize(a.labels);
    const gen = generatorUrl(externalUrl, a);
    const base = { annotations: sanitize(a.annotations), startsAt: new Date(a.startsAt).toISOString(), ...(gen ? { generatorURL: gen } : {}) };
    const ends = a.status === 'resolved' ? (a.endsAt ?? now) : now + 4 * resendMs;
    out.push({ labels, ...base, endsAt: new Date(Math.max(ends, a.startsAt + 1)).toISOString() });
    // Severity is a label, so a tier change is a different Alertmanager alert: end the old one.
    if (a.previousTier !== undefined && a.previousTier !== a.tier) {
      out.push({ labels: { ...labels, severity: a.previousTier }, ...base, endsAt: new Date(Math.max(now, a.startsAt + 1)).toISOString() });
    }
  }
  return out;
}

/** Alertmanager (0.25) accepts label names matching [a-zA-Z_][a-zA-Z0-9_]* only: `k8s.pod.name` → `k8s_pod_name`. */
export function sanitize(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (v === '') continue; // an empty label is the same as no label to Alertmanager
    let name = k.replace(/[^a-zA-Z0-9_]/g, '_');
    if (!/^[a-zA-Z_]/.test(name)) name = `_${name}`;
    out[name] = v;
  }
  return out;
}

export type { AlertSnapshot };
