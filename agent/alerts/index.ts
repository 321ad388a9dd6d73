import type { AgentServices, Subsystem } from '../services.ts';
import type { AlertsConfig } from './config.ts';

// Placeholder until the alert engine (issue 7) lands.
export function createAlerts(_config: AlertsConfig, _services: AgentServices): Subsystem {
  return { start: async () => {}, stop: async () => {} };
}
