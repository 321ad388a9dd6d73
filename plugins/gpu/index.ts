import { definePlugin } from '../../agent/plugin/api.ts';

// Placeholder until the gpu plugin lands.
export default definePlugin<Record<string, never>>({
  name: 'gpu',
  description: 'gpu plugin (not yet implemented)',
  metrics: [],
  parseOptions: () => ({ ok: true, value: {} }),
  create: () => ({ collect: () => [] }),
});
