import { ROOT_CONTEXT, SpanStatusCode, type Context } from '@opentelemetry/api';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentServices, AnomalyEvent } from '../services.ts';
import { SeriesStore } from '../store/series-store.ts';
import { effectiveRules, type AlertsConfig, type NotifierConfig, type RuleConfig } from './config.ts';
import { Grouper, type GroupExport } from './grouping.ts';
import { renderTemplate } from './labels.ts';
import { AlertTracker, type Change } from './lifecycle.ts';
import { ALERT_METRICS, ALERT_METRIC_SPECS } from './metrics.ts';
import { alertmanagerNotifier } from './notifiers/alertmanager.ts';
import { slackNotifier } from './notifiers/slack.ts';
import type { Notifier } from './notifiers/types.ts';
import { webhookNotifier } from './notifiers/webhook.ts';
import { Delivery } from './outbox/delivery.ts';
import { Outbox, type OutboxEntry } from './outbox/outbox.ts';
import { Router } from './routing.ts';
import { compileRule, type RuleContext, type RuleEvaluator } from './rules/index.ts';
import { formatEta } from './rules/forecast.ts';
import { ANOMALY_SCORE_METRIC } from './rules/anomaly.ts';
import { Silences } from './silences.ts';
import { snapshot, toTraceRef, TIER_RANK, type Alert, type Tier, type Transition } from './types.ts';

export interface EngineOptions {
  /** Clock (Unix ms); tests pass a fake one. */
  readonly now?: () => number;
  /** Bearer token for silences when alerts.api_token is not set (e.g. server.api_token). */
  readonly apiToken?: string;
}

interface PersistedState {
  readonly v: 1;
  readonly alerts: Alert[];
  readonly groups: GroupExport[];
}

const EXPLANATIONS_MAX = 10_000;

/** The alert engine: rules → lifecycle → grouping/silences/routing → durable outbox → notifiers. */
export class AlertEngine {
  readonly now: () => number;
  readonly silences: Silences;
  readonly outbox: Outbox;
  readonly delivery: Delivery;
  readonly apiToken: string | undefined;
  private readonly log: Logger;
  private readonly tracker: AlertTracker;
  private readonly grouper: Grouper;
  private readonly router: Router;
  private readonly evaluators: RuleEvaluator[];
  private readonly notifiers = new Map<string, Notifier>();
  private readonly transitions: Transition[] = [];
  private readonly explanations = new Map<string, string>();
  /** Value each alert's annotations were last rendered for. */
  private readonly annotatedValue = new WeakMap<Alert, number>();
  private readonly ruleErrors = new Set<string>();
  private readonly unsubscribe: (() => void)[] = [];
  private pipeline: Promise<void> = Promise.resolve();
  private evalTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushAt = Number.POSITIVE_INFINITY;
  private lastEvalAt = 0;
  private lastMetricsAt = 0;
  private started = false;
  private stateDirty = false;

  constructor(
    readonly config: AlertsConfig,
    private readonly services: AgentServices,
    opts: EngineOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.apiToken = config.api_token ?? opts.apiToken;
    this.log = services.logger.child({ component: 'alerts' });
    const dir = join(services.dataDir, 'alerts');
    this.silences = new Silences(join(dir, 'silences.json'));
    this.outbox = new Outbox({
      file: join(dir, 'outbox.journal'),
      maxEntries: config.outbox.max_entries,
      dedupWindowMs: config.outbox.dedup_window,
      maxDeadLetters: config.outbox.max_dead_letters,
      fsync: config.outbox.fsync,
    });
    for (const n of config.notifiers) if (n.enabled) this.notifiers.set(n.name, buildNotifier(n, services.externalUrl));
    this.router = new Router(config.routes, config.notifiers);
    this.evaluators = effectiveRules(config).map(({ rule }) => compileRule(rule));
    const missingGrace = Math.max(2 * config.evaluation_interval, 30_000);
    this.tracker = new AlertTracker(missingGrace);
    this.grouper = new Grouper({
      groupBy: config.group_by,
      groupWaitMs: config.group_wait,
      groupIntervalMs: config.group_interval,
      repeatIntervalMs: (n) => this.notifiers.get(n)?.repeatIntervalMs ?? config.repeat_interval,
      routes: (n, a) => this.router.accepts(n, a),
      receivers: (a) => this.router.receivers(a),
      silenced: (labels, now) => this.silences.silencedBy(labels, now) !== undefined,
      current: (s) => {
        const a = this.tracker.get(s.fingerprint);
        return a && a.status === 'firing' && a.tier === s.tier && a.startsAt === s.startsAt ? snapshot(a) : undefined;
      },
    });
    const latency = services.meter.createHistogram(ALERT_METRICS.latency, {
      unit: 's',
      description: 'Time to deliver one notification (one HTTP request), by notifier and outcome.',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    });
    this.delivery = new Delivery({
      outbox: this.outbox,
      notifiers: this.notifiers,
      logger: this.log,
      tracer: services.tracer,
      latency,
      now: this.now,
      backoffInitialMs: config.outbox.backoff_initial,
      backoffMaxMs: config.outbox.backoff_max,
      maxAgeMs: config.outbox.max_age,
    });
  }

  get rules(): readonly RuleConfig[] {
    return this.evaluators.map((e) => e.rule);
  }

  async start(): Promise<void> {
    const now = this.now();
    this.services.metrics.register('alerts', ALERT_METRIC_SPECS);
    await this.silences.load(now);
    await this.outbox.open(now);
    if (this.outbox.skippedRecords > 0) this.log.warn({ skipped: this.outbox.skippedRecords }, 'outbox journal had torn records (crash mid-write); they were never acknowledged');
    const st = this.outbox.state() as PersistedState | undefined;
    if (st?.v === 1) {
      const known = new Set(this.evaluators.map((e) => e.rule.name));
      this.tracker.restore(st.alerts.filter((a) => known.has(a.rule)), now);
      this.grouper.import(st.groups);
    }
    this.unsubscribe.push(
      this.services.events.on('cycle', (e) => this.evaluate(e.context)),
      this.services.events.on('anomaly', (e) => this.rememberExplanation(e)),
    );
    this.evalTimer = setInterval(() => {
      if (this.now() - this.lastEvalAt >= this.config.evaluation_interval * 0.9) this.evaluate(ROOT_CONTEXT);
    }, this.config.evaluation_interval);
    this.evalTimer.unref();
    this.started = true;
    this.log.info(
      { rules: this.evaluators.length, notifiers: [...this.notifiers.keys()], pending: this.outbox.size, restoredAlerts: this.tracker.size },
      'alert engine started',
    );
    this.scheduleFlush();
    this.delivery.kick();
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.evalTimer) clearInterval(this.evalTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.pipeline;
    await this.delivery.stop();
    if (this.stateDirty) await this.outbox.saveState(this.state()).catch(() => {});
    await this.outbox.close();
  }

  /** Waits until queued work (journal writes) is done; tests and the benchmark use it. */
  idle(): Promise<void> {
    return this.pipeline;
  }

  /** Evaluates every rule now; `parent` is the collection cycle's trace context. */
  evaluate(parent: Context = ROOT_CONTEXT): void {
    if (!this.started) return;
    const now = this.now();
    this.lastEvalAt = now;
    if (this.silences.expire(now)) this.grouper.touchAll(now);
    const ctx: RuleContext = {
      store: this.services.store,
      now,
      statuses: () => this.services.plugins.statuses(),
      activeTier: () => null,
      explanation: (k) => this.explanations.get(k),
      spec: (m) => this.services.metrics.get(m),
    };
    let changed = false;
    for (const ev of this.evaluators) {
      const rule = ev.rule;
      let changes: Change[];
      try {
        const obs = ev.evaluate({ ...ctx, activeTier: (labels, key) => this.tracker.activeTier(rule, labels, key) });
        changes = this.tracker.update(rule, obs, now);
        // Keep the shown value and annotations current (re-rendered only when the value moved).
        if (this.tracker.size > 0) {
          for (const o of obs) {
            const a = this.tracker.get(this.tracker.fingerprintOf(rule, o.labels, o.key));
            if (a && this.annotatedValue.get(a) !== o.value) {
              this.annotatedValue.set(a, o.value);
              a.annotations = this.annotate(rule, a, o.details);
            }
          }
        }
        this.ruleErrors.delete(rule.name);
      } catch (err) {
        if (!this.ruleErrors.has(rule.name)) this.log.error({ rule: rule.name, err: (err as Error).message }, 'alert rule evaluation failed');
        this.ruleErrors.add(rule.name);
        continue;
      }
      for (const c of changes) {
        changed = true;
        this.record(c, rule, parent, now);
      }
    }
    if (changed) this.stateDirty = true;
    this.flushGroups(now);
    this.recordMetrics(now);
  }

  /** Active (pending and firing) alerts. */
  active(): Alert[] {
    return [...this.tracker.list()].sort((a, b) => TIER_RANK[b.tier] - TIER_RANK[a.tier] || a.activeAt - b.activeAt);
  }

  history(limit: number): Transition[] {
    return this.transitions.slice(-limit).reverse();
  }

  notifierInfo(): unknown {
    return [...this.notifiers.values()].map((n) => ({
      ...n.describe(),
      queued: this.outbox.pending(n.name),
      ...this.delivery.counter(n.name),
      dropped: this.outbox.droppedBy.get(n.name) ?? 0,
    }));
  }

  /** Re-checks held-back notifications now (a silence was removed or added). */
  silencesChanged(): void {
    const now = this.now();
    this.grouper.touchAll(now);
    this.flushGroups(now);
  }

  private record(c: Change, rule: RuleConfig, parent: Context, now: number): void {
    const a = c.alert;
    a.annotations = this.annotate(rule, a);
    // One span per alert change, a child of the collection cycle, so Jaeger shows
    // detection → alert → delivery (the delivery spans are children of this one).
    const span = this.services.tracer.startSpan(
      `alert ${c.to} ${rule.name}`,
      {
        startTime: now,
        attributes: {
          'vigil.alert.rule': rule.name,
          'vigil.alert.rule.type': rule.type,
          'vigil.alert.fingerprint': a.fingerprint,
          'vigil.alert.from': c.from,
          'vigil.alert.to': c.to,
          'vigil.alert.tier': a.tier,
          ...(c.previousTier ? { 'vigil.alert.previous_tier': c.previousTier } : {}),
          'vigil.alert.value': Number.isFinite(a.value) ? a.value : -1,
          ...(a.threshold !== undefined ? { 'vigil.alert.threshold': a.threshold } : {}),
        },
      },
      parent,
    );
    if (c.to === 'firing') span.setStatus({ code: SpanStatusCode.ERROR, message: `${a.tier}: ${a.annotations['summary'] ?? rule.name}` });
    span.end();
    const ref = toTraceRef(span.spanContext());
    if (c.notify && ref) a.trace = ref;
    const t: Transition = {
      at: now,
      fingerprint: a.fingerprint,
      rule: rule.name,
      labels: { ...a.labels },
      from: c.from,
      to: c.to,
      tier: a.tier,
      ...(c.previousTier ? { previousTier: c.previousTier } : {}),
      value: a.value,
      ...(ref ? { traceId: ref.traceId } : {}),
    };
    this.transitions.push(t);
    if (this.transitions.length > this.config.history_size) this.transitions.splice(0, this.transitions.length - this.config.history_size);
    if (c.notify) {
      this.grouper.add(snapshot(a), now);
      const lvl = c.to === 'resolved' ? 'info' : a.tier === 'critical' ? 'error' : a.tier === 'warning' ? 'warn' : 'info';
      this.log[lvl]({ rule: rule.name, fingerprint: a.fingerprint, labels: a.labels, from: c.from, to: c.to, value: a.value }, `alert ${c.to}`);
    }
  }

  private flushGroups(now: number): void {
    const flushed = this.grouper.flush(now);
    const dirty = this.stateDirty;
    if (flushed.length > 0 || dirty) {
      this.stateDirty = false;
      const state = this.state();
      const entries: Omit<OutboxEntry, 'id' | 'attempts' | 'nextAttemptAt'>[] = [];
      for (const f of flushed) {
        const n = this.notifiers.get(f.message.receiver);
        if (!n) continue;
        const firing = f.message.alerts.filter((a) => a.status === 'firing');
        const tier = (firing.length > 0 ? firing : f.message.alerts).reduce<Tier>((t, a) => (TIER_RANK[a.tier] > TIER_RANK[t] ? a.tier : t), 'info');
        const trace = f.message.alerts.find((a) => a.trace)?.trace;
        for (let i = 0; i < n.targets; i++) {
          entries.push({
            target: `${n.name}#${i}`,
            notifier: n.name,
            targetIndex: i,
            tier,
            createdAt: now,
            dedupKey: `${f.dedupKey}#${i}`,
            message: f.message,
            ...(trace ? { trace } : {}),
          });
        }
      }
      // Journal writes stay in order (pipeline); delivery starts once entries are durable.
      this.pipeline = this.pipeline
        .then(async () => {
          if (entries.length === 0) {
            await this.outbox.saveState(state);
            return;
          }
          const res = await this.outbox.accept(entries, now, state);
          if (res.dropped.length > 0) this.log.warn({ dropped: res.dropped.length, pending: this.outbox.size }, 'alert outbox full: dropped the oldest lowest-tier notifications');
          if (res.deduplicated > 0) this.log.debug({ deduplicated: res.deduplicated }, 'identical notifications already queued or sent');
          this.delivery.kick();
        })
        .catch((err: unknown) => {
          this.log.error({ err: (err as Error).message }, 'alert outbox write failed; notifications may be lost');
        });
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    const due = this.grouper.nextDue();
    if (due === undefined || !this.started) return;
    if (this.flushTimer && due >= this.flushAt) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushAt = due;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushAt = Number.POSITIVE_INFINITY;
      if (this.started) this.flushGroups(this.now());
    }, Math.max(0, due - this.now()));
    this.flushTimer.unref();
  }

  private state(): PersistedState {
    return { v: 1, alerts: [...this.tracker.list()].map((a) => ({ ...a, labels: { ...a.labels }, annotations: { ...a.annotations } })), groups: this.grouper.export() };
  }

  private annotate(rule: RuleConfig, a: Alert, details?: Readonly<Record<string, string>>): Record<string, string> {
    const d = details ?? a.annotations;
    const metric = d['metric'] ?? ('metric' in rule && rule.metric !== undefined ? rule.metric : '');
    const vars: Record<string, string> = {
      alertname: rule.name,
      severity: a.tier,
      metric,
      value: this.formatValue(rule, metric, a.value),
      threshold: a.threshold !== undefined ? this.formatValue(rule, metric, a.threshold) : '',
      comparison: d['comparison'] ?? '',
    };
    for (const k of ['eta', 'eta_at', 'usage', 'explanation', 'state', 'last_error', 'aggregate']) if (d[k] !== undefined) vars[k] = d[k]!;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(vars)) if (v !== '') out[k] = v;
    out['summary'] = renderTemplate(rule.annotations['summary'] ?? DEFAULT_SUMMARY[rule.type], vars, a.labels);
    out['description'] = renderTemplate(rule.annotations['description'] ?? DEFAULT_DESCRIPTION[rule.type], vars, a.labels);
    for (const [k, v] of Object.entries(rule.annotations)) if (k !== 'summary' && k !== 'description') out[k] = renderTemplate(v, vars, a.labels);
    return out;
  }

  private formatValue(rule: RuleConfig, metric: string, v: number): string {
    if (!Number.isFinite(v)) return 'none';
    if (rule.type === 'forecast' || rule.type === 'absent') return formatEta(v);
    if (rule.type === 'anomaly') return v.toFixed(2);
    if (rule.type === 'threshold' && rule.aggregate === 'rate') return `${round(v)}/s`;
    const unit = this.services.metrics.get(metric)?.unit;
    if (unit === '1' && Math.abs(v) <= 1.5) return `${(v * 100).toFixed(1)}%`;
    if (unit === 'By') return formatBytes(v);
    if (unit === 's') return formatEta(v);
    return round(v);
  }

  private rememberExplanation(e: AnomalyEvent): void {
    // Keyed like the score series the detector writes (same attributes), which the rule reads.
    const key = SeriesStore.keyOf(ANOMALY_SCORE_METRIC, e.attributes);
    this.explanations.delete(key);
    this.explanations.set(key, e.explanation);
    while (this.explanations.size > EXPLANATIONS_MAX) this.explanations.delete(this.explanations.keys().next().value!);
  }

  private recordMetrics(now: number): void {
    if (now - this.lastMetricsAt < 1000) return;
    const interval = this.lastMetricsAt > 0 ? Math.min(now - this.lastMetricsAt, this.config.evaluation_interval) : this.config.evaluation_interval;
    this.lastMetricsAt = now;
    const store = this.services.store;
    const counts: Record<Tier, number> = { info: 0, warning: 0, critical: 0 };
    let pending = 0;
    for (const a of this.tracker.list()) {
      if (a.status === 'firing') counts[a.tier]++;
      else pending++;
    }
    for (const t of ['info', 'warning', 'critical'] as const) store.record('alerts', ALERT_METRICS.active, { 'vigil.alert.tier': t }, counts[t], now, interval);
    store.record('alerts', ALERT_METRICS.pending, undefined, pending, now, interval);
    store.record('alerts', ALERT_METRICS.deduplicated, undefined, this.outbox.deduplicated, now, interval);
    store.record('alerts', ALERT_METRICS.silences, undefined, this.silences.list(now).filter((s) => s.startsAt <= now).length, now, interval);
    for (const n of this.notifiers.keys()) {
      const c = this.delivery.counter(n);
      const attrs = { 'vigil.alert.notifier': n };
      store.record('alerts', ALERT_METRICS.sent, attrs, c.sent, now, interval);
      store.record('alerts', ALERT_METRICS.failed, attrs, c.failed, now, interval);
      store.record('alerts', ALERT_METRICS.retried, attrs, c.retried, now, interval);
      store.record('alerts', ALERT_METRICS.deadLettered, attrs, c.deadLettered, now, interval);
      store.record('alerts', ALERT_METRICS.dropped, attrs, this.outbox.droppedBy.get(n) ?? 0, now, interval);
      store.record('alerts', ALERT_METRICS.queued, attrs, this.outbox.pending(n), now, interval);
    }
  }
}

const DEFAULT_SUMMARY: Readonly<Record<RuleConfig['type'], string>> = {
  threshold: '{{alertname}}: {{metric}} {{comparison}} threshold',
  anomaly: 'Anomalous behaviour of {{metric}}',
  forecast: '{{metric}} forecast to run out',
  absent: '{{alertname}}: data absent',
};

const DEFAULT_DESCRIPTION: Readonly<Record<RuleConfig['type'], string>> = {
  threshold: '{{metric}} is {{value}} ({{comparison}} {{threshold}})',
  anomaly: 'anomaly score {{value}} (≥ {{threshold}}) {{explanation}}',
  forecast: '{{metric}} runs out in {{eta}} (at {{eta_at}})',
  absent: '{{metric}}{{labels.plugin}} {{state}} for {{value}} {{last_error}}',
};

function buildNotifier(n: NotifierConfig, externalUrl: string): Notifier {
  switch (n.type) {
    case 'slack':
      return slackNotifier(n);
    case 'webhook':
      return webhookNotifier(n, externalUrl);
    case 'alertmanager':
      return alertmanagerNotifier(n, externalUrl);
  }
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function formatBytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

