import { definePlugin } from '../../agent/plugin/api.ts';

// Placeholder until the cache plugin lands.
export default definePlugin<Record<string, never>>({
  name: 'cache',
  description: 'cache plugin (not yet implemented)',
  metrics: [],
  parseOptions: () => ({ ok: true, value: {} }),
  create: () => ({ collect: () => [] }),
});
