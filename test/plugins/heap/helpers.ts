import plugin from '../../../plugins/heap/index.ts';
import type { Attributes, PluginInstance, PluginLogger, Sample } from '../../../agent/plugin/api.ts';
import { HeapCollector } from '../../../plugins/heap/collector.ts';
import type { HeapOptions } from '../../../plugins/heap/config.ts';

export interface LogLine {
  level: string;
  obj: object | string;
  msg?: string;
}

/** A logger that remembers what was logged, to check "once per change". */
export function memoryLogger(): PluginLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object | string, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function parse(raw: Record<string, unknown>): HeapOptions {
  const r = plugin.parseOptions(raw);
  if (!r.ok) throw new Error(`options rejected: ${JSON.stringify(r.issues)}`);
  return r.value;
}

export interface Harness {
  readonly instance: PluginInstance & { errors(): string[] };
  readonly logger: ReturnType<typeof memoryLogger>;
  collect(signal?: AbortSignal): Promise<readonly Sample[]>;
  stop(): Promise<void>;
}

/** Creates the plugin from raw options the way the host does (parseOptions, create). */
export function harness(raw: Record<string, unknown>, env?: NodeJS.ProcessEnv): Harness {
  const logger = memoryLogger();
  const opts = parse(raw);
  const instance = env
    ? new HeapCollector(opts, { logger }, env)
    : (plugin.create(opts, { instance: 'heap', logger, intervalMs: 1000, configDir: process.cwd() }) as HeapCollector);
  return {
    instance,
    logger,
    collect: async (signal = new AbortController().signal) => instance.collect({ signal, now: Date.now(), logger }),
    stop: async () => {
      await instance.stop?.();
    },
  };
}

const matches = (a: Attributes | undefined, want: Attributes) =>
  Object.entries(want).every(([k, v]) => a?.[k] === v);

export function pick(samples: readonly Sample[], metric: string, attrs: Attributes = {}): Sample[] {
  return samples.filter((s) => s.metric === metric && matches(s.attributes, attrs));
}

/** The value of the one sample of metric with these attributes; throws when absent or ambiguous. */
export function value(samples: readonly Sample[], metric: string, attrs: Attributes = {}): number {
  const found = pick(samples, metric, attrs);
  if (found.length !== 1) {
    throw new Error(`expected one ${metric} ${JSON.stringify(attrs)}, found ${found.length}`);
  }
  return found[0]!.value;
}

export const MiB = 1024 * 1024;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Metric names the plugin declares: every sample must use one and only declared attributes. */
export function checkDeclared(samples: readonly Sample[]): void {
  const specs = new Map(plugin.metrics.map((m) => [m.name, m]));
  for (const s of samples) {
    const spec = specs.get(s.metric);
    if (!spec) throw new Error(`undeclared metric ${s.metric}`);
    for (const k of Object.keys(s.attributes ?? {})) {
      if (!spec.attributes.includes(k)) throw new Error(`undeclared attribute ${k} on ${s.metric}`);
    }
    if (!Number.isFinite(s.value)) throw new Error(`non-finite ${s.metric}`);
  }
}
