import type { AgentServices, Subsystem } from '../services.ts';
import type { VigilConfig } from '../config/schema.ts';
import { createAnomalyDetector } from './anomaly/index.ts';
import { createForecaster } from './forecast/index.ts';

/** The detectors that run on the series store: anomaly scoring and time-to-exhaustion forecasts. */
export function createDetectors(config: VigilConfig['detect'], services: AgentServices): Subsystem[] {
  const out: Subsystem[] = [];
  if (config.anomaly.enabled) out.push(createAnomalyDetector(config.anomaly, services));
  if (config.forecast.enabled) out.push(createForecaster(config.forecast, services));
  return out;
}
