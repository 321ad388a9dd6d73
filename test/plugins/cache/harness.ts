import type { PluginInstance, PluginLogger, Sample } from '../../../agent/plugin/api.ts';
import { silentLogger } from './servers.ts';

export interface Running {
  readonly instance: PluginInstance;
  collect(now: number): Promise<readonly Sample[]>;
  stop(): Promise<void>;
}

interface Def<O> {
  parseOptions(raw: Readonly<Record<string, unknown>>): { ok: true; value: O } | { ok: false; issues: readonly { path: readonly (string | number)[]; message: string }[] };
  create(options: O, ctx: { instance: string; logger: PluginLogger; intervalMs: number; configDir: string }): PluginInstance;
}

/** Parses options, creates and starts a plugin instance the way the host does. */
export async function startPlugin<O>(def: Def<O>, raw: Record<string, unknown>, opts: { instance?: string; logger?: PluginLogger } = {}): Promise<Running> {
  const parsed = def.parseOptions(raw);
  if (!parsed.ok) throw new Error(`bad options: ${JSON.stringify(parsed.issues)}`);
  const init = { instance: opts.instance ?? 'test', logger: opts.logger ?? silentLogger, intervalMs: 1000, configDir: process.cwd() };
  const instance = def.create(parsed.value, init);
  await instance.start?.(init);
  return {
    instance,
    collect: async (now: number) => await instance.collect({ signal: new AbortController().signal, now, logger: init.logger }),
    stop: async () => {
      await instance.stop?.();
    },
  };
}

/** The one sample of `metric` whose attributes include `match`; throws when 0 or >1 match. */
export function one(samples: readonly Sample[], metric: string, match: Record<string, string | number> = {}): Sample {
  const found = all(samples, metric, match);
  if (found.length !== 1) throw new Error(`expected one ${metric} ${JSON.stringify(match)}, found ${found.length}`);
  return found[0]!;
}

export function value(samples: readonly Sample[], metric: string, match: Record<string, string | number> = {}): number {
  return one(samples, metric, match).value;
}

export function all(samples: readonly Sample[], metric: string, match: Record<string, string | number> = {}): Sample[] {
  return samples.filter((s) => s.metric === metric && Object.entries(match).every(([k, v]) => s.attributes?.[k] === v));
}
