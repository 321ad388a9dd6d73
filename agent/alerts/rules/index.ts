import type { RuleConfig } from '../config.ts';
import { absentRule } from './absent.ts';
import { anomalyRule } from './anomaly.ts';
import { forecastRule } from './forecast.ts';
import { thresholdRule } from './threshold.ts';
import type { RuleEvaluator } from './types.ts';

export function compileRule(rule: RuleConfig): RuleEvaluator {
  switch (rule.type) {
    case 'threshold':
      return thresholdRule(rule);
    case 'anomaly':
      return anomalyRule(rule);
    case 'forecast':
      return forecastRule(rule);
    case 'absent':
      return absentRule(rule);
  }
}

export type { RuleContext, RuleEvaluator } from './types.ts';
