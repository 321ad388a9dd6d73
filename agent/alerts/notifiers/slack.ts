import type { SlackNotifierConfig } from '../config.ts';
import { formatLabels, renderTemplate } from '../labels.ts';
import type { AlertSnapshot, NotificationMessage, Tier } from '../types.ts';
import { postJson, safeOrigin } from './http.ts';
import type { Notifier, SendResult } from './types.ts';

export const SLACK_COLORS: Readonly<Record<Tier | 'resolved', string>> = {
  critical: '#D00000',
  warning: '#F2A900',
  info: '#439FE0',
  resolved: '#2EB67D',
};
const EMOJI: Readonly<Record<Tier | 'resolved', string>> = { critical: '🔴', warning: '🟠', info: '🔵', resolved: '✅' };
const TIER_ORDER: readonly Tier[] = ['critical', 'warning', 'info'];

/** Slack incoming webhook: one Block Kit message per group flush, coloured by the highest tier. */
export function slackNotifier(cfg: SlackNotifierConfig): Notifier {
  return {
    name: cfg.name,
    type: 'slack',
    targets: 1,
    minIntervalMs: cfg.min_interval,
    ...(cfg.repeat_interval !== undefined ? { repeatIntervalMs: cfg.repeat_interval } : {}),
    send(_target: number, message: NotificationMessage, signal: AbortSignal, now: number): Promise<SendResult> {
      return postJson({ url: cfg.url, body: JSON.stringify(renderSlack(cfg, message, now)), timeoutMs: cfg.timeout, signal, now });
    },
    describe: () => ({ ...cfg, url: `${safeOrigin(cfg.url)}/<redacted>` }),
    targetLabel: () => safeOrigin(cfg.url),
  };
}

export interface SlackPayload {
  text: string;
  channel?: string;
  username?: string;
  icon_emoji?: string;
  attachments: { color: string; fallback: string; blocks: unknown[] }[];
}

export function renderSlack(cfg: SlackNotifierConfig, msg: NotificationMessage, now: number): SlackPayload {
  const firing = msg.alerts.filter((a) => a.status === 'firing');
  const resolved = msg.alerts.filter((a) => a.status === 'resolved');
  const top = TIER_ORDER.find((t) => firing.some((a) => a.tier === t));
  const kind: Tier | 'resolved' = top ?? 'resolved';
  const name = msg.groupLabels['alertname'] ?? commonValue(msg.alerts, 'alertname') ?? 'vigil alerts';
  const change = tierChange(firing);
  const title =
    firing.length > 0
      ? `${EMOJI[kind]} [FIRING:${firing.length}] ${name} — ${kind.toUpperCase()}${change}${msg.repeat ? ' (still firing)' : ''}`
      : `${EMOJI.resolved} [RESOLVED] ${name}`;
  const mention = kind === 'critical' && cfg.critical_mention ? `${cfg.critical_mention} ` : '';
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: clip(title, 150), emoji: true } }];
  const first = msg.alerts[0];
  const summary = firing.length > 0 ? commonValue(firing, 'summary', 'annotations') : undefined;
  if (summary) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`${mention}${summary}`, 3000) } });
  const shown = [...firing, ...resolved].slice(0, cfg.max_alerts);
  for (const a of shown) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(alertText(a, now), 3000) } });
    const links = linksFor(cfg, a, now);
    if (links.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(links.join('  ·  '), 3000) }] });
  }
  const more = msg.alerts.length - shown.length;
  if (more > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${more} more (${firing.length} firing, ${resolved.length} resolved)` }] });
  const fallback = `${mention}${title}${first ? ` ${formatLabels(identity(first.labels))}` : ''}`;
  return {
    text: fallback,
    ...(cfg.channel ? { channel: cfg.channel } : {}),
    ...(cfg.username ? { username: cfg.username } : {}),
    ...(cfg.icon_emoji ? { icon_emoji: cfg.icon_emoji } : {}),
    attachments: [{ color: SLACK_COLORS[kind], fallback, blocks }],
  };
}

function alertText(a: AlertSnapshot, now: number): string {
  const ann = a.annotations;
  const lines: string[] = [];
  const head = a.status === 'resolved' ? `✅ *resolved*` : `${EMOJI[a.tier]} *${a.tier}*${a.previousTier ? ` (was ${a.previousTier})` : ''}`;
  lines.push(`${head} ${escape(describeLabels(a.labels))}`);
  if (ann['value'] !== undefined) {
    const thr = ann['threshold'] !== undefined ? ` vs threshold ${ann['comparison'] ?? ''} ${ann['threshold']}`.replace('  ', ' ') : '';
    lines.push(`${a.status === 'resolved' ? 'Last value' : 'Value'}: *${escape(ann['value'])}*${escape(thr)}`);
  }
  if (ann['usage'] !== undefined && a.status === 'firing') lines.push(`📈 Now *${escape(ann['usage'])}*`);
  if (ann['eta'] !== undefined && a.status === 'firing') lines.push(`⏳ Exhaustion in *${escape(ann['eta'])}*${ann['eta_at'] ? ` (at ${escape(ann['eta_at'])})` : ''}`);
  if (ann['explanation'] !== undefined) lines.push(`🔎 ${escape(ann['explanation'])}`);
  if (ann['description'] !== undefined) lines.push(escape(ann['description']));
  const since = a.status === 'resolved' && a.endsAt !== undefined ? `resolved after ${span(a.endsAt - a.startsAt)}` : `firing for ${span(now - a.startsAt)}`;
  lines.push(`_${since}_`);
  return lines.join('\n');
}

function linksFor(cfg: SlackNotifierConfig, a: AlertSnapshot, now: number): string[] {
  const vars = templateVars(a, now);
  const out: string[] = [];
  if (cfg.links.grafana) out.push(`<${renderTemplate(cfg.links.grafana, vars, a.labels, true)}|Grafana>`);
  if (cfg.links.jaeger && a.trace) out.push(`<${renderTemplate(cfg.links.jaeger, vars, a.labels, true)}|Trace ${a.trace.traceId.slice(0, 8)}>`);
  const runbook = a.annotations['runbook_url'] ?? (cfg.links.runbook ? renderTemplate(cfg.links.runbook, vars, a.labels, true) : undefined);
  if (runbook) out.push(`<${runbook}|Runbook>`);
  if (a.trace && !cfg.links.jaeger) out.push(`trace \`${a.trace.traceId}\``);
  return out;
}

/** Variables for URL templates (Grafana/Jaeger links). */
export function templateVars(a: AlertSnapshot, now: number): Record<string, string | undefined> {
  const to = a.endsAt ?? now;
  return {
    trace_id: a.trace?.traceId,
    span_id: a.trace?.spanId,
    fingerprint: a.fingerprint,
    alertname: a.rule,
    severity: a.tier,
    metric: a.annotations['metric'],
    starts_at_ms: String(a.startsAt),
    from_ms: String(a.startsAt - 3_600_000),
    to_ms: String(to + 300_000),
  };
}

function tierChange(firing: readonly AlertSnapshot[]): string {
  const changed = firing.filter((a) => a.previousTier !== undefined);
  if (changed.length === 0 || changed.length !== firing.length) return '';
  const a = changed[0]!;
  const up = TIER_ORDER.indexOf(a.tier) < TIER_ORDER.indexOf(a.previousTier!);
  return up ? ` (escalated from ${a.previousTier})` : ` (de-escalated from ${a.previousTier})`;
}

function identity(labels: Readonly<Record<string, string>>): Record<string, string> {
  const { alertname: _a, severity: _s, ...rest } = labels;
  return rest;
}

function describeLabels(labels: Readonly<Record<string, string>>): string {
  const rest = identity(labels);
  const keys = Object.keys(rest);
  return keys.length === 0 ? '' : keys.map((k) => `${k}=${rest[k]}`).join(', ');
}

function commonValue(alerts: readonly AlertSnapshot[], key: string, from: 'labels' | 'annotations' = 'labels'): string | undefined {
  const first = alerts[0]?.[from][key];
  if (first === undefined) return undefined;
  return alerts.every((a) => a[from][key] === first) ? first : undefined;
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}
