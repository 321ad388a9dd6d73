import type { NotifierConfig, RouteConfig } from './config.ts';
import type { AlertSnapshot } from './types.ts';

/**
 * Which notifiers get an alert: the union of every matching route's notifiers; with no routes,
 * every enabled notifier gets everything.
 */
export class Router {
  private readonly all: readonly string[];

  constructor(
    private readonly routes: readonly RouteConfig[],
    notifiers: readonly NotifierConfig[],
  ) {
    this.all = notifiers.filter((n) => n.enabled).map((n) => n.name);
  }

  receivers(a: Pick<AlertSnapshot, 'rule' | 'tier' | 'labels'>): readonly string[] {
    if (this.routes.length === 0) return this.all;
    const out = new Set<string>();
    for (const r of this.routes) {
      if (r.tiers && !r.tiers.includes(a.tier)) continue;
      if (r.rules && !r.rules.includes(a.rule)) continue;
      let ok = true;
      for (const k in r.match) if (a.labels[k] !== r.match[k]) ok = false;
      if (!ok) continue;
      for (const n of r.notifiers) if (this.all.includes(n)) out.add(n);
    }
    return [...out];
  }

  /** Whether a notifier gets this alert; for a de-escalated or resolved alert, the tier it was notified at also counts. */
  accepts(notifier: string, a: AlertSnapshot): boolean {
    if (this.receivers(a).includes(notifier)) return true;
    return a.previousTier !== undefined && this.receivers({ ...a, tier: a.previousTier }).includes(notifier);
  }
}
