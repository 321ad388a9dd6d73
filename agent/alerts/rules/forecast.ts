import { TIERS, type ForecastRuleConfig } from '../config.ts';
import { attributesToLabels } from '../labels.ts';
import { TIER_RANK, type Observation, type Tier } from '../types.ts';
import type { RuleContext, RuleEvaluator } from './types.ts';

export const TTE_METRIC = 'vigil.forecast.time_to_exhaustion';
/** Once a tier holds, the ETA may grow this much past its bound before it de-escalates. */
const HYSTERESIS = 1.1;

/** Time to exhaustion (seconds) below tiered durations: 30 min → warning, 5 min → critical. */
export function forecastRule(rule: ForecastRuleConfig): RuleEvaluator {
  const match = rule.metric !== undefined ? { ...rule.match, metric: rule.metric } : rule.match;
  const tiers = TIERS.filter((t) => rule.within[t] !== undefined).reverse();
  return {
    rule,
    evaluate(ctx: RuleContext): Observation[] {
      const out: Observation[] = [];
      for (const s of ctx.store.find(TTE_METRIC, match)) {
        const seconds = s.lastValue;
        const labels = attributesToLabels(s.attributes);
        // The forecaster stops writing the series when the resource is no longer heading for
        // exhaustion: a stale forecast means "no longer", so the alert resolves at once.
        if (!ctx.store.isFresh(s, ctx.now) || !Number.isFinite(seconds) || seconds < 0) {
          if (ctx.activeTier(labels, s.key) !== null) out.push({ labels, key: s.key, tier: null, value: Number.NaN });
          continue;
        }
        const current = ctx.activeTier(labels, s.key);
        let tier: Tier | null = null;
        for (const t of tiers) {
          const bound = rule.within[t]! / 1000;
          const held = current !== null && TIER_RANK[t] <= TIER_RANK[current] ? seconds <= bound * HYSTERESIS : seconds <= bound;
          if (held) {
            tier = t;
            break;
          }
        }
        const bound = rule.within[tier ?? tiers[tiers.length - 1] ?? 'warning'];
        const watched = String(s.attributes['metric'] ?? TTE_METRIC);
        out.push({
          labels,
          key: s.key,
          tier,
          value: seconds,
          ...(bound !== undefined ? { threshold: bound / 1000 } : {}),
          details: {
            metric: watched,
            comparison: '≤',
            eta: formatEta(seconds),
            eta_at: new Date(ctx.now + seconds * 1000).toISOString(),
            ...(tier !== null ? usageVsLimit(ctx, watched, s.attributes) : {}),
          },
        });
      }
      return out;
    },
  };
}

/**
 * "412.0 MiB of 512.0 MiB (80%)": the watched series' current value against the limit it is
 * paired with (MetricSpec.limit), so the message says where the resource stands now.
 */
function usageVsLimit(ctx: RuleContext, watched: string, forecastAttrs: Readonly<Record<string, string | number | boolean>>): { usage?: string } {
  const spec = ctx.spec?.(watched);
  if (!spec?.limit) return {};
  const attrs: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(forecastAttrs)) if (k !== 'metric') attrs[k] = v;
  const usage = ctx.store.lookup(watched, attrs);
  const limit = ctx.store.lookup(spec.limit, { ...attrs, ...(spec.limitAttributes ?? {}) });
  if (!usage || !limit || !(limit.lastValue > 0)) return {};
  const fmt = (v: number) => formatQuantity(v, spec.unit);
  return { usage: `${fmt(usage.lastValue)} of ${fmt(limit.lastValue)} (${Math.round((usage.lastValue / limit.lastValue) * 100)}%)` };
}

function formatQuantity(v: number, unit: string): string {
  if (unit === 'By') {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let x = v;
    let i = 0;
    while (Math.abs(x) >= 1024 && i < units.length - 1) {
      x /= 1024;
      i++;
    }
    return `${x.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  }
  const u = unit.replace(/^\{|\}$/g, '');
  return `${Number.isInteger(v) ? v : v.toFixed(2)}${u && u !== '1' ? ` ${u}` : ''}`;
}

export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}
