import type { Series, SeriesStore } from '../../store/series-store.ts';
import type { PluginStatus } from '../../plugin/status.ts';
import type { MetricSpec } from '../../plugin/api.ts';
import type { RuleConfig } from '../config.ts';
import type { Labels, Observation, Tier } from '../types.ts';

/** What a rule sees when it is evaluated. */
export interface RuleContext {
  readonly store: SeriesStore;
  readonly now: number;
  readonly statuses: () => readonly PluginStatus[];
  /** Tier of the rule's pending/firing alert for these identity labels (for hysteresis). */
  readonly activeTier: (labels: Labels, key?: string) => Tier | null;
  /** Latest anomaly explanation for a scored series (by store key) or group name. */
  readonly explanation: (key: string) => string | undefined;
  /** The declaration of a metric (unit, limit pairing), when known. */
  readonly spec?: (metric: string) => MetricSpec | undefined;
}

export interface RuleEvaluator {
  readonly rule: RuleConfig;
  evaluate(ctx: RuleContext): Observation[];
}

/** Matching series that are fresh (a stale series says nothing; absent rules watch for that). */
export function freshSeries(ctx: RuleContext, metric: string, match: Readonly<Record<string, string | number | boolean>>): Series[] {
  const out: Series[] = [];
  for (const s of ctx.store.find(metric, match)) if (ctx.store.isFresh(s, ctx.now)) out.push(s);
  return out;
}
