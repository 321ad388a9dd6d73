import { z } from 'zod';
import type { ConfigIssue, SemanticContext } from '../config/issues.ts';
import { durationSchema } from '../util/duration.ts';
import { DEFAULT_RULES } from './defaults.ts';

/** Alert tiers, lowest first. */
export const TIERS = ['info', 'warning', 'critical'] as const;
export const tierSchema = z.enum(TIERS);

const NAME_RE = /^[a-zA-Z][\w.-]*$/;
const nameSchema = z.string().regex(NAME_RE, 'expected a name of letters, digits, "_", "-" or "."');
const matchSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({});

const tierValuesSchema = z
  .object({ info: z.number().optional(), warning: z.number().optional(), critical: z.number().optional() })
  .strict()
  .refine((t) => t.info !== undefined || t.warning !== undefined || t.critical !== undefined, 'expected at least one of info, warning, critical');

const tierDurationsSchema = z
  .object({ info: durationSchema.optional(), warning: durationSchema.optional(), critical: durationSchema.optional() })
  .strict();

/** Keys every rule accepts. */
const ruleCommon = {
  name: nameSchema,
  enabled: z.boolean().default(true),
  /** How long the condition must hold before the alert fires (pending until then). */
  for: durationSchema.default(0),
  /** Keep firing this long after the condition clears (damps flapping at the end). */
  keep_firing_for: durationSchema.default(0),
  labels: z.record(z.string(), z.string()).default({}),
  /** `summary`, `description`, `runbook_url`...; `{{value}}`, `{{threshold}}`, `{{labels.x}}` are substituted. */
  annotations: z.record(z.string(), z.string()).default({}),
};

export const thresholdRuleSchema = z
  .object({
    ...ruleCommon,
    type: z.literal('threshold'),
    metric: z.string().min(1),
    match: matchSchema,
    /** Fires when the value is at or above a tier's threshold. */
    above: tierValuesSchema.optional(),
    /** Fires when the value is at or below a tier's threshold (cache hit ratio). */
    below: tierValuesSchema.optional(),
    /** Value beyond which the lowest tier clears (hysteresis); the same margin applies to every tier. */
    clear: z.number().optional(),
    /** What is compared: the newest value, or a statistic over `window`. */
    aggregate: z.enum(['last', 'avg', 'min', 'max', 'rate', 'increase']).default('last'),
    window: durationSchema.default(60_000),
  })
  .strict()
  .refine((r) => (r.above === undefined) !== (r.below === undefined), { message: 'expected exactly one of "above" or "below"', path: ['above'] });

export const anomalyRuleSchema = z
  .object({
    ...ruleCommon,
    type: z.literal('anomaly'),
    /** The scored metric (the score series' `metric` attribute); absent = every scored series. */
    metric: z.string().min(1).optional(),
    match: matchSchema,
    /** Score (0..1) at or above which a sample counts as anomalous. */
    sensitivity: z.number().min(0).max(1).default(0.5),
    /** Consecutive anomalous samples needed. */
    samples: z.number().int().min(1).default(3),
    severity: tierSchema.default('warning'),
    /** Optional higher score that makes the alert critical. */
    critical_sensitivity: z.number().min(0).max(1).optional(),
  })
  .strict();

export const forecastRuleSchema = z
  .object({
    ...ruleCommon,
    type: z.literal('forecast'),
    /** The watched metric (the forecast series' `metric` attribute); absent = every forecast. */
    metric: z.string().min(1).optional(),
    match: matchSchema,
    /** Tier by time to exhaustion: fires when the forecast is below the duration. */
    within: tierDurationsSchema.default({ warning: 1_800_000, critical: 300_000 }),
  })
  .strict();

export const absentRuleSchema = z
  .object({
    ...ruleCommon,
    type: z.literal('absent'),
    /** A plugin instance name, or `*` for every plugin: unavailable/failing/not collecting. */
    plugin: z.string().min(1).optional(),
    /** A metric whose matching series are stale (or missing). */
    metric: z.string().min(1).optional(),
    match: matchSchema,
    for: durationSchema.default(300_000),
    severity: tierSchema.default('warning'),
  })
  .strict()
  .refine((r) => (r.plugin === undefined) !== (r.metric === undefined), { message: 'expected exactly one of "plugin" or "metric"', path: ['plugin'] });

export const ruleSchema = z.discriminatedUnion('type', [thresholdRuleSchema, anomalyRuleSchema, forecastRuleSchema, absentRuleSchema]);
export type RuleConfig = z.output<typeof ruleSchema>;
export type ThresholdRuleConfig = z.output<typeof thresholdRuleSchema>;
export type AnomalyRuleConfig = z.output<typeof anomalyRuleSchema>;
export type ForecastRuleConfig = z.output<typeof forecastRuleSchema>;
export type AbsentRuleConfig = z.output<typeof absentRuleSchema>;

const notifierCommon = {
  name: nameSchema,
  enabled: z.boolean().default(true),
  timeout: durationSchema.default(10_000),
  /** Re-send firing alerts this often (default: the group's repeat_interval). */
  repeat_interval: durationSchema.optional(),
};

export const slackNotifierSchema = z
  .object({
    ...notifierCommon,
    type: z.literal('slack'),
    /** Incoming webhook URL: a secret (`url_file:` or `${SLACK_WEBHOOK_URL}`). */
    url: z.string().url(),
    channel: z.string().optional(),
    username: z.string().optional(),
    icon_emoji: z.string().optional(),
    /** Minimum spacing between messages (Slack allows about one per second per webhook). */
    min_interval: durationSchema.default(1000),
    /** Alerts listed in one message before "and N more". */
    max_alerts: z.number().int().min(1).max(40).default(10),
    /** Text prepended to critical messages, e.g. `<!here>`. */
    critical_mention: z.string().optional(),
    /** URL templates; `{{trace_id}}`, `{{fingerprint}}`, `{{alertname}}`, `{{labels.x}}`, `{{starts_at_ms}}`. */
    links: z
      .object({ grafana: z.string().optional(), jaeger: z.string().optional(), runbook: z.string().optional() })
      .strict()
      .default({}),
  })
  .strict();

export const webhookNotifierSchema = z
  .object({
    ...notifierCommon,
    type: z.literal('webhook'),
    url: z.string().url(),
    /** HMAC-SHA256 key; when set, the body's signature goes in `signature_header` as `sha256=<hex>`. */
    hmac_key: z.string().min(1).optional(),
    signature_header: z.string().default('X-Vigil-Signature'),
    /** Extra headers (values are treated as secrets: never shown). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Alerts per payload (0 = all), like Alertmanager's max_alerts; the rest is counted in truncatedAlerts. */
    max_alerts: z.number().int().min(0).default(0),
  })
  .strict();

export const alertmanagerNotifierSchema = z
  .object({
    ...notifierCommon,
    type: z.literal('alertmanager'),
    /** Every Alertmanager of an HA cluster; each receives every alert. */
    urls: z.array(z.string().url()).min(1),
    bearer_token: z.string().optional(),
    /** Firing alerts are re-sent this often; Alertmanager expects it (endsAt = 4 × this ahead). */
    resend_interval: durationSchema.default(60_000),
  })
  .strict();

export const notifierSchema = z.discriminatedUnion('type', [slackNotifierSchema, webhookNotifierSchema, alertmanagerNotifierSchema]);
export type NotifierConfig = z.output<typeof notifierSchema>;
export type SlackNotifierConfig = z.output<typeof slackNotifierSchema>;
export type WebhookNotifierConfig = z.output<typeof webhookNotifierSchema>;
export type AlertmanagerNotifierConfig = z.output<typeof alertmanagerNotifierSchema>;

export const routeSchema = z
  .object({
    /** Notifier names this route delivers to. */
    notifiers: z.array(nameSchema).min(1),
    /** Tiers routed (default all). */
    tiers: z.array(tierSchema).min(1).optional(),
    /** Rule names routed (default all). */
    rules: z.array(z.string()).min(1).optional(),
    /** Label equality matchers (all must match). */
    match: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type RouteConfig = z.output<typeof routeSchema>;

export const alertsConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Built-in rules (see defaults.ts); `disable` lists names to turn off one by one. */
    default_rules: z
      .object({ enabled: z.boolean().default(true), disable: z.array(z.string()).default([]) })
      .strict()
      .prefault({}),
    rules: z.array(ruleSchema).default([]),
    notifiers: z.array(notifierSchema).default([]),
    /** Empty = every notifier gets every alert. An alert goes to the union of matching routes. */
    routes: z.array(routeSchema).default([]),
    group_by: z.array(z.string()).default(['alertname']),
    group_wait: durationSchema.default(0),
    group_interval: durationSchema.default(30_000),
    repeat_interval: durationSchema.default(4 * 3_600_000),
    /** Evaluate at least this often even without collections (absent rules, group timers). */
    evaluation_interval: durationSchema.default(10_000),
    /** Bearer token for POST/DELETE /api/silences (a secret: `api_token_file:` or `${VAR}`). */
    api_token: z.string().min(1).optional(),
    history_size: z.number().int().min(10).default(1000),
    outbox: z
      .object({
        /** Pending notifications kept at most; beyond it the oldest INFO is dropped first. */
        max_entries: z.number().int().min(10).default(10_000),
        /** A notification still undelivered after this goes to the dead-letter list. */
        max_age: durationSchema.default(24 * 3_600_000),
        backoff_initial: durationSchema.default(1000),
        backoff_max: durationSchema.default(300_000),
        /** An identical notification is not queued twice within this window (restarts). */
        dedup_window: durationSchema.default(600_000),
        max_dead_letters: z.number().int().min(1).default(1000),
        /** fsync the journal when a notification is accepted (turn off only on tmpfs). */
        fsync: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type AlertsConfig = z.output<typeof alertsConfigSchema>;

/** The rules in force: enabled built-ins (unless overridden by name) plus the configured ones. */
export function effectiveRules(config: AlertsConfig): { rule: RuleConfig; builtin: boolean }[] {
  const out: { rule: RuleConfig; builtin: boolean }[] = [];
  const own = new Set(config.rules.map((r) => r.name));
  if (config.default_rules.enabled) {
    for (const r of DEFAULT_RULES) if (!own.has(r.name) && !config.default_rules.disable.includes(r.name)) out.push({ rule: r, builtin: true });
  }
  for (const r of config.rules) if (r.enabled) out.push({ rule: r, builtin: false });
  return out;
}

/** Checks that need more than the schema (e.g. a rule naming an unknown metric). */
export function checkAlertsConfig(config: AlertsConfig, ctx: SemanticContext): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ruleNames = new Set<string>(DEFAULT_RULES.map((r) => r.name));
  const seenRules = new Set<string>();
  config.rules.forEach((rule, i) => {
    const at = (key: string): (string | number)[] => ['alerts', 'rules', i, key];
    if (seenRules.has(rule.name)) issues.push({ path: at('name'), message: `rule "${rule.name}" is defined twice` });
    seenRules.add(rule.name);
    ruleNames.add(rule.name);
    if (!rule.enabled) return;
    const metric = 'metric' in rule ? rule.metric : undefined;
    if (metric !== undefined && !ctx.metricNames.has(metric)) {
      issues.push({ path: at('metric'), message: `rule "${rule.name}": unknown metric "${metric}"${suggest(metric, ctx.metricNames)}` });
    }
    if (rule.type === 'anomaly' && !ctx.metricNames.has('vigil.anomaly.score')) {
      issues.push({ path: at('type'), message: `rule "${rule.name}": anomaly rules need the anomaly detector (detect.anomaly) enabled` });
    }
    if (rule.type === 'forecast' && !ctx.metricNames.has('vigil.forecast.time_to_exhaustion')) {
      issues.push({ path: at('type'), message: `rule "${rule.name}": forecast rules need the forecast module (detect.forecast) enabled` });
    }
    if (rule.type === 'absent' && rule.plugin !== undefined && rule.plugin !== '*' && !ctx.pluginNames.has(rule.plugin)) {
      issues.push({ path: at('plugin'), message: `rule "${rule.name}": unknown plugin "${rule.plugin}" (enabled plugins: ${[...ctx.pluginNames].join(', ') || 'none'})` });
    }
    if (rule.type === 'threshold') {
      const tiers = rule.above ?? rule.below;
      const dir = rule.above ? 1 : -1;
      if (tiers) {
        const values = TIERS.map((t) => tiers[t]).filter((v): v is number => v !== undefined);
        for (let k = 1; k < values.length; k++) {
          if ((values[k]! - values[k - 1]!) * dir < 0) {
            issues.push({ path: at(rule.above ? 'above' : 'below'), message: `rule "${rule.name}": tiers must get ${dir > 0 ? 'higher' : 'lower'} from info to critical` });
            break;
          }
        }
        const lowest = values[0];
        if (rule.clear !== undefined && lowest !== undefined && (lowest - rule.clear) * dir < 0) {
          issues.push({ path: at('clear'), message: `rule "${rule.name}": clear ${rule.clear} must be on the safe side of ${lowest}` });
        }
      }
    }
  });
  for (const r of config.default_rules.disable) {
    if (!DEFAULT_RULES.some((d) => d.name === r)) {
      issues.push({ path: ['alerts', 'default_rules', 'disable'], message: `no built-in rule named "${r}" (built-ins: ${DEFAULT_RULES.map((d) => d.name).join(', ')})` });
    }
  }
  const notifierNames = new Set<string>();
  config.notifiers.forEach((n, i) => {
    if (notifierNames.has(n.name)) issues.push({ path: ['alerts', 'notifiers', i, 'name'], message: `notifier "${n.name}" is defined twice` });
    notifierNames.add(n.name);
  });
  config.routes.forEach((route, i) => {
    route.notifiers.forEach((n, j) => {
      if (!notifierNames.has(n)) issues.push({ path: ['alerts', 'routes', i, 'notifiers', j], message: `route ${i}: unknown notifier "${n}"` });
    });
    route.rules?.forEach((r, j) => {
      if (!ruleNames.has(r)) issues.push({ path: ['alerts', 'routes', i, 'rules', j], message: `route ${i}: unknown rule "${r}"` });
    });
  });
  return issues;
}

function suggest(name: string, known: ReadonlySet<string>): string {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(3, name.length / 4) ? ` (did you mean "${best}"?)` : '';
}

function distance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
