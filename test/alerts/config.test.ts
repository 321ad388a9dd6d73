import { describe, expect, it } from 'vitest';
import { alertsConfigSchema, checkAlertsConfig, effectiveRules } from '../../agent/alerts/config.ts';
import { DEFAULT_RULES } from '../../agent/alerts/defaults.ts';

const ctx = { metricNames: new Set(['vigil.memory.utilization', 'vigil.anomaly.score', 'vigil.forecast.time_to_exhaustion']), pluginNames: new Set(['heap']) };

describe('alerts config', () => {
  it('a rule naming an unknown metric is an error naming the rule, at its path', () => {
    const cfg = alertsConfigSchema.parse({
      rules: [
        { name: 'ok', type: 'threshold', metric: 'vigil.memory.utilization', above: { warning: 0.8 } },
        { name: 'typo', type: 'threshold', metric: 'vigil.memory.utilisation', above: { warning: 0.8 } },
        { name: 'gone', type: 'absent', plugin: 'gpu' },
      ],
    });
    const issues = checkAlertsConfig(cfg, ctx);
    expect(issues).toEqual([
      { path: ['alerts', 'rules', 1, 'metric'], message: 'rule "typo": unknown metric "vigil.memory.utilisation" (did you mean "vigil.memory.utilization"?)' },
      { path: ['alerts', 'rules', 2, 'plugin'], message: 'rule "gone": unknown plugin "gpu" (enabled plugins: heap)' },
    ]);
  });

  it('built-in rules whose plugin is not enabled are not errors', () => {
    const cfg = alertsConfigSchema.parse({});
    expect(checkAlertsConfig(cfg, { metricNames: new Set(), pluginNames: new Set() })).toEqual([]);
    expect(effectiveRules(cfg).map((r) => r.rule.name)).toEqual(DEFAULT_RULES.map((r) => r.name));
  });

  it('defaults can be turned off, one by one or all, and replaced by name', () => {
    const one = alertsConfigSchema.parse({ default_rules: { disable: ['cpu-utilization'] }, rules: [{ name: 'memory-utilization', type: 'threshold', metric: 'vigil.memory.utilization', above: { critical: 0.95 } }] });
    const names = effectiveRules(one).map((r) => `${r.rule.name}:${r.builtin}`);
    expect(names).not.toContain('cpu-utilization:true');
    expect(names).toContain('memory-utilization:false');
    expect(names).not.toContain('memory-utilization:true');
    expect(effectiveRules(alertsConfigSchema.parse({ default_rules: { enabled: false } }))).toEqual([]);
    expect(checkAlertsConfig(alertsConfigSchema.parse({ default_rules: { disable: ['nope'] } }), ctx)[0]!.message).toMatch(/no built-in rule named "nope"/);
  });

  it('validates shapes: tiers order, above xor below, routes name notifiers, durations', () => {
    expect(alertsConfigSchema.safeParse({ rules: [{ name: 'x', type: 'threshold', metric: 'm', above: { warning: 1 }, below: { warning: 0 } }] }).success).toBe(false);
    expect(alertsConfigSchema.safeParse({ rules: [{ name: 'x', type: 'threshold', metric: 'm', above: { warning: 1 }, for: 'soon' }] }).success).toBe(false);
    const cfg = alertsConfigSchema.parse({
      rules: [{ name: 'x', type: 'threshold', metric: 'vigil.memory.utilization', above: { warning: 0.9, critical: 0.8 }, clear: 0.95 }],
      notifiers: [{ name: 'slack', type: 'slack', url: 'https://hooks.slack.com/services/x' }],
      routes: [{ notifiers: ['slack', 'pager'], rules: ['nope'] }],
    });
    const msgs = checkAlertsConfig(cfg, ctx).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(msgs).toEqual([
      'alerts.rules.0.above: rule "x": tiers must get higher from info to critical',
      'alerts.rules.0.clear: rule "x": clear 0.95 must be on the safe side of 0.9',
      'alerts.routes.0.notifiers.1: route 0: unknown notifier "pager"',
      'alerts.routes.0.rules.0: route 0: unknown rule "nope"',
    ]);
  });
});
