import type { PluginDefinition } from './api.ts';

/** Built-in plugins by name, loaded lazily so an unused plugin costs nothing at start-up. */
export const BUILTIN_PLUGINS: Readonly<Record<string, () => Promise<PluginDefinition<never>>>> = {
  system: async () => (await import('../../plugins/system/index.ts')).default as PluginDefinition<never>,
  heap: async () => (await import('../../plugins/heap/index.ts')).default as PluginDefinition<never>,
  gpu: async () => (await import('../../plugins/gpu/index.ts')).default as PluginDefinition<never>,
  cache: async () => (await import('../../plugins/cache/index.ts')).default as PluginDefinition<never>,
  queue: async () => (await import('../../plugins/queue/index.ts')).default as PluginDefinition<never>,
};
