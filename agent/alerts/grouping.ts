import { createHash } from 'node:crypto';
import type { AlertSnapshot, Labels, NotificationMessage } from './types.ts';

export interface GroupingOptions {
  readonly groupBy: readonly string[];
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  /** Re-notify interval for a notifier (its repeat_interval / resend_interval, else the global one). */
  readonly repeatIntervalMs: (notifier: string) => number;
  /** Whether the notifier gets this alert (routing). */
  readonly routes: (notifier: string, a: AlertSnapshot) => boolean;
  readonly receivers: (a: AlertSnapshot) => readonly string[];
  readonly silenced: (labels: Labels, now: number) => boolean;
  /** The alert as it is now (fresh value/annotations) while it is still the same firing episode. */
  readonly current?: (a: AlertSnapshot) => AlertSnapshot | undefined;
}

/** What a notifier was last told about a group: like Alertmanager's notification log. */
interface ReceiverState {
  sig: string;
  lastSentAt: number;
  notified: Set<string>;
}

interface Group {
  readonly key: string;
  readonly labels: Labels;
  readonly alerts: Map<string, AlertSnapshot>;
  nextFlushAt: number;
  readonly receivers: Map<string, ReceiverState>;
}

export interface GroupExport {
  key: string;
  labels: Labels;
  nextFlushAt: number;
  alerts: AlertSnapshot[];
  receivers: { name: string; sig: string; lastSentAt: number; notified: string[] }[];
}

/** A message plus the key that makes an identical re-send (after a restart) recognisable. */
export interface Flushed {
  readonly message: NotificationMessage;
  readonly dedupKey: string;
}

/**
 * Alertmanager-style grouping: alerts sharing the `group_by` labels go out together, the first
 * message after `group_wait`, later changes at most every `group_interval`, unchanged firing
 * groups again after `repeat_interval`. So a burst of 30 series is one message.
 */
export class Grouper {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly opts: GroupingOptions) {}

  get size(): number {
    return this.groups.size;
  }

  groupKeyOf(labels: Labels): { key: string; labels: Labels } {
    const all = this.opts.groupBy.includes('...');
    const names = all ? Object.keys(labels).sort() : this.opts.groupBy;
    const gl: Record<string, string> = {};
    for (const n of names) if (labels[n] !== undefined) gl[n] = labels[n];
    const inner = Object.keys(gl)
      .map((k) => `${k}=${JSON.stringify(gl[k])}`)
      .join(',');
    return { key: `{}:{${inner}}`, labels: gl };
  }

  /** Adds or replaces an alert after a lifecycle change (fired, tier changed, resolved). */
  add(a: AlertSnapshot, now: number): void {
    const { key, labels } = this.groupKeyOf(a.labels);
    let g = this.groups.get(key);
    if (!g) {
      if (a.status === 'resolved') return; // never notified: nothing to resolve
      g = { key, labels, alerts: new Map(), nextFlushAt: now + this.opts.groupWaitMs, receivers: new Map() };
      this.groups.set(key, g);
    }
    g.alerts.set(a.fingerprint, a);
  }

  /** Earliest time a group is due (undefined with no groups). */
  nextDue(): number | undefined {
    let t: number | undefined;
    for (const g of this.groups.values()) if (t === undefined || g.nextFlushAt < t) t = g.nextFlushAt;
    return t;
  }

  /** Flushes due groups into per-notifier messages. */
  flush(now: number, force = false): Flushed[] {
    const out: Flushed[] = [];
    for (const g of [...this.groups.values()]) {
      if (!force && g.nextFlushAt > now) continue;
      if (this.opts.current) {
        for (const a of g.alerts.values()) {
          const cur = a.status === 'firing' ? this.opts.current(a) : undefined;
          if (cur) g.alerts.set(a.fingerprint, cur);
        }
      }
      const names = new Set<string>(g.receivers.keys());
      for (const a of g.alerts.values()) for (const n of this.opts.receivers(a)) names.add(n);
      for (const n of names) {
        let st = g.receivers.get(n);
        const list: AlertSnapshot[] = [];
        for (const a of g.alerts.values()) {
          if (a.status === 'resolved' ? !st?.notified.has(a.fingerprint) : !this.opts.routes(n, a)) continue;
          if (this.opts.silenced(a.labels, now)) continue;
          list.push(a);
        }
        if (list.length === 0) continue;
        list.sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : 1));
        const sig = list.map((a) => `${a.fingerprint}:${a.status}:${a.tier}:${a.startsAt}`).join('|');
        const firing = list.some((a) => a.status === 'firing');
        const changed = sig !== st?.sig;
        const repeat = !changed && firing && st !== undefined && now - st.lastSentAt >= this.opts.repeatIntervalMs(n);
        if (!changed && !repeat) continue;
        if (!st) g.receivers.set(n, (st = { sig: '', lastSentAt: 0, notified: new Set() }));
        const dedupKey = hash(`${n}\u0000${g.key}\u0000${sig}${repeat ? `\u0000repeat@${st.lastSentAt}` : ''}`);
        st.sig = sig;
        st.lastSentAt = now;
        for (const a of list) {
          if (a.status === 'firing') st.notified.add(a.fingerprint);
          else st.notified.delete(a.fingerprint);
        }
        out.push({
          dedupKey,
          message: { receiver: n, groupKey: g.key, groupLabels: g.labels, status: firing ? 'firing' : 'resolved', alerts: list, at: now, repeat },
        });
      }
      for (const a of [...g.alerts.values()]) if (a.status === 'resolved') g.alerts.delete(a.fingerprint);
      for (const st of g.receivers.values()) for (const fp of st.notified) if (!g.alerts.has(fp)) st.notified.delete(fp);
      if (g.alerts.size === 0) this.groups.delete(g.key);
      else g.nextFlushAt = now + this.opts.groupIntervalMs;
    }
    return out;
  }

  /** Marks every group due now (a silence ended, so held-back alerts may need sending). */
  touchAll(now: number): void {
    for (const g of this.groups.values()) g.nextFlushAt = Math.min(g.nextFlushAt, now);
  }

  export(): GroupExport[] {
    return [...this.groups.values()].map((g) => ({
      key: g.key,
      labels: g.labels,
      nextFlushAt: g.nextFlushAt,
      alerts: [...g.alerts.values()],
      receivers: [...g.receivers].map(([name, st]) => ({ name, sig: st.sig, lastSentAt: st.lastSentAt, notified: [...st.notified] })),
    }));
  }

  import(groups: readonly GroupExport[]): void {
    for (const e of groups) {
      this.groups.set(e.key, {
        key: e.key,
        labels: e.labels,
        nextFlushAt: e.nextFlushAt,
        alerts: new Map(e.alerts.map((a) => [a.fingerprint, a])),
        receivers: new Map(e.receivers.map((r) => [r.name, { sig: r.sig, lastSentAt: r.lastSentAt, notified: new Set(r.notified) }])),
      });
    }
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
