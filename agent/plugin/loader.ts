import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PluginDefinition } from './api.ts';
import { BUILTIN_PLUGINS } from './builtin.ts';

/**
 * Resolves a `use:` value: a built-in name, a file path (relative to the config file), or
 * an npm package name (resolved from the config's directory, then from vigil's own).
 */
export async function loadPluginDefinition(use: string, configDir: string): Promise<PluginDefinition<unknown>> {
  const builtin = BUILTIN_PLUGINS[use];
  if (builtin) return (await builtin()) as PluginDefinition<unknown>;

  const isPath = use.startsWith('.') || isAbsolute(use);
  let specifier: string;
  if (isPath) {
    specifier = pathToFileURL(isAbsolute(use) ? use : resolve(configDir, use)).href;
  } else {
    try {
      specifier = pathToFileURL(createRequire(resolve(configDir, 'noop.js')).resolve(use)).href;
    } catch {
      specifier = use; // let Node resolve it from vigil's own node_modules
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    const known = Object.keys(BUILTIN_PLUGINS).join(', ');
    const what = isPath ? `plugin file ${use}` : `plugin "${use}" (not a built-in: ${known}; tried it as an npm package)`;
    throw new Error(`cannot load ${what}: ${(err as Error).message.split('\n')[0]}`);
  }
  const candidate = (mod.default ?? mod.plugin) as unknown;
  const problem = validateDefinition(candidate);
  if (problem) throw new Error(`${use} does not export a vigil plugin (default or \`plugin\` export): ${problem}`);
  return candidate as PluginDefinition<unknown>;
}

function validateDefinition(d: unknown): string | undefined {
  if (typeof d !== 'object' || d === null) return 'export is not an object';
  const o = d as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name === '') return 'missing `name`';
  if (!Array.isArray(o.metrics)) return 'missing `metrics` array';
  for (const m of o.metrics as unknown[]) {
    const mm = m as Record<string, unknown>;
    if (typeof mm?.name !== 'string' || !['gauge', 'counter', 'updowncounter'].includes(mm.kind as string) || typeof mm.unit !== 'string') {
      return `metric ${JSON.stringify(mm?.name)} needs name, kind (gauge|counter|updowncounter) and unit`;
    }
    if (!Array.isArray(mm.attributes)) return `metric ${mm.name as string} needs an attributes list`;
  }
  if (typeof o.create !== 'function') return 'missing `create` function';
  if (typeof o.parseOptions !== 'function') return 'missing `parseOptions` function';
  return undefined;
}
