import { definePlugin } from '../../agent/plugin/api.ts';

// Placeholder until the queue plugin lands.
export default definePlugin<Record<string, never>>({
  name: 'queue',
  description: 'queue plugin (not yet implemented)',
  metrics: [],
  parseOptions: () => ({ ok: true, value: {} }),
  create: () => ({ collect: () => [] }),
});
