import type { AgentServices, Subsystem } from '../../services.ts';
import type { AnomalyConfig } from './config.ts';

// Placeholder until the streaming anomaly detector (issue 6) lands.
export function createAnomalyDetector(_config: AnomalyConfig, _services: AgentServices): Subsystem {
  return { start: async () => {}, stop: async () => {} };
}
