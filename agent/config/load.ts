import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { PluginDefinition } from '../plugin/api.ts';
import { loadPluginDefinition } from '../plugin/loader.ts';
import { checkAlertsConfig } from '../alerts/config.ts';
import { DEFAULT_CONFIG_NAME, DEFAULT_CONFIG_YAML } from './default-config.ts';
import { ConfigError, type ConfigIssue } from './issues.ts';
import { interpolateDocument } from './interpolate.ts';
import { configSchema, HOST_PLUGIN_KEYS, type PluginEntry, type VigilConfig } from './schema.ts';
import { CORE_METRIC_NAMES } from './core-metrics.ts';

/** A plugin entry resolved to its definition and validated options. */
export interface ResolvedPlugin {
  /** Index in the config's `plugins:` list. */
  readonly index: number;
  /** Instance name: `name:` or the plugin's own name (suffixed when used twice). */
  readonly name: string;
  readonly entry: PluginEntry;
  readonly definition: PluginDefinition<unknown>;
  readonly options: unknown;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly jitterMs: number;
}

export interface LoadedConfig {
  /** The file read, or `<embedded default>`. */
  readonly source: string;
  readonly configDir: string;
  readonly config: VigilConfig;
  /** Enabled plugins, resolved. */
  readonly plugins: readonly ResolvedPlugin[];
  /** Entries with `enabled: false`, for display. */
  readonly disabled: readonly PluginEntry[];
  readonly secrets: readonly string[];
}

export interface LoadOptions {
  /** Config file; absent = the embedded default config. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Extra checks after schema validation (telemetry env, ...): issues located in the document.
   * Run by the caller so config loading stays independent of what is checked.
   */
  readonly extraChecks?: (config: VigilConfig, env: NodeJS.ProcessEnv) => ConfigIssue[];
}

/**
 * Reads, interpolates and validates a config. Every problem is collected (not only the first)
 * and thrown as one ConfigError whose lines read `file:line path: message`.
 */
export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const source = opts.file ? resolve(opts.file) : DEFAULT_CONFIG_NAME;
  const configDir = opts.file ? dirname(source) : process.cwd();
  let text: string;
  if (opts.file) {
    try {
      text = await readFile(source, 'utf8');
    } catch (err) {
      throw new ConfigError([`${source}: cannot read config: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
  } else {
    text = DEFAULT_CONFIG_YAML;
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (path: readonly (string | number)[]): string => `${source}:${lineOf(doc, lineCounter, path)}`;
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return `${source}:${pos.line}:${pos.col} invalid YAML: ${e.message.split('\n')[0]}`;
      }),
    );
  }

  const issues: string[] = [];
  const push = (list: readonly (ConfigIssue & { lineAt?: readonly (string | number)[] })[], prefix: readonly (string | number)[] = []) => {
    for (const i of list) {
      const path = [...prefix, ...i.path];
      const at = i.lineAt ? [...prefix, ...i.lineAt] : path;
      issues.push(path.length > 0 ? `${where(at)} ${formatPath(path)}: ${i.message}` : `${source}: ${i.message}`);
    }
  };

  const interp = interpolateDocument(doc, env, configDir);
  push(interp.issues);

  const raw: unknown = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    push(
      parsed.error.issues.map((i) => {
        const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
        // An unknown key is reported on its own line, not its parent's.
        const lineAt = i.code === 'unrecognized_keys' && i.keys.length > 0 ? [...path, i.keys[0]!] : path;
        return { path, lineAt, message: describeZodIssue(i) };
      }),
    );
  }
  if (!parsed.success || issues.length > 0) throw new ConfigError(issues);
  const config = parsed.data;

  // Resolve plugins and validate their own options.
  const plugins: ResolvedPlugin[] = [];
  const disabled: PluginEntry[] = [];
  const names = new Map<string, number>();
  for (const [index, entry] of config.plugins.entries()) {
    if (!entry.enabled) {
      disabled.push(entry);
      continue;
    }
    let definition: PluginDefinition<unknown>;
    try {
      definition = await loadPluginDefinition(entry.use, configDir);
    } catch (err) {
      push([{ path: ['use'], message: (err as Error).message }], ['plugins', index]);
      continue;
    }
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry)) if (!(HOST_PLUGIN_KEYS as readonly string[]).includes(k)) options[k] = v;
    const parsedOptions = definition.parseOptions(options);
    if (!parsedOptions.ok) {
      push(parsedOptions.issues, ['plugins', index]);
      continue;
    }
    const base = entry.name ?? definition.name;
    const seen = names.get(base) ?? 0;
    names.set(base, seen + 1);
    if (seen > 0 && entry.name) {
      push([{ path: ['name'], message: `plugin name "${base}" is used twice; names must be unique` }], ['plugins', index]);
      continue;
    }
    const intervalMs = entry.interval ?? config.agent.interval;
    const timeoutMs = entry.timeout ?? config.agent.timeout ?? Math.min(intervalMs, 10_000);
    if (intervalMs < 100) push([{ path: ['interval'], message: `interval ${intervalMs}ms is below the 100ms minimum` }], ['plugins', index]);
    plugins.push({
      index,
      name: seen > 0 ? `${base}-${seen + 1}` : base,
      entry,
      definition,
      options: parsedOptions.value,
      intervalMs,
      timeoutMs,
      jitterMs: entry.jitter ?? config.agent.jitter,
    });
  }

  const metricNames = new Set<string>(CORE_METRIC_NAMES);
  for (const p of plugins) for (const m of p.definition.metrics) metricNames.add(m.name);
  push(checkAlertsConfig(config.alerts, { metricNames, pluginNames: new Set(plugins.map((p) => p.name)) }));
  if (opts.extraChecks) push(opts.extraChecks(config, env));

  if (issues.length > 0) throw new ConfigError(issues);
  return { source, configDir, config, plugins, disabled, secrets: interp.secrets };
}

/** `plugins[2].interval` style path for messages. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** Line of the deepest node of `path` that exists in the document (missing keys point at their parent). */
function lineOf(doc: Document, lc: LineCounter, path: readonly (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lc.linePos(range[0]).line;
  }
  return 1;
}

interface ZodIssueLike {
  code: string;
  message: string;
  keys?: readonly string[];
  input?: unknown;
  expected?: unknown;
}

function describeZodIssue(i: ZodIssueLike): string {
  if (i.code === 'unrecognized_keys' && i.keys) return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
  if (i.code === 'invalid_type' && i.input === undefined) return `missing required value (expected ${String(i.expected)})`;
  if (i.code === 'invalid_type') return `expected ${String(i.expected)}, got ${describe(i.input)}`;
  return i.message;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
