import type { AgentServices, Subsystem } from '../services.ts';

// Placeholder until the live page (issue 8) lands.
export function createUi(_services: AgentServices): Subsystem {
  return { start: async () => {}, stop: async () => {} };
}
