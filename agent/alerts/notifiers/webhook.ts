import { createHmac } from 'node:crypto';
import type { WebhookNotifierConfig } from '../config.ts';
import type { AlertSnapshot, Labels, NotificationMessage } from '../types.ts';
import { postJson, safeOrigin } from './http.ts';
import type { Notifier, SendResult } from './types.ts';

/** Alertmanager's "zero" time, used for endsAt of firing alerts in webhook payloads. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Alertmanager webhook payload, version 4 (what Alertmanager itself POSTs to webhook receivers). */
export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Labels;
  externalURL: string;
  alerts: {
    status: 'firing' | 'resolved';
    labels: Labels;
    annotations: Labels;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
}

/** Generic webhook in Alertmanager's v4 format, so existing receivers work unchanged; optional HMAC-SHA256. */
export function webhookNotifier(cfg: WebhookNotifierConfig, externalUrl: string): Notifier {
  return {
    name: cfg.name,
    type: 'webhook',
    targets: 1,
    minIntervalMs: 0,
    ...(cfg.repeat_interval !== undefined ? { repeatIntervalMs: cfg.repeat_interval } : {}),
    send(_target: number, message: NotificationMessage, signal: AbortSignal, now: number): Promise<SendResult> {
      const body = JSON.stringify(renderWebhook(message, externalUrl, cfg.max_alerts));
      const headers: Record<string, string> = { ...cfg.headers };
      if (cfg.hmac_key) headers[cfg.signature_header] = signBody(cfg.hmac_key, body);
      return postJson({ url: cfg.url, body, headers, timeoutMs: cfg.timeout, signal, now });
    },
    describe: () => ({
      ...cfg,
      url: `${safeOrigin(cfg.url)}/<redacted>`,
      hmac_key: cfg.hmac_key ? '<redacted>' : undefined,
      headers: Object.fromEntries(Object.keys(cfg.headers).map((k) => [k, '<redacted>'])),
    }),
    targetLabel: () => safeOrigin(cfg.url),
  };
}

/** `sha256=<hex HMAC-SHA256 of the raw body>` (the GitHub convention receivers already verify). */
export function signBody(key: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

export function renderWebhook(msg: NotificationMessage, externalUrl: string, maxAlerts = 0): WebhookPayload {
  const alerts = maxAlerts > 0 ? msg.alerts.slice(0, maxAlerts) : msg.alerts;
  return {
    version: '4',
    groupKey: msg.groupKey,
    truncatedAlerts: msg.alerts.length - alerts.length,
    status: msg.status,
    receiver: msg.receiver,
    groupLabels: msg.groupLabels,
    commonLabels: common(msg.alerts, 'labels'),
    commonAnnotations: common(msg.alerts, 'annotations'),
    externalURL: externalUrl,
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: a.status === 'resolved' && a.endsAt !== undefined ? new Date(a.endsAt).toISOString() : ZERO_TIME,
      generatorURL: generatorUrl(externalUrl, a),
      fingerprint: a.fingerprint,
    })),
  };
}

export function generatorUrl(externalUrl: string, a: AlertSnapshot): string {
  if (!externalUrl) return '';
  return `${externalUrl.replace(/\/+$/, '')}/api/alerts?fingerprint=${a.fingerprint}`;
}

function common(alerts: readonly AlertSnapshot[], key: 'labels' | 'annotations'): Labels {
  const first = alerts[0];
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first[key])) if (alerts.every((a) => a[key][k] === v)) out[k] = v;
  return out;
}
