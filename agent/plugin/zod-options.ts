import type { z } from 'zod';
import type { OptionsResult } from './api.ts';

/** Adapts a zod schema to `PluginDefinition.parseOptions`, keeping every issue's path. */
export function zodOptions<S extends z.ZodType>(schema: S) {
  return (raw: Readonly<Record<string, unknown>>): OptionsResult<z.output<S>> => {
    const r = schema.safeParse(raw);
    if (r.success) return { ok: true, value: r.data };
    return {
      ok: false,
      issues: r.error.issues.map((i) => ({
        path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
        message: i.message,
      })),
    };
  };
}
