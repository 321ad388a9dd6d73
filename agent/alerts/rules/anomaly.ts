import type { AnomalyRuleConfig } from '../config.ts';
import { attributesToLabels } from '../labels.ts';
import type { Observation } from '../types.ts';
import { freshSeries, type RuleContext, type RuleEvaluator } from './types.ts';

export const ANOMALY_SCORE_METRIC = 'vigil.anomaly.score';
/** Once firing, the score may dip this far below the sensitivity before the alert clears. */
const HYSTERESIS = 0.05;

/** `vigil.anomaly.score` at or above the sensitivity for N consecutive samples. */
export function anomalyRule(rule: AnomalyRuleConfig): RuleEvaluator {
  const match = rule.metric !== undefined ? { ...rule.match, metric: rule.metric } : rule.match;
  return {
    rule,
    evaluate(ctx: RuleContext): Observation[] {
      const out: Observation[] = [];
      for (const s of freshSeries(ctx, ANOMALY_SCORE_METRIC, match)) {
        const labels = attributesToLabels(s.attributes);
        const active = ctx.activeTier(labels, s.key) !== null;
        const sens = active ? rule.sensitivity - HYSTERESIS : rule.sensitivity;
        let run = 0;
        for (let i = s.length - 1; i >= 0 && run < rule.samples; i--) {
          if (s.valueAt(i) >= sens) run++;
          else break;
        }
        const on = active ? s.lastValue >= sens : run >= rule.samples;
        const critical = rule.critical_sensitivity !== undefined && s.lastValue >= rule.critical_sensitivity;
        const scored = s.attributes['metric'];
        // The detector's anomaly events carry the score series' attributes: same key.
        const explanation = ctx.explanation(s.key);
        out.push({
          labels,
          key: s.key,
          tier: on ? (critical ? 'critical' : rule.severity) : null,
          value: s.lastValue,
          threshold: critical ? rule.critical_sensitivity! : rule.sensitivity,
          details: {
            metric: scored !== undefined ? String(scored) : ANOMALY_SCORE_METRIC,
            comparison: '≥',
            ...(explanation !== undefined ? { explanation } : {}),
          },
        });
      }
      return out;
    },
  };
}
