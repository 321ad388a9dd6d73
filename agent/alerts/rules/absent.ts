import type { AbsentRuleConfig } from '../config.ts';
import { attributesToLabels } from '../labels.ts';
import type { Observation } from '../types.ts';
import type { RuleContext, RuleEvaluator } from './types.ts';

/**
 * A plugin unavailable/failing (or never collecting), or a metric's series stale or missing.
 * The rule's `for` (default 5 min) is the "for longer than X".
 */
export function absentRule(rule: AbsentRuleConfig): RuleEvaluator {
  return {
    rule,
    evaluate(ctx: RuleContext): Observation[] {
      return rule.plugin !== undefined ? plugins(ctx, rule.plugin) : series(ctx, rule.metric!);
    },
  };

  function plugins(ctx: RuleContext, name: string): Observation[] {
    const out: Observation[] = [];
    for (const st of ctx.statuses()) {
      if (name !== '*' && st.name !== name) continue;
      if (st.state === 'disabled') continue;
      // A plugin "ok" whose last success is old has stopped collecting (hung scheduler, stuck I/O).
      const silent = st.state === 'ok' && st.lastSuccessAt !== undefined && ctx.now - st.lastSuccessAt > Math.max(3 * st.intervalMs, st.timeoutMs + st.intervalMs);
      const bad = st.state === 'unavailable' || st.state === 'failing' || st.state === 'pending' || silent;
      const since = st.lastSuccessAt ?? st.stateSince;
      // For the catch-all rule, unavailable from the start (no GPU on this node, no Redis beside
      // this app) is how the machine is, not an incident: INFO. A plugin that worked and then
      // stopped, or one a rule names, gets the rule's tier.
      const absentByDesign = name === '*' && st.state === 'unavailable' && st.lastSuccessAt === undefined;
      out.push({
        labels: { plugin: st.name, use: st.use },
        tier: bad ? (absentByDesign ? 'info' : rule.severity) : null,
        value: bad ? (ctx.now - since) / 1000 : 0,
        details: {
          state: silent ? 'silent' : st.state,
          ...(st.lastError !== undefined ? { last_error: st.lastError.slice(0, 300) } : {}),
        },
      });
    }
    return out;
  }

  function series(ctx: RuleContext, metric: string): Observation[] {
    const found = ctx.store.find(metric, rule.match);
    if (found.length === 0) {
      return [{ labels: { ...attributesToLabels(rule.match), metric }, tier: rule.severity, value: Number.NaN, details: { state: 'missing', metric } }];
    }
    return found.map((s) => {
      const stale = !ctx.store.isFresh(s, ctx.now);
      return {
        labels: { ...attributesToLabels(s.attributes), metric },
        tier: stale ? rule.severity : null,
        value: s.lastUpdate > 0 ? (ctx.now - s.lastUpdate) / 1000 : Number.NaN,
        details: { state: stale ? 'stale' : 'fresh', metric },
      };
    });
  }
}
