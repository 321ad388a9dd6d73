import type { Series } from '../../store/series-store.ts';
import { TIERS, type ThresholdRuleConfig } from '../config.ts';
import { attributesToLabels } from '../labels.ts';
import { TIER_RANK, type Observation, type Tier } from '../types.ts';
import { freshSeries, type RuleContext, type RuleEvaluator } from './types.ts';

/**
 * A metric against tiered thresholds. Hysteresis: once a tier holds, it holds until the value
 * is `margin` past its threshold on the safe side, so a value hovering at a line does not flap.
 */
export function thresholdRule(rule: ThresholdRuleConfig): RuleEvaluator {
  const tiers = (rule.above ?? rule.below)!;
  const dir = rule.above ? 1 : -1;
  const defined = TIERS.filter((t) => tiers[t] !== undefined);
  const lowest = tiers[defined[0]!]!;
  const margin = rule.clear !== undefined ? Math.abs(lowest - rule.clear) : 0;
  const descending = [...defined].reverse();

  return {
    rule,
    evaluate(ctx: RuleContext): Observation[] {
      const out: Observation[] = [];
      for (const s of freshSeries(ctx, rule.metric, rule.match)) {
        const value = aggregate(s, rule.aggregate, rule.window, ctx.now);
        if (value === undefined) continue;
        const labels = attributesToLabels(s.attributes);
        const tier = tierFor(value, ctx.activeTier(labels, s.key));
        out.push({
          labels,
          key: s.key,
          tier,
          value,
          threshold: tiers[tier ?? defined[0]!] ?? lowest,
          details: { metric: rule.metric, aggregate: rule.aggregate, comparison: dir > 0 ? '≥' : '≤' },
        });
      }
      return out;
    },
  };

  function tierFor(v: number, current: Tier | null): Tier | null {
    const cur = current === null ? -1 : TIER_RANK[current];
    for (const t of descending) {
      const d = (v - tiers[t]!) * dir;
      const held = TIER_RANK[t] <= cur && margin > 0 ? d > -margin : d >= 0;
      if (held) return t;
    }
    return null;
  }
}

/** The rule's statistic over the series' recent points; undefined when there are too few. */
export function aggregate(s: Series, kind: ThresholdRuleConfig['aggregate'], windowMs: number, now: number): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  if (kind === 'last') return s.lastValue;
  const from = now - windowMs;
  let first = n - 1;
  while (first > 0 && s.timeAt(first - 1) >= from) first--;
  if (kind === 'increase') {
    // Counter increase within the window, resets tolerated; the point just before the window is the baseline.
    const base = first > 0 ? first - 1 : first;
    let inc = 0;
    for (let i = base + 1; i < n; i++) {
      const d = s.valueAt(i) - s.valueAt(i - 1);
      inc += d >= 0 ? d : s.valueAt(i);
    }
    return n - base >= 2 ? inc : undefined;
  }
  if (kind === 'rate') {
    // Least-squares slope per second: robust to one noisy point, unlike last-minus-first.
    const m = n - first;
    if (m < 2) return undefined;
    const t0 = s.timeAt(first);
    let st = 0, sv = 0, stt = 0, stv = 0;
    for (let i = first; i < n; i++) {
      const t = (s.timeAt(i) - t0) / 1000;
      const v = s.valueAt(i);
      st += t; sv += v; stt += t * t; stv += t * v;
    }
    const den = m * stt - st * st;
    return den === 0 ? undefined : (m * stv - st * sv) / den;
  }
  let acc = kind === 'min' ? Number.POSITIVE_INFINITY : kind === 'max' ? Number.NEGATIVE_INFINITY : 0;
  for (let i = first; i < n; i++) {
    const v = s.valueAt(i);
    if (kind === 'min') acc = Math.min(acc, v);
    else if (kind === 'max') acc = Math.max(acc, v);
    else acc += v;
  }
  return kind === 'avg' ? acc / (n - first) : acc;
}
