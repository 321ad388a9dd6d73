/**
 * The plugin interface: the only thing the core knows about plugins. Built-in plugins
 * (plugins/<name>/) and third-party plugins (a file path or an npm package named in the
 * config) implement it the same way. A third-party plugin needs nothing from vigil at run
 * time: it exports an object of this shape (as `default` or `plugin`), and signals "not
 * there" by throwing an Error whose `name` is `PluginUnavailableError`.
 */

/** How a metric's values behave; decides the OpenTelemetry instrument it is exported as. */
export type MetricKind =
  /** A value sampled at a point in time (memory used, temperature). */
  | 'gauge'
  /** A monotonic cumulative total (OOM kills, keyspace hits); plugins report the running total. */
  | 'counter'
  /** A cumulative total that may go down (connected clients as a sum). Rarely needed. */
  | 'updowncounter';

export type AttributeValue = string | number | boolean;
export type Attributes = Readonly<Record<string, AttributeValue>>;

/** One metric a plugin emits, declared once; docs, validation and export derive from it. */
export interface MetricSpec {
  /** OpenTelemetry name, dotted (`process.memory.usage`, `vigil.gpu.memory.pressure`). */
  readonly name: string;
  readonly kind: MetricKind;
  /** UCUM unit: `By`, `s`, `1`, `Cel`, `W`, `Hz`, `{job}`... */
  readonly unit: string;
  readonly description: string;
  /** Attribute keys samples of this metric may carry. Others are rejected as malformed. */
  readonly attributes: readonly string[];
  /**
   * Name of the metric whose series (same attributes) holds this metric's limit, for the
   * forecast module: e.g. `container.memory.working_set` → `vigil.memory.limit`.
   */
  readonly limit?: string;
  /** Attribute values to match on the limit series in addition to this series' own attributes. */
  readonly limitAttributes?: Attributes;
  /** What "running out" means for forecasts: `up` (the default) grows toward the limit. */
  readonly exhaustion?: 'up' | 'down';
}

/** One observation returned by `collect`. */
export interface Sample {
  /** Must be one of the plugin's declared metric names. */
  readonly metric: string;
  readonly value: number;
  readonly attributes?: Attributes;
  /** Unix epoch milliseconds; defaults to the collection time. */
  readonly timestamp?: number;
}

export interface PluginLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** Given to `create` and `start`. */
export interface PluginInitContext {
  /** The instance name (the config entry's `name`, or the plugin name). */
  readonly instance: string;
  readonly logger: PluginLogger;
  /** Collection interval in ms, so a plugin can size its own loops (e.g. nvidia-smi -lms). */
  readonly intervalMs: number;
  /** Directory of the config file, to resolve relative paths in options. */
  readonly configDir: string;
}

/** Given to each `collect` call. */
export interface CollectContext {
  /** Aborted when the plugin's timeout expires or the agent stops; pass it to I/O. */
  readonly signal: AbortSignal;
  /** Start of this collection, Unix epoch ms. */
  readonly now: number;
  readonly logger: PluginLogger;
}

export interface PluginInstance {
  /** Open connections, spawn children. A throw here counts like a failed collection. */
  start?(ctx: PluginInitContext): Promise<void> | void;
  collect(ctx: CollectContext): Promise<readonly Sample[]> | readonly Sample[];
  /** Release everything; must not throw and should finish within a second or two. */
  stop?(): Promise<void> | void;
}

/** Result of validating a plugin's options: the parsed value, or issues with their paths. */
export type OptionsResult<O> =
  | { readonly ok: true; readonly value: O }
  | { readonly ok: false; readonly issues: readonly OptionIssue[] };

export interface OptionIssue {
  /** Path inside the plugin's options, e.g. `['sources', 0, 'pid']`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What a plugin module exports (as `default` or as `plugin`). */
export interface PluginDefinition<O = unknown> {
  readonly name: string;
  readonly description: string;
  /** Every metric the plugin can emit. */
  readonly metrics: readonly MetricSpec[];
  /** Validates the plugin's own options (the config entry minus use/name/interval/timeout/jitter/enabled). */
  parseOptions(raw: Readonly<Record<string, unknown>>): OptionsResult<O>;
  create(options: O, ctx: PluginInitContext): PluginInstance;
}

/**
 * Throw this from `start` or `collect` when the thing a plugin watches is not there at all
 * (no nvidia-smi, nothing listening): the plugin is shown `unavailable` rather than
 * `failing`, and retried with a longer backoff.
 */
export class PluginUnavailableError extends Error {
  override readonly name = 'PluginUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isUnavailableError(err: unknown): boolean {
  return err instanceof Error && err.name === 'PluginUnavailableError';
}

/** Helper for plugins that validate options with zod (most built-ins do). */
export function definePlugin<O>(def: PluginDefinition<O>): PluginDefinition<O> {
  return def;
}
