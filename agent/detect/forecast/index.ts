import type { AgentServices, Subsystem } from '../../services.ts';
import type { ForecastConfig } from './config.ts';

// Placeholder until the forecast module (issue 6) lands.
export function createForecaster(_config: ForecastConfig, _services: AgentServices): Subsystem {
  return { start: async () => {}, stop: async () => {} };
}
