import { definePlugin } from '../../agent/plugin/api.ts';

// Placeholder until the system plugin lands.
export default definePlugin<Record<string, never>>({
  name: 'system',
  description: 'system plugin (not yet implemented)',
  metrics: [],
  parseOptions: () => ({ ok: true, value: {} }),
  create: () => ({ collect: () => [] }),
});
