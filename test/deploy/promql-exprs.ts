import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Dashboard, Panel } from '../../deploy/grafana/build-dashboards.ts';

export interface Expr {
  /** Where it comes from: `vigil-pod.json#12 Memory…`, `rules: VigilPluginDown`. */
  readonly where: string;
  readonly expr: string;
  readonly kind: 'panel' | 'variable' | 'annotation' | 'record' | 'alert';
  /** Recording rule name. */
  readonly record?: string;
}

export const DASHBOARD_FILES = ['vigil-pod.json', 'vigil-gpu.json', 'vigil-agent.json'];
export const RULE_FILES = ['deploy/prometheus/rules/vigil-recording.rules.yaml', 'deploy/prometheus/rules/vigil-alerts.rules.yaml'];

export function loadDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(`deploy/grafana/dashboards/${file}`, 'utf8')) as Dashboard;
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

export function dashboardExprs(file: string): Expr[] {
  const d = loadDashboard(file);
  const out: Expr[] = [];
  for (const p of allPanels(d.panels)) {
    for (const t of p.targets ?? []) out.push({ where: `${file}#${p.id} ${p.title} [${t.refId}]`, expr: t.expr, kind: 'panel' });
  }
  for (const v of d.templating.list as { name: string; type: string; definition?: string }[]) {
    if (v.type !== 'query' || !v.definition) continue;
    // label_values(<series selector>, <label>) → the selector must select series.
    const m = /^label_values\((.*),\s*\w+\)$/.exec(v.definition);
    out.push({ where: `${file} variable $${v.name}`, expr: m ? m[1]! : v.definition, kind: 'variable' });
  }
  for (const a of (d.annotations as { list: { name: string; expr?: string }[] }).list) {
    if (a.expr) out.push({ where: `${file} annotation ${a.name}`, expr: a.expr, kind: 'annotation' });
  }
  return out;
}

interface RuleFile {
  groups: { name: string; rules: { record?: string; alert?: string; expr: string; labels?: Record<string, string> }[] }[];
}

export function ruleExprs(): Expr[] {
  const out: Expr[] = [];
  for (const f of RULE_FILES) {
    const doc = parseYaml(readFileSync(f, 'utf8')) as RuleFile;
    for (const g of doc.groups) {
      for (const r of g.rules) {
        if (r.record) out.push({ where: `${f}: record ${r.record}`, expr: r.expr, kind: 'record', record: r.record });
        else out.push({ where: `${f}: alert ${r.alert} (${r.labels?.severity ?? ''})`, expr: r.expr, kind: 'alert' });
      }
    }
  }
  return out;
}

/** Grafana variables as a test dashboard would expand them with "All" selected. */
export function expandVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '30s')
    .replaceAll('$__interval', '5s')
    .replaceAll('$__range', '5m')
    .replace(/\$\{?(namespace|pod|gpu)\}?/g, '.*');
}

const FUNCTIONS = new Set([
  'abs', 'absent', 'absent_over_time', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'count_over_time',
  'delta', 'deriv', 'exp', 'floor', 'histogram_quantile', 'holt_winters', 'idelta', 'increase', 'irate', 'label_join',
  'label_replace', 'last_over_time', 'ln', 'log2', 'log10', 'max_over_time', 'min_over_time', 'predict_linear', 'quantile_over_time',
  'rate', 'resets', 'round', 'scalar', 'sort', 'sort_desc', 'sqrt', 'stddev_over_time', 'sum_over_time', 'time', 'timestamp', 'vector',
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
]);

/** Metric names an expression selects (labels, strings, durations and functions removed). */
export function referencedMetrics(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])/g)) {
    const n = m[1]!;
    if (!FUNCTIONS.has(n) && !/^\d/.test(n)) names.add(n);
  }
  return [...names];
}
