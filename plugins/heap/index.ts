import { definePlugin } from '../../agent/plugin/api.ts';

// Placeholder until the heap plugin lands.
export default definePlugin<Record<string, never>>({
  name: 'heap',
  description: 'heap plugin (not yet implemented)',
  metrics: [],
  parseOptions: () => ({ ok: true, value: {} }),
  create: () => ({ collect: () => [] }),
});
