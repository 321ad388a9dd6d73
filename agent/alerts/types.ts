import type { SpanContext } from '@opentelemetry/api';
import type { TIERS } from './config.ts';

export type Tier = (typeof TIERS)[number];
export const TIER_RANK: Readonly<Record<Tier, number>> = { info: 0, warning: 1, critical: 2 };

export type Labels = Readonly<Record<string, string>>;

/** What a rule says about one series (or plugin) in one evaluation. */
export interface Observation {
  /** Identity labels (series attributes, plugin...) without alertname/severity; the alert's key. */
  readonly labels: Labels;
  /** Stable key of the source (series key, plugin name): caches the fingerprint between evaluations. */
  readonly key?: string;
  /** The tier the condition holds for now; null = the condition is false. */
  readonly tier: Tier | null;
  /** The value compared (NaN when there is none, e.g. absent). */
  readonly value: number;
  /** The threshold of `tier` (or of the lowest tier when inactive). */
  readonly threshold?: number;
  /** Extra annotations: forecast ETA, anomaly explanation... */
  readonly details?: Readonly<Record<string, string>>;
}

export type AlertStatus = 'pending' | 'firing' | 'resolved';

/** One alert: a rule applied to one label set, from pending to resolved. */
export interface Alert {
  readonly fingerprint: string;
  readonly rule: string;
  readonly ruleType: string;
  /** Full labels including alertname and severity (= tier). */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: AlertStatus;
  tier: Tier;
  /** Tier last notified, to tell escalation from de-escalation. */
  previousTier?: Tier;
  value: number;
  threshold?: number;
  /** Pending since (Unix ms). */
  activeAt: number;
  /** Firing since (Unix ms); the Alertmanager startsAt. */
  startsAt?: number;
  /** Resolved at. */
  endsAt?: number;
  /** Last time the condition held (keep_firing_for, missing data). */
  lastTrueAt: number;
  /** Last time the rule saw the series at all. */
  lastSeenAt: number;
  /** Span of the evaluation that last changed it (links the delivery spans). */
  trace?: TraceRef;
}

export interface TraceRef {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

export function toTraceRef(sc: SpanContext): TraceRef | undefined {
  if (!sc.traceId || /^0+$/.test(sc.traceId)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId, traceFlags: sc.traceFlags };
}

/** One lifecycle change, kept in the history and shown by /api/alerts/history. */
export interface Transition {
  readonly at: number;
  readonly fingerprint: string;
  readonly rule: string;
  readonly labels: Labels;
  readonly from: AlertStatus | 'inactive';
  readonly to: AlertStatus | 'inactive';
  readonly tier: Tier;
  readonly previousTier?: Tier;
  readonly value: number;
  readonly traceId?: string;
}

/** A frozen view of an alert as it goes into a notification. */
export interface AlertSnapshot {
  readonly fingerprint: string;
  readonly rule: string;
  readonly ruleType: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly status: 'firing' | 'resolved';
  readonly tier: Tier;
  readonly previousTier?: Tier;
  readonly value: number;
  readonly threshold?: number;
  readonly startsAt: number;
  readonly endsAt?: number;
  readonly trace?: TraceRef;
}

/** A group's alerts for one notifier at one flush. */
export interface NotificationMessage {
  readonly receiver: string;
  readonly groupKey: string;
  readonly groupLabels: Labels;
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly AlertSnapshot[];
  readonly at: number;
  /** Re-sent as a reminder (repeat_interval), not a change. */
  readonly repeat: boolean;
}

export function snapshot(a: Alert): AlertSnapshot {
  return {
    fingerprint: a.fingerprint,
    rule: a.rule,
    ruleType: a.ruleType,
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    status: a.status === 'resolved' ? 'resolved' : 'firing',
    tier: a.tier,
    ...(a.previousTier !== undefined && a.previousTier !== a.tier ? { previousTier: a.previousTier } : {}),
    value: a.value,
    ...(a.threshold !== undefined ? { threshold: a.threshold } : {}),
    startsAt: a.startsAt ?? a.activeAt,
    ...(a.endsAt !== undefined ? { endsAt: a.endsAt } : {}),
    ...(a.trace ? { trace: a.trace } : {}),
  };
}
