import type { RuleConfig } from './config.ts';
import { fingerprint } from './labels.ts';
import { TIER_RANK, type Alert, type AlertStatus, type Labels, type Observation, type Tier } from './types.ts';

/** One lifecycle change produced by an evaluation. */
export interface Change {
  readonly alert: Alert;
  readonly from: AlertStatus | 'inactive';
  readonly to: AlertStatus | 'inactive';
  /** Worth a notification: fired, tier changed while firing, or resolved. */
  readonly notify: boolean;
  readonly previousTier?: Tier;
}

/**
 * Inactive → pending → firing → resolved, one alert per (rule, identity labels). A tier change
 * while firing is the same alert escalating or de-escalating. Resolved alerts leave the active
 * set (the grouping keeps them until their resolved notification is out).
 */
export class AlertTracker {
  private readonly active = new Map<string, Alert>();
  private readonly byRule = new Map<string, Set<string>>();
  /** rule → source key → fingerprint: hashing labels on every evaluation of every series is wasted work. */
  private readonly fpCache = new Map<string, Map<string, string>>();

  /** `missingGraceMs`: how long an alert survives without any observation (series gone, restart). */
  constructor(private readonly missingGraceMs: number) {}

  list(): IterableIterator<Alert> {
    return this.active.values();
  }

  get(fp: string): Alert | undefined {
    return this.active.get(fp);
  }

  get size(): number {
    return this.active.size;
  }

  /** Identity of an alert: rule labels over series labels, plus alertname; never the tier. */
  identity(rule: RuleConfig, labels: Labels): Record<string, string> {
    return { ...labels, ...rule.labels, alertname: rule.name };
  }

  fingerprintOf(rule: RuleConfig, labels: Labels, key?: string): string {
    if (key === undefined) return fingerprint(this.identity(rule, labels));
    let cache = this.fpCache.get(rule.name);
    if (!cache) this.fpCache.set(rule.name, (cache = new Map()));
    let fp = cache.get(key);
    if (fp === undefined) {
      fp = fingerprint(this.identity(rule, labels));
      if (cache.size > 100_000) cache.clear(); // bounded: series churn must not grow it forever
      cache.set(key, fp);
    }
    return fp;
  }

  activeTier(rule: RuleConfig, labels: Labels, key?: string): Tier | null {
    if (this.active.size === 0) return null;
    return this.active.get(this.fingerprintOf(rule, labels, key))?.tier ?? null;
  }

  /** Restores alerts persisted before a restart. */
  restore(alerts: readonly Alert[], now: number): void {
    for (const a of alerts) {
      if (a.status === 'resolved') continue;
      a.lastSeenAt = now;
      this.active.set(a.fingerprint, a);
      this.ruleSet(a.rule).add(a.fingerprint);
    }
  }

  /** Forgets alerts of rules no longer configured (config reload). */
  retainRules(names: ReadonlySet<string>): void {
    for (const [rule, fps] of this.byRule) {
      if (names.has(rule)) continue;
      for (const fp of fps) this.active.delete(fp);
      this.byRule.delete(rule);
      this.fpCache.delete(rule);
    }
  }

  update(rule: RuleConfig, observations: readonly Observation[], now: number): Change[] {
    const changes: Change[] = [];
    const seen = new Set<string>();
    const fps = this.ruleSet(rule.name);
    for (const obs of observations) {
      const fp = this.fingerprintOf(rule, obs.labels, obs.key);
      const a = this.active.get(fp);
      if (a) seen.add(fp);
      if (obs.tier !== null) {
        if (!a) {
          seen.add(fp);
          const identity = this.identity(rule, obs.labels);
          const alert: Alert = {
            fingerprint: fp,
            rule: rule.name,
            ruleType: rule.type,
            labels: { ...identity, severity: obs.tier },
            annotations: {},
            status: 'pending',
            tier: obs.tier,
            value: obs.value,
            ...(obs.threshold !== undefined ? { threshold: obs.threshold } : {}),
            activeAt: now,
            lastTrueAt: now,
            lastSeenAt: now,
          };
          this.active.set(fp, alert);
          fps.add(fp);
          if (rule.for <= 0) {
            fire(alert, now);
            changes.push({ alert, from: 'inactive', to: 'firing', notify: true });
          } else {
            changes.push({ alert, from: 'inactive', to: 'pending', notify: false });
          }
          continue;
        }
        a.value = obs.value;
        a.threshold = obs.threshold;
        a.lastTrueAt = now;
        a.lastSeenAt = now;
        if (a.status === 'pending') {
          // While pending the tier follows the value; the alert fires at the tier it has then.
          a.tier = obs.tier;
          a.labels.severity = obs.tier;
          if (now - a.activeAt >= rule.for) {
            fire(a, now);
            changes.push({ alert: a, from: 'pending', to: 'firing', notify: true });
          }
        } else if (a.tier !== obs.tier) {
          const previousTier = a.tier;
          a.previousTier = previousTier;
          a.tier = obs.tier;
          a.labels.severity = obs.tier;
          changes.push({ alert: a, from: 'firing', to: 'firing', notify: true, previousTier });
        }
        continue;
      }
      if (!a) continue;
      a.value = obs.value;
      a.lastSeenAt = now;
      const c = this.clear(a, rule, now);
      if (c) changes.push(c);
    }
    for (const fp of [...fps]) {
      if (seen.has(fp)) continue;
      const a = this.active.get(fp);
      if (!a) {
        fps.delete(fp);
        continue;
      }
      if (now - a.lastSeenAt < this.missingGraceMs) continue;
      const c = this.clear(a, rule, now, true);
      if (c) changes.push(c);
    }
    return changes;
  }

  private clear(a: Alert, rule: RuleConfig, now: number, missing = false): Change | undefined {
    if (a.status === 'pending') {
      this.drop(a);
      return { alert: a, from: 'pending', to: 'inactive', notify: false };
    }
    if (!missing && now - a.lastTrueAt < rule.keep_firing_for) return undefined;
    a.status = 'resolved';
    a.endsAt = now;
    this.drop(a);
    return { alert: a, from: 'firing', to: 'resolved', notify: true };
  }

  private drop(a: Alert): void {
    this.active.delete(a.fingerprint);
    this.byRule.get(a.rule)?.delete(a.fingerprint);
  }

  private ruleSet(rule: string): Set<string> {
    let s = this.byRule.get(rule);
    if (!s) this.byRule.set(rule, (s = new Set()));
    return s;
  }
}

function fire(a: Alert, now: number): void {
  a.status = 'firing';
  a.startsAt = now;
}

export function higherTier(a: Tier, b: Tier): boolean {
  return TIER_RANK[a] > TIER_RANK[b];
}
